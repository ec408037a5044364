/**
 * A file on disk as a copy of a shared text, shaped like an editor buffer (`EditorBuffer`), so that
 * the one buffer binding (buffer-binding.ts) keeps either copy equal to the Y.Text with the same
 * logic — pending edits, rebase over a change made meanwhile, certain echoes, merge and never
 * overwrite — and a file is handed from one adapter to the other as editors open and close it.
 *
 * - `getText()` is what the copy last read from (or wrote to) the file; `version()` counts the changes
 *   reported since.
 * - A change found on disk (`read()`) is reported as a change of the copy, relative to what it last
 *   read. A tool that read the file some writes ago and wrote it back whole derived its text from an
 *   earlier version: the change is computed from the best base among the recent texts (`mergeBase`,
 *   disk-merge.ts) and mapped onto what the copy holds, as the mirror's three-way merge does.
 * - `applyEdits(edits, baseVersion)` writes with compare-and-swap (swap.ts): only if the copy is still
 *   at `baseVersion` and the file still holds what the copy last saw. When the file changed meanwhile,
 *   that change is read and reported first, and the write resolves false: the binding rebases and
 *   sends again. Its own applied edits are reported back (the echo) before the write resolves true.
 *
 * Every disk operation runs in `run` (the mirror's queue), so a write and the reading of a change
 * never interleave. Deciding what a vanished or non-text file means is the caller's (`read()` says).
 */
import type { Logger } from '../session/log';
import { silentLogger } from '../session/log';
import type { EditorBuffer } from './buffer-binding';
import { asText } from './classify';
import { earlierTexts, mergeBase } from './disk-merge';
import type { Known } from './disk-state';
import { mergeTouching } from './edit-algebra';
import { atomicWrite, readIfFile, WriteConflict } from './fsutil';
import { contentHash } from './hash';
import { diffLineEdits } from './line-diff';
import { resolveInside } from './paths';
import { applyEdits, mapOffset, withCommonChanges, type TextEdit } from './textdiff';

export interface DiskCopyOptions {
  /** The shared folder and the file's path in it. */
  root: string;
  rel: string;
  /** What the file held when this peer last read or wrote it (undefined: never seen here). */
  known?: Known;
  /** Runs a disk operation after every one queued before it (MirrorCore.run); default: a queue of its own. */
  run?: <T>(job: () => Promise<T>) => Promise<T>;
  /** What the file holds changed (read or written): the mirror's record follows. */
  onKnown?: (known: Known) => void;
  /** The copy wrote the file with this content (an editor reloading it then sees no one's edit). */
  onWritten?: (known: Known) => void;
  /**
   * Bytes found at the path that this peer never saw: they must be kept (as a file of the session
   * beside it, disk-merge.ts's keepBesideAsNew) before the shared text is written over them.
   */
  keepUnknown?: (bytes: Buffer) => void;
  /** Where a replaced version is kept first, and whether a text is one restored on purpose. */
  history?: {
    keep(rel: string, reason: 'replaced', seenHash?: string, newHash?: string): Promise<void>;
    wasRestored(rel: string, hash: string): Promise<boolean>;
  };
  /** A write failed (a folder in the way, permissions): told; it is retried with growing pauses. */
  onWriteFailed?: (err: Error) => void;
  onWriteRecovered?: () => void;
  logger?: Logger;
}

export type DiskChangeListener = (changes: readonly TextEdit[], version: number) => void;

/** What `read()` found. `missing` and `not-text` are the caller's to handle (a delete, a binary). */
export type DiskReadResult = 'unchanged' | 'changed' | 'unknown-kept' | 'missing' | 'not-text';

/** Pauses between tries of a write that fails (not a conflict: an error of the file system). */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 8_000;
/** Tries to bring to disk what the copy holds and the file lacks, each after merging the disk's change. */
const BEHIND_ATTEMPTS = 8;

type Attempt = boolean | 'failed';

export class DiskCopy implements EditorBuffer {
  private text: string;
  private ver = 1;
  /** What the file held when last read or written. */
  private disk: Known | undefined;
  /**
   * The copy holds what the file lacks: a change merged from disk onto a copy that was ahead of it,
   * or someone's write displaced in the instant of ours. Written by the copy itself (see writeBehind).
   */
  private behind = false;
  private writesFail = false;
  private closed = false;
  private listener: DiskChangeListener | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly wakers = new Set<() => void>();
  private readonly abs: string;
  private readonly logger: Logger;
  private readonly run: <T>(job: () => Promise<T>) => Promise<T>;

  constructor(private readonly options: DiskCopyOptions) {
    this.disk = options.known;
    this.text = options.known?.text ?? '';
    this.abs = resolveInside(options.root, options.rel);
    this.logger = options.logger ?? silentLogger;
    this.run = options.run ?? serialQueue();
  }

