/**
 * One peer per folder. Two peers mirroring one folder (a headless peer and a VS Code window, or a
 * window whose remote extension host outlived it) each take the other's writes for edits made there,
 * and every change arrives twice: measured, 20 of 20 lines appended in such a folder ended doubled on
 * every peer. So a peer claims its folder in the folder's state directory before it mirrors it
 * (`claim.json`: who, which process, since when, refreshed while it runs; and `claim.<id>.<pid>.live`,
 * there until it lets go). The later claim wins: a peer that opens a folder another running peer holds
 * claims it and waits until that one has let go (its live file gone) or its process has ended, and
 * fails with a clear error if neither happens in time. A peer that finds a later claim than its own
 * stops mirroring and is told.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Logger } from '../session/log';
import { writeWhole } from './state-dir';

interface ClaimRecord {
  id: string;
  pid: number;
  host: string;
  /** When this claim was made: of two, the later one holds the folder. */
  since: number;
  /** Refreshed while the claim is held: an old one is from a peer that ended without letting go. */
  at: number;
}

export interface ClaimOptions {
  logger: Logger;
  /** How long to wait for the holder to let go. */
  waitMs?: number;
  /** How often the claim is checked (and, every few checks, refreshed). */
  checkMs?: number;
}

const FILE = 'claim.json';
/** A claim not refreshed for this long is from a peer that ended without letting go. */
const STALE_MS = 60_000;
const REFRESH_EVERY = 5;

/** Whether a process of this machine runs. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The folder is held by another peer that did not let go. */
export class FolderTakenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FolderTakenError';
  }
}

export class FolderClaim {
  private readonly id = randomBytes(8).toString('hex');
  private readonly since = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private checks = 0;
  /** The process of the peer that claimed the folder later, once one has. */
  private lostTo: { pid: number } | undefined;
  private onLostListener: ((by: { pid: number }) => void) | undefined;
  private closed = false;
  /** One file operation at a time: a release never races a refresh that would undo it. */
  private io: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly folder: string,
    private readonly options: ClaimOptions,
  ) {}

  /** Claims `folder` (state kept in `stateDir`), after its current holder, if any, has let go. */
  static async take(stateDir: string, folder: string, options: ClaimOptions): Promise<FolderClaim> {
    const claim = new FolderClaim(stateDir, folder, options);
    let holder: ClaimRecord | undefined;
    try {
      await fs.mkdir(stateDir, { recursive: true });
      await claim.sweep();
      holder = await claim.read();
      await fs.writeFile(claim.liveFile(claim.id, process.pid), '');
      await claim.write();
    } catch (err) {
      // A state folder this user cannot write (the sync record then goes unkept too): no claim.
      options.logger.warn(`could not claim ${folder} in ${stateDir} (${(err as Error).message}); another peer in the folder would not be noticed`);
      claim.closed = true;
      return claim;
    }
    if (holder && claim.live(holder)) await claim.waitFor(holder);
    claim.timer = setInterval(() => void claim.serially(() => claim.check()), options.checkMs ?? 1000);
    claim.timer.unref?.();
    return claim;
  }

  /**
   * Another peer claimed the folder later: this one must stop mirroring it. Told at once if that
   * happened already (while the peer was still starting).
   */
  onLost(listener: (by: { pid: number }) => void): void {
    this.onLostListener = listener;
    if (this.lostTo) listener(this.lostTo);
  }

  /** Lets go of the folder: its claim goes if it is still this one's, and its live file. */
  async release(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.serially(async () => {
      if ((await this.read())?.id === this.id) await fs.rm(this.file(), { force: true });
      await fs.rm(this.liveFile(this.id, process.pid), { force: true });
    });
  }

  private live(holder: ClaimRecord): boolean {
    return holder.id !== this.id && holder.host === os.hostname() && Date.now() - holder.at < STALE_MS && running(holder.pid);
  }

  private async waitFor(holder: ClaimRecord): Promise<void> {
    const { logger, waitMs = 10_000 } = this.options;
    logger.info(`${this.folder} is in a session of another Hyperpair (process ${holder.pid}): it is asked to stop mirroring it`);
    const held = this.liveFile(holder.id, holder.pid);
    for (const until = Date.now() + waitMs; ; await sleep(100)) {
      if (!(await fs.access(held).then(() => true, () => false)) || !running(holder.pid)) return;
      if (Date.now() >= until) {
        await this.release();
        throw new FolderTakenError(
          `${this.folder} is in a session of another Hyperpair (process ${holder.pid}), which did not stop within ${waitMs / 1000} s. ` +
            'Leave that session (or end that process) first: two peers in one folder would double every change made there.',
        );
      }
    }
  }

  /** Live files of processes that ended without letting go (killed). */
  private async sweep(): Promise<void> {
    for (const name of await fs.readdir(this.dir).catch(() => [] as string[])) {
      const m = /^claim\.[0-9a-f]+\.(\d+)\.live$/.exec(name);
      if (m && !running(Number(m[1]))) await fs.rm(path.join(this.dir, name), { force: true });
    }
  }

  private async check(): Promise<void> {
    if (this.closed || this.lostTo) return;
    const onDisk = await this.read();
    if (onDisk && onDisk.id !== this.id && (onDisk.since > this.since || (onDisk.since === this.since && onDisk.id > this.id))) {
      this.lostTo = { pid: onDisk.pid };
      clearInterval(this.timer);
      this.options.logger.warn(`another Hyperpair (process ${onDisk.pid}) opened a session in ${this.folder}: this one stops mirroring it`);
      this.onLostListener?.(this.lostTo);
      return;
    }
    // Put back over an earlier claim written meanwhile, or refreshed now and then.
    if (onDisk?.id !== this.id || ++this.checks % REFRESH_EVERY === 0) await this.write();
  }

  private file(): string {
    return path.join(this.dir, FILE);
  }

  private liveFile(id: string, pid: number): string {
    return path.join(this.dir, `claim.${id}.${pid}.live`);
  }

  private async read(): Promise<ClaimRecord | undefined> {
    try {
      const r = JSON.parse(await fs.readFile(this.file(), 'utf8')) as Partial<ClaimRecord>;
      const ok = typeof r.id === 'string' && typeof r.pid === 'number' && typeof r.host === 'string' && typeof r.since === 'number' && typeof r.at === 'number';
      return ok ? (r as ClaimRecord) : undefined;
    } catch {
      return undefined; // none, or unreadable: nobody holds the folder
    }
  }

  private async write(): Promise<void> {
    const record: ClaimRecord = { id: this.id, pid: process.pid, host: os.hostname(), since: this.since, at: Date.now() };
    await writeWhole(this.file(), JSON.stringify(record));
  }

  private serially(op: () => Promise<void>): Promise<void> {
    const run = this.io.then(op);
    this.io = run.catch((err: Error) => this.options.logger.warn(`the claim on ${this.folder} could not be kept: ${err.message}`));
    return run.catch(() => undefined);
  }
}
