/**
 * Which files of a folder are shared. In a git work tree: what a clone would hold (every tracked file,
 * even under node_modules/ or matching a .gitignore) plus what is not committed yet and not ignored,
 * as a real `git` says (git-tree.ts). Elsewhere: everything but what .gitignore files, the exclude
 * list and the size caps leave out. Symbolic links are listed with their target, never followed
 * (symlinks.ts judges where each points: one that leaves the workspace is left out), and so are
 * empty folders (tree-walk.ts). Never special files. What is left out is reported, with why.
 */
import * as fs from 'node:fs/promises';
import type { Stats } from 'node:fs';
import * as path from 'node:path';
import ignore from 'ignore';
import { BoundedIgnore } from './bounded-ignore';
import { readGitTree, trackedFolders, type GitTree } from './git-tree';
import { contentHash } from './hash';
import { QuickIo } from './quick-io';
import { sortByPathSliced } from './index-bases';
import { Slicer } from './slicer';
import { readLink, linkSkipReason } from './symlinks';
import { findTreeEntries, type ScannedLink } from './tree-walk';
import { unsafePathReason } from './paths';
import type { ScanCache } from './scan-cache';
import { formatSize } from '../session/format';

/**
 * Never shared, and never written from a peer, whatever git tracks: `.git` both as a folder and as a
 * file (a `.git` file can point git at another folder, e.g. one holding hooks), our state and temp files.
 */
export const HARD_EXCLUDES = ['.git', '.hyperpair/', '*.hyperpair-tmp'];
/** Also left out by default, unless git tracks them: dependencies. */
export const DEFAULT_EXCLUDES = [...HARD_EXCLUDES, 'node_modules/'];

/** Files stat'ed (and hashed, with a cache) at once when calls go through libuv's thread pool (quick-io.ts: slow disks). */
const STAT_CONCURRENCY = 64;

export interface ScanOptions {
  /** Extra patterns in .gitignore syntax, relative to the root. */
  excludes?: string[];
  maxFileBytes?: number;
  maxTotalBytes?: number;
  maxFiles?: number;
  /** false: today's .gitignore rules even in a git work tree (no `git` process). */
  git?: boolean;
  /** Sizes, times and hashes of the last scan: files get their `hash`, read only when changed. */
  cache?: ScanCache;
  /**
   * Called with each batch of listed files as the scan goes (a few hundred at a time; the scan waits
   * for it), so that a start can share files before the whole folder is read. `report` is the
   * report being built: `leaveOut` may move a file of the batch to the skipped ones. `read`: the
   * bytes the scan read to hash (a file the cache did not know), by path, whose hash is the file's
   * `hash`, so that a start reads and hashes each file once (bounded: past BATCH_BYTES a batch's
   * files are not kept, and are read again).
   */
  onFiles?: (files: ScannedFile[], report: ScanReport, read: ReadonlyMap<string, Buffer>) => Promise<void> | void;
}

export interface ScannedFile {
  rel: string;
  size: number;
  /** Content hash (hex BLAKE2b-256), when the scan had a cache. */
  hash?: string;
}

export interface ScanReport {
  files: ScannedFile[];
  /** Left out although nothing excludes them: links, special files, unportable names, caps. */
  skipped: Array<{ rel: string; reason: string }>;
  /** Left out by .gitignore or the exclude list, as asked (folders end with `/`, not descended). */
  excluded: string[];
  totalBytes: number;
  /** Symbolic links that stay inside the workspace, with their target as written (POSIX separators). */
  links: ScannedLink[];
  /** Folders that hold nothing at all (not even left-out files). */
  folders: string[];
  /** How the folder was read: `git` (tracked + untracked, not ignored) or `walk` (.gitignore rules). */
  mode: 'git' | 'walk';
}

/** Decides, for one root, whether a relative path is left out by the root's rules and .gitignore files. */
export class ExcludeRules {
  private readonly hard: BoundedIgnore;
  private readonly root: BoundedIgnore;
  private readonly nested = new Map<string, BoundedIgnore>();
  /** In a git work tree: what git tracks here (never excluded but by the hard rules), and their folders. */
  private tracked = new Set<string>();
  private trackedDirs = new Set<string>();
  private modified = new Set<string>();
  private inGit = false;

  constructor(excludes: string[] = []) {
    this.hard = new BoundedIgnore(HARD_EXCLUDES);
    this.root = new BoundedIgnore([...DEFAULT_EXCLUDES, ...excludes]);
  }