  /**
   * Takes what the file holds now as what the copy holds, without reporting a change: for a file an
   * editor had open until now, whose saves wrote the shared text there (changes other tools made
   * meanwhile were reloaded by the editor and went through its binding). Call before binding; the
   * binding then writes what the shared text has beyond the last save.
   */
  adopt(): Promise<void> {
    return this.run(() => this.adoptNow());
  }

  /** `adopt()` for a caller already running in the queue (`run`), which must not queue behind itself. */
  async adoptNow(): Promise<void> {
    const bytes = await readIfFile(this.abs);
    const text = bytes && asText(bytes);
    if (!bytes || text === undefined || this.closed) return;
    if (this.disk?.hash !== contentHash(bytes)) this.setDisk({ hash: contentHash(bytes), size: bytes.byteLength, text, earlier: earlierTexts(this.disk) });
    this.text = text;
  }

  /** The binding's `onBufferChange`: told of every change of the copy, in order. */
  onDidChange(listener: DiskChangeListener): void {
    this.listener = listener;
  }

  getText(): string {
    return this.text;
  }

  version(): number {
    return this.ver;
  }

  /** Whether writing the file fails now (it is retried with growing pauses). */
  get failing(): boolean {
    return this.writesFail;
  }

  /** What the file held when last read or written. */
  get known(): Known | undefined {
    return this.disk;
  }

  async applyEdits(edits: TextEdit[], baseVersion: number): Promise<boolean> {
    for (let pause = RETRY_FIRST_MS; ; pause = Math.min(pause * 2, RETRY_MAX_MS)) {
      const done: Attempt = await this.run(async () => {
        if (this.closed || baseVersion !== this.ver) return false;
        return this.write(applyEdits(this.text, edits), edits);
      });
      if (done !== 'failed') return done;
      // Outside the queue: one file that cannot be written must not hold up every other.
      if (!(await this.sleep(pause)) || baseVersion !== this.ver) return false;
    }
  }

  /** Reads the file again; a change there is reported as a change of the copy. */
  read(): Promise<DiskReadResult> {
    return this.run(() => this.readNow());
  }

  /**
   * A change read elsewhere (the watcher's batch already has the bytes, or a write displaced them):
   * taken as if read now.
   */
  take(bytes: Buffer): Promise<DiskReadResult> {
    return this.run(() => this.takeBytes(bytes));
  }

  /** `take()` for a caller already running in the queue (`run`), which must not queue behind itself. */
  takeNow(bytes: Buffer): Promise<DiskReadResult> {
    return this.takeBytes(bytes);
  }

