/**
 * A local, bounded history of what remote changes removed or replaced in a shared folder, so that
 * nothing a peer sends can destroy a file beyond recovery (Syncthing calls this file versioning).
 *
 * It lives outside the shared tree, never travels, and holds one folder per shared folder (beside
 * the folder's sync record, in the same per-folder state folder):
 *   $HYPERPAIR_STATE_DIR, else $XDG_STATE_HOME/hyperpair, else ~/.local/state/hyperpair
 *     <first 32 hex of sha256(absolute path of the shared folder)>/
 *       folder.txt                the absolute path of the shared folder (for people looking)
 *       history/<stamp>-<rand>.json   one version's metadata: path, time, size, why
 *       history/<stamp>-<rand>.bin    its bytes
 * Versions older than 30 days are pruned, and the oldest first while the folder holds more than
 * its size limit (default 256 MiB); the version just saved is always kept.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { folderStateDir, nameFolder, stateRoot } from './state-dir';
import type { Logger } from '../session/log';
import { silentLogger } from '../session/log';
import { atomicWrite, readIfFile } from './fsutil';
import { contentHash } from './hash';
import { isSafeRelativePath, resolveInside } from './paths';

export const HISTORY_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;
export const HISTORY_MAX_BYTES = 256 * 1024 * 1024;
/**
 * A remote peer typing into a file makes the mirror rewrite it many times a second: each of those
 * contents is in the shared text already, so one version per file per this interval is kept. A
 * delete, and content the mirror had not seen (a local edit about to be replaced), are always kept.
 */
export const HISTORY_MIN_INTERVAL_MS = 60 * 1000;
/** A burst of saves (a joiner with --force over many files) may overshoot the size limit this long. */
const PRUNE_EVERY_MS = 10 * 1000;

export type VersionReason = 'replaced' | 'deleted' | 'restored-over';

export interface FileVersion {
  /** 1 is the newest version of this path. */
  n: number;
  path: string;
  at: Date;
  size: number;
  hash: string;
  reason: VersionReason;
  /** The stored bytes (absolute). */
  file: string;
}

interface Meta {
  path: string;
  at: number;
  size: number;
  hash: string;
  reason: VersionReason;
}

export interface HistoryOptions {
  stateDir?: string;
  maxAgeMs?: number;
  maxBytes?: number;
  minIntervalMs?: number;
  /** How often saving also prunes (default 10 s). */
  pruneEveryMs?: number;
  logger?: Logger;
  now?: () => number;
}

/** The history folder of one shared folder. */
export function historyDir(root: string, state = stateRoot()): string {
  return path.join(folderStateDir(root, state), 'history');
}

/** How long a restore's write counts as deliberate for the running peer. */
const RESTORE_MARK_MS = 5 * 60_000;

export class FileHistory {
  readonly root: string;
  readonly dir: string;
  private readonly maxAgeMs: number;
  private readonly maxBytes: number;
  private readonly minIntervalMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  /** When each path last got a version from this process (see HISTORY_MIN_INTERVAL_MS). */
  private readonly lastSaved = new Map<string, number>();
  /** Pruning reads every version's metadata: once per PRUNE_EVERY_MS, not per save. */
  private lastPrune = -Infinity;
  /** folder.txt, naming the shared folder, was written (once per process). */
  private prepared = false;
  private readonly pruneEveryMs: number;

  constructor(root: string, options: HistoryOptions = {}) {
    this.root = path.resolve(root);
    this.dir = historyDir(this.root, options.stateDir ?? stateRoot());
    this.maxAgeMs = options.maxAgeMs ?? HISTORY_MAX_AGE_MS;
    this.maxBytes = options.maxBytes ?? HISTORY_MAX_BYTES;
    this.minIntervalMs = options.minIntervalMs ?? HISTORY_MIN_INTERVAL_MS;
    this.pruneEveryMs = options.pruneEveryMs ?? PRUNE_EVERY_MS;
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
  }

  /**
   * Keeps what is on disk at `rel` before a remote change replaces or removes it. `seenHash` is the
   * content the mirror last read or wrote there: other content is a local edit and always kept.
   * `newHash` is what replaces it: a file that already holds it loses nothing.
   * Never throws: a history that cannot be written is logged, and must not block the sync.
   */
  async keep(rel: string, reason: 'replaced' | 'deleted', seenHash?: string, newHash?: string): Promise<void> {
    try {
      const bytes = await readIfFile(resolveInside(this.root, rel));
      if (!bytes) return;
      const hash = contentHash(bytes);
      if (hash === newHash) return;
      const last = this.lastSaved.get(rel);
      if (reason === 'replaced' && hash === seenHash && last !== undefined && this.now() - last < this.minIntervalMs) return;
      await this.save(rel, bytes, hash, reason);
    } catch (err) {
      this.logger.error(`could not keep the previous version of ${JSON.stringify(rel)} in ${this.dir}: ${(err as Error).message}`);
    }
  }

  /** Paths that have versions, sorted. */
  async files(): Promise<string[]> {
    return [...new Set((await this.all()).map((v) => v.path))].sort();
  }

  /** The versions of one path, newest first (numbered from 1). */
  async versions(rel: string): Promise<FileVersion[]> {
    return (await this.all()).filter((v) => v.path === rel).map((v, i) => ({ ...v, n: i + 1 }));
  }