  /**
   * Takes git's word on what is tracked (undefined: not a git work tree). The rules change at once,
   * when the folders are known: a question asked meanwhile gets the earlier word, never half of each.
   */
  async useGit(tree: GitTree | undefined): Promise<void> {
    const tracked = tree?.tracked ?? new Set<string>();
    const trackedDirs = await trackedFolders(tracked);
    this.inGit = tree !== undefined;
    this.tracked = tracked;
    this.trackedDirs = trackedDirs;
    this.modified = tree?.modified ?? new Set();
  }

  /** Whether git's word was taken (the folder is a git work tree, as last read). */
  get inGitTree(): boolean {
    return this.inGit;
  }

  /**
   * Whether this file is as this folder's git last committed it (when the rules were read): then it is
   * no uncommitted work of anyone here, and git can always give it back.
   */
  committedUnchanged(rel: string): boolean {
    return this.inGit && this.tracked.has(rel) && !this.modified.has(rel);
  }

  /** (Re)reads the .gitignore of one directory; forgets it when the file is gone. */
  async loadGitignore(absDir: string, relDir: string): Promise<void> {
    try {
      const text = await fs.readFile(path.join(absDir, '.gitignore'), 'utf8');
      this.nested.set(relDir, new BoundedIgnore(text));
    } catch {
      this.nested.delete(relDir); // no .gitignore here
    }
  }

  /**
   * Reads what git tracks and every .gitignore under root (outside excluded folders), e.g. after a
   * joiner received them. In a git work tree only the .gitignore files git lists are read: walking a
   * tracked fixture's node_modules/ for them would read every installed package's folders.
   */
  async loadAll(root: string): Promise<void> {
    const abs = path.resolve(root);
    const tree = await readGitTree(abs);
    await this.useGit(tree);
    if (tree) {
      this.nested.clear();
      const lists = [...tree.tracked, ...tree.untracked].filter((rel) => rel === '.gitignore' || rel.endsWith('/.gitignore'));
      for (const rel of lists) {
        const dir = rel.slice(0, Math.max(0, rel.length - '/.gitignore'.length));
        await this.loadGitignore(path.join(abs, dir), dir);
      }
      return;
    }
    const walk = async (absDir: string, relDir: string): Promise<void> => {
      await this.loadGitignore(absDir, relDir);
      const entries = await fs.readdir(absDir, { withFileTypes: true }).catch(() => []);
      for (const d of entries) {
        const rel = relDir ? `${relDir}/${d.name}` : d.name;
        if (d.isDirectory() && !this.excluded(rel, true)) await walk(path.join(absDir, d.name), rel);
      }
    };
    await walk(abs, '');
  }

  /** Left out whatever git says: `.git`, our state and temp files. */
  hardExcluded(rel: string, isDir: boolean): boolean {
    return this.hard.ignores(isDir ? rel + '/' : rel);
  }

  excluded(rel: string, isDir: boolean): boolean {
    if (this.hardExcluded(rel, isDir)) return true;
    if (this.inGit && (isDir ? this.trackedDirs.has(rel) : this.tracked.has(rel))) return false;
    const probe = isDir ? rel + '/' : rel;
    if (this.root.ignores(probe)) return true;
    for (const [base, ig] of this.nested) {
      if (base === '') {
        if (ig.ignores(probe)) return true;
      } else if (rel.startsWith(base + '/') && ig.ignores(probe.slice(base.length + 1))) return true;
    }
    return false;
  }
}

/** Files handed to `onFiles` at once: large enough to amortise a batch, small enough to stream. */
const BATCH = 256;
/** Bytes read by the scan kept for one batch's `onFiles` at most (the rest are read again there). */
const BATCH_BYTES = 8 * 1024 * 1024;
/** Larger files read to hash are not kept for `onFiles`: a batch's reads must not hold many of them. */
const KEEP_FILE_BYTES = 256 * 1024;

/** Collects files under the caps, in the order offered, and what they leave out. */
class Collector {
  readonly report: ScanReport;
  /** Listed and not yet handed to `onFiles`. */
  private pending: ScannedFile[] = [];
  /** The bytes read (to hash) of pending files, and their total (BATCH_BYTES at most). */
  private read = new Map<string, Buffer>();
  private readBytes = 0;
  constructor(
    mode: ScanReport['mode'],
    private readonly options: ScanOptions,
  ) {
    this.report = { files: [], skipped: [], excluded: [], totalBytes: 0, links: [], folders: [], mode };
  }