  dispose(): void {
    this.closed = true;
    this.listener = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const wake of this.wakers) wake();
  }

  private async readNow(): Promise<DiskReadResult> {
    if (this.closed) return 'unchanged';
    const bytes = await readIfFile(this.abs);
    return bytes ? this.takeBytes(bytes) : 'missing';
  }

  private async takeBytes(bytes: Buffer): Promise<DiskReadResult> {
    if (this.closed) return 'unchanged';
    const hash = contentHash(bytes);
    const seen = this.disk;
    if (seen?.hash === hash) return 'unchanged';
    const diskText = asText(bytes);
    if (diskText === undefined) return 'not-text';
    if (diskText === this.text) {
      // The disk caught up with the copy (or was written with the same text): nothing to report.
      this.setDisk({ hash, size: bytes.byteLength, text: diskText, earlier: earlierTexts(seen) });
      return 'unchanged';
    }
    if (seen?.text === undefined) {
      // Never seen here (or its text unknown): not an edit of anything this copy knows, so nothing
      // to merge it from. Kept, then the shared text takes the path (the binding writes over it).
      this.options.keepUnknown?.(bytes);
      this.setDisk({ hash, size: bytes.byteLength });
      return 'unknown-kept';
    }
    const restored = await this.options.history?.wasRestored(this.options.rel, hash);
    if (this.closed) return 'unchanged';
    // Nothing awaited from here until the change is reported: the copy must not move under it.
    // A change the disk and the copy both have since is part of the base: taken once, not twice.
    const base = withCommonChanges((restored ? seen.text : mergeBase(seen, diskText)) ?? this.text, diskText, this.text);
    const ahead = diffLineEdits(base, this.text);
    const changes = mergeTouching(
      diffLineEdits(base, diskText).map((e) => {
        const start = mapOffset(ahead, e.offset);
        const end = mapOffset(ahead, e.offset + e.deleteCount);
        return { offset: start, deleteCount: Math.max(0, end - start), insert: e.insert };
      }),
    );
    this.setDisk({ hash, size: bytes.byteLength, text: diskText, earlier: earlierTexts(seen) });
    this.report(changes, applyEdits(this.text, changes));
    if (this.text !== diskText) this.fallBehind();
    return 'changed';
  }

  /**
   * Writes `next` over what the copy last saw. `edits` (what turns the copy into `next`) are reported
   * once written; none when the copy already holds `next` (writing what it is behind with).
   */
  private async write(next: string, edits: readonly TextEdit[] | undefined): Promise<Attempt> {
    const bytes = Buffer.from(next, 'utf8');
    const hash = contentHash(bytes);
    const seen = this.disk;
    if (seen?.hash === hash) {
      if (edits) this.report(edits, next);
      return true;
    }
    try {
      await this.options.history?.keep(this.options.rel, 'replaced', seen?.hash, hash);
      const { displaced } = await atomicWrite(this.options.root, this.options.rel, bytes, {
        expect: seen ? { hash: seen.hash, size: seen.size } : null,
      });
      this.setDisk({ hash, size: bytes.byteLength, text: next, earlier: earlierTexts(seen) });
      this.options.onWritten?.(this.disk!);
      this.recovered();
      if (edits) this.report(edits, next);
      if (displaced) {
        // Someone wrote the file in the very instant of the swap: theirs was moved aside, derived from
        // `seen`; merged now like any change on disk (it is nowhere else).
        this.logger.debug(`${this.options.rel} changed on disk while it was written; that change is merged`);
        const now = this.disk!;
        this.disk = seen;
        await this.takeBytes(displaced);
        this.setDisk({ ...now, earlier: earlierTexts(this.disk) });
        this.fallBehind();
      }
      return true;
    } catch (err) {
      if (err instanceof WriteConflict) {
        if (!err.displaced && !err.recreated) {
          const now = await readIfFile(this.abs);
          if (now && contentHash(now) === hash && !this.closed) {
            // Someone wrote exactly what this write brings (the shared text, written from elsewhere):
            // it is this write. Reported as a change, it stood for the file's own edit, equal to the
            // edits in flight, and went into the shared text a second time.
            this.setDisk({ hash, size: bytes.byteLength, text: next, earlier: earlierTexts(seen) });
            if (edits) this.report(edits, next);
            return true;
          }
        }
        if (err.displaced) await this.takeBytes(err.displaced);
        // Created anew while the path was empty for the swap, possibly from nothing (an append to a
        // file briefly missing): an empty text is one of its candidate bases.
        if (err.recreated && this.disk?.text !== undefined) this.disk = { ...this.disk, earlier: [...(this.disk.earlier ?? []), ''] };
        // The file changed since the copy last read it: that change is reported first (the copy's
        // version moves on), then the binding sends its edits again, rebased.
        const found = await this.readNow();
        if (found === 'missing') {
          // Removed here while a change arrived: the change wins, as an edit wins over a concurrent
          // delete (docs/PROTOCOL.md §6.4); the next write creates the file again.
          this.disk = undefined;
        } else if (found === 'not-text') {
          // No longer a text here: the caller turns it into a binary file; until then, not written over.
          this.failed(new Error(`${this.options.rel} is no longer a text file here`));
          return 'failed';
        }
        return false;
      }
      this.failed(err as Error);
      return 'failed';
    }
  }

  /** Brings to disk what the copy holds and the file lacks, merging what the disk changed meanwhile. */
  private fallBehind(): void {
    if (this.behind || this.closed) return;
    this.behind = true;
    void this.writeBehind();
  }

  private async writeBehind(): Promise<void> {
    for (let attempt = 0, pause = RETRY_FIRST_MS; this.behind && !this.closed; attempt++) {
      const done = await this.run(async () => (this.text === this.disk?.text ? true : this.write(this.text, undefined)));
      if (done === true && this.text === this.disk?.text) {
        this.behind = false;
        return;
      }
      if (done === 'failed') {
        if (!(await this.sleep(pause))) return;
        pause = Math.min(pause * 2, RETRY_MAX_MS);
      } else if (attempt >= BEHIND_ATTEMPTS) {
        this.logger.warn(`${this.options.rel} keeps changing on disk; the session's changes are written after its next change`);
        this.behind = false;
        return;
      }
    }
  }

  private report(changes: readonly TextEdit[], next: string): void {
    if (next === this.text && !changes.length) return;
    this.text = next;
    this.ver++;
    this.listener?.(changes, this.ver);
  }

  private setDisk(k: Known): void {
    this.disk = k;
    this.options.onKnown?.(k);
  }

  private failed(err: Error): void {
    this.logger.debug(`could not write ${JSON.stringify(this.options.rel)}: ${err.message}; retrying`);
    if (this.writesFail) return;
    this.writesFail = true;
    this.options.onWriteFailed?.(err);
  }

  private recovered(): void {
    if (!this.writesFail) return;
    this.writesFail = false;
    this.options.onWriteRecovered?.();
  }

  /** Waits `ms`; false if the copy closed meanwhile. */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(t);
        this.timers.delete(t);
        this.wakers.delete(wake);
        resolve(!this.closed);
      };
      const t = setTimeout(wake, ms);
      this.timers.add(t);
      this.wakers.add(wake);
    });
  }
}

function serialQueue(): <T>(job: () => Promise<T>) => Promise<T> {
  let queue: Promise<unknown> = Promise.resolve();
  return (job) => {
    const result = queue.then(job);
    queue = result.catch(() => {});
    return result;
  };
}