  /**
   * Writes version `n` (default 1, the newest) of `rel` back into the folder. What the file holds
   * now is kept as a version first, so that a restore can itself be undone.
   */
  async restore(rel: string, n = 1): Promise<FileVersion> {
    const versions = await this.versions(rel);
    if (versions.length === 0) throw new Error(`no versions of ${JSON.stringify(rel)} are kept for ${this.root}`);
    const v = versions.find((x) => x.n === n);
    if (!v) throw new Error(`${JSON.stringify(rel)} has versions 1 to ${versions.length}, not ${n}`);
    const bytes = await fs.readFile(v.file);
    if (contentHash(bytes) !== v.hash) throw new Error(`version ${n} of ${JSON.stringify(rel)} is damaged (its content does not match its hash)`);
    const current = await readIfFile(resolveInside(this.root, rel));
    if (current && contentHash(current) !== v.hash) await this.save(rel, current, contentHash(current), 'restored-over');
    // The running peer (another process, perhaps) must take this write as the person's own edit,
    // even when it undoes exactly what a remote change just wrote (see wasRestored, mergeBase).
    await fs.mkdir(this.restoredDir(), { recursive: true, mode: 0o700 });
    await fs.writeFile(this.restoredMarker(rel), JSON.stringify({ path: rel, hash: v.hash, at: this.now() }), { mode: 0o600 });
    await atomicWrite(this.root, rel, bytes);
    return v;
  }

  /**
   * Whether `rel` now holds content that a restore wrote within the last few minutes (asked once:
   * the marker is consumed). Such a write is deliberate, never a stale tool's write-back.
   */
  async wasRestored(rel: string, hash: string): Promise<boolean> {
    const marker = this.restoredMarker(rel);
    const raw = await fs.readFile(marker, 'utf8').catch(() => undefined);
    if (raw === undefined) return false;
    await fs.rm(marker, { force: true });
    try {
      const m = JSON.parse(raw) as { path?: unknown; hash?: unknown; at?: unknown };
      return m.path === rel && m.hash === hash && typeof m.at === 'number' && this.now() - m.at < RESTORE_MARK_MS;
    } catch {
      return false;
    }
  }

  private restoredDir(): string {
    return path.join(path.dirname(this.dir), 'restored');
  }

  private restoredMarker(rel: string): string {
    return path.join(this.restoredDir(), `${createHash('sha256').update(rel).digest('hex').slice(0, 32)}.json`);
  }

  private async save(rel: string, bytes: Buffer, hash: string, reason: VersionReason): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 }); // (someone may have deleted it)
    if (!this.prepared) {
      await nameFolder(path.dirname(this.dir), this.root);
      this.prepared = true;
    }
    const at = this.now();
    const id = `${String(at).padStart(15, '0')}-${randomBytes(4).toString('hex')}`;
    // The bytes first: metadata without its bytes would list a version that cannot be restored.
    await fs.writeFile(path.join(this.dir, `${id}.bin`), bytes, { mode: 0o600 });
    const meta: Meta = { path: rel, at, size: bytes.byteLength, hash, reason };
    await fs.writeFile(path.join(this.dir, `${id}.json`), JSON.stringify(meta), { mode: 0o600 });
    this.lastSaved.set(rel, at);
    if (at - this.lastPrune >= this.pruneEveryMs || bytes.byteLength > this.maxBytes / 4) {
      this.lastPrune = at;
      await this.prune(id);
    }
  }

  /** Every version, newest first; unreadable or foreign entries are skipped. */
  private async all(): Promise<Array<Omit<FileVersion, 'n'> & { id: string }>> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const out: Array<Omit<FileVersion, 'n'> & { id: string }> = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const id = name.slice(0, -'.json'.length);
      const meta = parseMeta(await fs.readFile(path.join(this.dir, name), 'utf8').catch(() => ''));
      if (!meta) continue;
      out.push({ id, path: meta.path, at: new Date(meta.at), size: meta.size, hash: meta.hash, reason: meta.reason, file: path.join(this.dir, `${id}.bin`) });
    }
    return out.sort((a, b) => (a.id < b.id ? 1 : -1));
  }

  private async prune(keepId: string): Promise<void> {
    const all = await this.all();
    let total = all.reduce((n, v) => n + v.size, 0);
    const cutoff = this.now() - this.maxAgeMs;
    for (const v of [...all].reverse()) {
      if (v.id === keepId) continue;
      if (v.at.getTime() >= cutoff && total <= this.maxBytes) continue;
      await fs.rm(path.join(this.dir, `${v.id}.json`), { force: true });
      await fs.rm(v.file, { force: true });
      total -= v.size;
    }
  }
}

function parseMeta(text: string): Meta | undefined {
  try {
    const m = JSON.parse(text) as Partial<Meta>;
    const reasons: VersionReason[] = ['replaced', 'deleted', 'restored-over'];
    if (typeof m.path !== 'string' || !isSafeRelativePath(m.path)) return undefined;
    if (typeof m.at !== 'number' || typeof m.size !== 'number' || typeof m.hash !== 'string') return undefined;
    if (!reasons.includes(m.reason as VersionReason)) return undefined;
    return m as Meta;
  } catch {
    return undefined;
  }
}