  skip(rel: string, reason: string): void {
    this.report.skipped.push({ rel, reason });
  }

  /** A regular file and its stat: listed, or left out by a cap. */
  offer(rel: string, st: Stats, hash?: string, bytes?: Buffer): void {
    const { maxFileBytes = Infinity, maxTotalBytes = Infinity, maxFiles = Infinity } = this.options;
    const r = this.report;
    if (st.size > maxFileBytes) this.skip(rel, `larger than the ${formatSize(maxFileBytes)} limit per file`);
    else if (r.totalBytes + st.size > maxTotalBytes) this.skip(rel, `over the ${formatSize(maxTotalBytes)} limit for the workspace`);
    else if (r.files.length >= maxFiles) this.skip(rel, `over the limit of ${maxFiles} files`);
    else {
      const file = hash === undefined ? { rel, size: st.size } : { rel, size: st.size, hash };
      r.files.push(file);
      if (this.options.onFiles) this.pending.push(file);
      if (this.options.onFiles && bytes && this.readBytes + bytes.byteLength <= BATCH_BYTES) {
        this.read.set(rel, bytes);
        this.readBytes += bytes.byteLength;
      }
      r.totalBytes += st.size;
    }
  }

  /** Hands what was listed since the last time to `onFiles` (`all`: however few). */
  async flush(all: boolean): Promise<void> {
    if (!this.options.onFiles || this.pending.length === 0 || (!all && this.pending.length < BATCH)) return;
    const batch = this.pending;
    const read = this.read;
    this.pending = [];
    this.read = new Map();
    this.readBytes = 0;
    await this.options.onFiles(batch, this.report, read);
  }
}

/** Looks at one path that is neither excluded nor unportable, without following it if it is a link. */
async function inspect(root: string, rel: string, cache: ScanCache | undefined, io: QuickIo): Promise<{ st?: Stats; hash?: string; bytes?: Buffer; reason?: string; link?: string }> {
  const abs = path.join(root, ...rel.split('/'));
  const st = await io.lstat(abs).catch(() => undefined);
  if (!st) return {}; // gone meanwhile (or a tracked file deleted and not committed yet)
  if (st.isSymbolicLink()) {
    const verdict = await readLink(root, rel).catch(() => undefined);
    if (!verdict) return {}; // gone meanwhile
    return verdict.outside ? { reason: linkSkipReason(verdict) } : { link: verdict.target };
  }
  if (st.isDirectory()) return { st };
  if (!st.isFile()) return { reason: 'not a regular file' };
  if (!cache) return { st };
  const cached = cache.lookup(rel, st);
  if (cached !== undefined) return { st, hash: cached };
  const bytes = await io.read(abs);
  if (!bytes) return { reason: 'it could not be read' };
  const hash = contentHash(bytes);
  cache.remember(rel, st, hash);
  // Small files' bytes go on to `onFiles` (a start shares them without reading them again).
  return bytes.byteLength <= KEEP_FILE_BYTES ? { st, hash, bytes } : { st, hash };
}

/** Runs `fn` over `items`, `limit` at a time, keeping the results in order. */
async function inOrder<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Looks at files (many at once) and offers each to the collector, in order. */
async function inspectAll(root: string, rels: string[], c: Collector, cache: ScanCache | undefined): Promise<void> {
  // Synchronous calls in slices (quick-io.ts); many at once only if they prove slow.
  const io = new QuickIo();
  const looks = await inOrder(rels, STAT_CONCURRENCY, (rel) => inspect(root, rel, cache, io));
  for (const [i, rel] of rels.entries()) {
    const { st, hash, bytes, reason, link } = looks[i];
    if (reason) c.skip(rel, reason);
    else if (link !== undefined) c.report.links.push({ rel, target: link });
    else if (st?.isFile()) c.offer(rel, st, hash, bytes);
  }
}

export async function scanFolder(root: string, options: ScanOptions = {}): Promise<{ report: ScanReport; rules: ExcludeRules }> {
  const abs = path.resolve(root);
  const rules = new ExcludeRules(options.excludes);
  await options.cache?.load();
  const tree = options.git === false ? undefined : await readGitTree(abs);
  const report = tree ? await scanGit(abs, tree, rules, options) : await scanWalk(abs, rules, options);
  await options.cache?.save().catch(() => {}); // only a cache: the next start hashes again
  return { report, rules };
}

/** A git work tree: git's list, checked like any path, then each file looked at (not followed). */
async function scanGit(root: string, tree: GitTree, rules: ExcludeRules, options: ScanOptions): Promise<ScanReport> {
  await fs.readdir(root); // the shared folder itself must be readable, as in scanWalk
  await rules.useGit(tree);
  const c = new Collector('git', options);
  const user = ignore().add(options.excludes ?? []);
  const candidates: string[] = [];
  const slicer = new Slicer();
  // In path order (index-bases.ts): a start's files go into the index's bases in the order listed.
  for (const rel of await sortByPathSliced([...tree.tracked, ...tree.untracked], (r) => r)) {
    await slicer.maybeYield();
    if (rel.endsWith('/')) {
      // git lists a repository nested in this one (not a submodule) as one folder, and never descends.
      c.skip(rel, 'a git repository of its own inside this one: its files are not shared');
      continue;
    }
    // The exclude list applies to tracked files too: it is this person's word on what not to share.
    if (rules.excluded(rel, false) || user.ignores(rel)) c.report.excluded.push(rel);
    else {
      const unsafe = unsafePathReason(rel);
      if (unsafe) c.skip(rel, `its name cannot be shared safely on every platform: ${unsafe}`);
      else candidates.push(rel);
    }
  }
  for (const rel of tree.submodules) c.skip(rel + '/', 'a git submodule: its files belong to another repository and are not shared');
  c.report.excluded.push(...tree.ignored);
  // In slices, so that files are handed on (and the event loop gets a turn) as the scan goes.
  for (let from = 0; from < candidates.length; from += BATCH) {
    await inspectAll(root, candidates.slice(from, from + BATCH), c, options.cache);
    await c.flush(false);
  }
  await c.flush(true);
  for (const rel of candidates) {
    if (rel === '.gitignore' || rel.endsWith('/.gitignore')) {
      const dir = rel.slice(0, Math.max(0, rel.length - '/.gitignore'.length));
      await rules.loadGitignore(path.join(root, dir), dir);
    }
  }
  // git lists no folders: the empty ones are found by a walk of the folders it does not ignore.
  const own = new Set([...tree.submodules, ...[...tree.tracked].filter((r) => r.endsWith('/')), ...tree.untracked.filter((r) => r.endsWith('/'))].map((r) => r.replace(/\/$/, '')));
  const walked = await findTreeEntries(root, '', (rel) => own.has(rel) || rules.excluded(rel, true) || user.ignores(rel + '/'));
  c.report.folders.push(...walked.folders);
  return c.report;
}

/** Outside git: a walk of the folder, honouring .gitignore files, the exclude list and the defaults. */
async function scanWalk(root: string, rules: ExcludeRules, options: ScanOptions): Promise<ScanReport> {
  const c = new Collector('walk', options);
  async function walk(absDir: string, relDir: string): Promise<void> {
    await rules.loadGitignore(absDir, relDir);
    let entries;
    try {
      entries = await fs.readdir(absDir, { withFileTypes: true });
    } catch (err) {
      // The shared folder itself must be readable; a subfolder that is not is left out, and said so,
      // rather than refusing to share everything else.
      if (relDir === '') throw err;
      const code = (err as NodeJS.ErrnoException).code;
      c.skip(relDir + '/', `this folder could not be read${code ? `: ${code}` : ''}`);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    if (entries.length === 0 && relDir !== '') c.report.folders.push(relDir);
    const files: string[] = [];
    const dirs: string[] = [];
    for (const d of entries) {
      const rel = relDir ? `${relDir}/${d.name}` : d.name;
      if (rules.excluded(rel, d.isDirectory())) {
        c.report.excluded.push(d.isDirectory() ? rel + '/' : rel);
        continue;
      }
      const unsafe = unsafePathReason(rel);
      if (unsafe) c.skip(rel, `its name cannot be shared safely on every platform: ${unsafe}`);
      else if (d.isDirectory()) dirs.push(rel);
      else files.push(rel);
    }
    await inspectAll(root, files, c, options.cache);
    await c.flush(false);
    for (const rel of dirs) await walk(path.join(root, ...rel.split('/')), rel);
  }
  await walk(root, '');
  await c.flush(true);
  return c.report;
}

/** Moves a listed file to the skipped ones (e.g. it could not be read after all). */
export function leaveOut(report: ScanReport, file: ScannedFile, reason: string): void {
  const i = report.files.indexOf(file);
  if (i < 0) return;
  report.files.splice(i, 1);
  report.totalBytes -= file.size;
  report.skipped.push({ rel: file.rel, reason });
}

/** Sizes are written one way everywhere (session/format.ts). */
export { formatSize };
