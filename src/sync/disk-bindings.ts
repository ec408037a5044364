/**
 * The files on disk that follow a live shared text through the one buffer binding (buffer-binding.ts
 * over a DiskCopy, disk-copy.ts), as an editor buffer does: remote edits reach the file from the
 * Yjs delta, written only if the file still holds what the copy last read (compare-and-swap); a
 * change made on disk by any tool is reported as a change of the copy, rebased over what the file
 * has not received yet, and merged, never written over.
 *
 * A file is bound here while its text has a document and no editor has it open; it is handed to an
 * editor (`release`) the moment one binds it, and back (`bind` with `adopt`) when the editor closes
 * it. A file this peer never read as text (being created, or known only by hash) is written whole by
 * the mirror's writer first (disk-writer.ts); from then on its binding carries it.
 *
 * Every operation of a copy runs in the mirror's queue (MirrorCore.run): callers already in the queue
 * use the copy's `…Now` methods.
 */
import type * as Y from 'yjs';
import type { FileEntry } from './api';
import { BufferBinding, isBound } from './buffer-binding';
import { asText } from './classify';
import { earlierTexts, keepBesideAsNew } from './disk-merge';
import type { Known } from './disk-state';
import { knownAsText } from './record-texts';
import { readIfFile } from './fsutil';
import { contentHash } from './hash';
import { resolveInside } from './paths';
import { withLinesFromShared } from './line-diff';
import { DiskCopy, type DiskReadResult } from './disk-copy';
import type { MirrorCore } from './mirror-core';

/** The origin of a disk copy's changes in the shared text (the workspace reports them as 'disk'). */
const DISK_ORIGIN = 'disk';

/** What the bindings need of the writing side (failures are told and listed there). */
export interface BindingsHost {
  writeFailed(rel: string, err: unknown): void;
  wrote(rel: string): void;
}

interface DiskBinding {
  id: string;
  copy: DiskCopy;
  binding: BufferBinding;
}

/** How often a wait for the bindings looks again for a copy that started failing (it waits for no such copy). */
const SETTLE_RECHECK_MS = 100;
/** How often each settled copy is compared with its shared text (editors' buffers: every 5 s, documents.ts). */
const VERIFY_MS = 10_000;

export class DiskBindings {
  private readonly bound = new Map<string, DiskBinding>();
  /** Copies let go of: what they still read or write no longer goes into the mirror's record. */
  private readonly released = new WeakSet<DiskCopy>();
  /** Repairs made by bindings let go of since. */
  private pastRepairs = 0;
  private verifyTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly core: MirrorCore,
    private readonly host: BindingsHost,
  ) {}

  /** Whether this path's file follows its shared text here. */
  has(rel: string): boolean {
    return this.bound.has(rel);
  }

  /** Whether this file (this entry, at its path) follows its shared text here. */
  holds(e: FileEntry): boolean {
    return this.bound.get(e.path)?.id === e.id;
  }

  /**
   * Binds the file at `e.path` to its loaded text, if it can be: the mirror has read it as text
   * (its record holds the text), and nothing else binds the text. `adopt`: the file was an editor's
   * until now, whose saves wrote the shared text there; what it holds is taken as the copy's text.
   * `bytes`: what the caller has just read of the file (a change the watcher found), used instead of
   * reading it again; the caller hands them to the copy (`take`). Call from within the mirror's
   * queue. Returns the copy, or undefined when it cannot be bound.
   */
  async bind(e: FileEntry, ytext: Y.Text, options: { adopt?: boolean; bytes?: Buffer } = {}): Promise<DiskCopy | undefined> {
    const have = this.bound.get(e.path);
    if (have?.id === e.id && have.binding.ytext === ytext) return have.copy;
    this.release(e.path); // another file's, that left this path

    const rel = e.path;
    if (this.core.closed || this.core.guard.halted || isBound(ytext) || !knownAsText(this.core.known.get(rel))) return undefined;
    const caught = options.adopt ? { known: this.core.known.get(rel), read: undefined } : await this.caughtUp(rel, ytext, options.bytes);
    const read = caught.read;
    // The copy keeps its base in memory while it is bound (a cold one's text is read back once).
    const known = caught.known && { ...caught.known };
    if (known?.text === undefined) return undefined;
    const copy = new DiskCopy({
      root: this.core.root,
      rel,
      known,
      run: (job) => this.core.run(job),
      onKnown: (k) => !this.released.has(copy) && this.core.known.set(rel, k),
      onWritten: (k) => this.core.written.note(rel, k.hash),
      keepUnknown: (bytes) => {
        const kept = keepBesideAsNew(this.core.ws, rel, bytes, this.core.logger);
        if (kept) this.core.logger.info(`${rel} held a version this peer never saw; it is kept as ${kept.path}`);
      },
      history: this.core.options.history,
      onWriteFailed: (err) => this.host.writeFailed(rel, err),
      onWriteRecovered: () => this.host.wrote(rel),
      logger: this.core.logger,
    });
    if (options.adopt) await copy.adoptNow();
    // Checked again after the await: an editor may have taken the text, or the file moved meanwhile.
    if (this.bound.has(rel) || isBound(ytext) || this.core.closed || this.core.ws.byId(e.id)?.path !== rel) {
      this.released.add(copy);
      copy.dispose();
      return undefined;
    }
    const binding = new BufferBinding(ytext, copy, { logger: this.core.logger, name: rel, origin: DISK_ORIGIN, undo: false });
    copy.onDidChange((changes, version) => binding.onBufferChange(changes, version));
    this.bound.set(rel, { id: e.id, copy, binding });
    this.verifyTimer ??= setInterval(() => this.verifyAll(), VERIFY_MS).unref();
    // The file changed beyond the record, as read just now: the copy takes those bytes (their change
    // goes through the binding) instead of finding them again when the compare-and-swap of its first
    // write fails. Its writes still expect what it last took: a change since then is read then.
    if (read && !options.bytes) await copy.takeNow(read);
    return copy;
  }

  /**
   * What the file held when last in sync, with what it has of the shared text since: the record of
   * it may lag the file by a moment (it is written a few hundred milliseconds after the file), and a
   * restart then found the lines written last on disk but not in the record. Taken for the file's own
   * change, they went into the shared text a second time (the chaos suite's kill-restart: every trial
   * doubled a line or two). `read`: the file's bytes, when they are a text that differs from the record.
   */
  private async caughtUp(rel: string, ytext: Y.Text, given?: Buffer): Promise<{ known: Known | undefined; read?: Buffer }> {
    const known = this.core.known.get(rel);
    const bytes = known?.text === undefined ? undefined : (given ?? (await readIfFile(resolveInside(this.core.root, rel)).catch(() => undefined)));
    const now = this.core.known.get(rel);
    // Bytes read while the record changed may be older than it: neither merged here nor taken.
    const read = bytes && now === known && contentHash(bytes) !== known!.hash ? bytes : undefined;
    const disk = read && asText(read);
    if (disk === undefined || now?.text === undefined) return { known: now };
    const base = withLinesFromShared(now.text, disk, ytext.toString());
    if (base === now.text) return { known: now, read };
    const data = Buffer.from(base, 'utf8');
    const next: Known = { hash: contentHash(data), size: data.byteLength, text: base, earlier: earlierTexts(now) };
    this.core.logger.debug(`${rel}: the file holds ${base.length - now.text.length} characters of the shared text beyond what this peer last recorded of it; taken as read`);
    this.core.known.set(rel, next);
    return { known: next, read };
  }

  /**
   * A change read on disk for a bound file (in the queue): reported through its copy. Undefined when
   * the file is not bound (the caller merges it another way).
   */
  take(rel: string, bytes: Buffer): Promise<DiskReadResult> | undefined {
    return this.bound.get(rel)?.copy.takeNow(bytes);
  }

  /**
   * Lets go of the file (an editor takes it, it moves, it leaves the session, or the mirror stops).
   * What the copy reported is in the shared text already; a write still queued is not made.
   */
  release(rel: string): void {
    const b = this.bound.get(rel);
    if (!b) return;
    this.bound.delete(rel);
    this.released.add(b.copy);
    this.pastRepairs += b.binding.repairs;
    b.binding.dispose();
    b.copy.dispose();
  }

  releaseAll(): void {
    for (const rel of [...this.bound.keys()]) this.release(rel);
    clearInterval(this.verifyTimer);
    this.verifyTimer = undefined;
  }

  /**
   * How often a file followed here disagreed with its shared text while nothing was pending, and was
   * merged (what only the file had went into the shared text; it should never happen).
   */
  get repairs(): number {
    let n = this.pastRepairs;
    for (const b of this.bound.values()) n += b.binding.repairs;
    return n;
  }

  /** Compares each settled copy with its text (BufferBinding.verify merges, logs and counts a difference). */
  private verifyAll(): void {
    for (const b of this.bound.values()) if (!b.copy.failing) b.binding.verify();
  }

  /** Whether every bound file holds its shared text (nothing pending, nothing in flight). */
  get settled(): boolean {
    for (const b of this.bound.values()) if (!b.binding.settled) return false;
    return true;
  }

  /**
   * Resolves once every bound file holds its shared text, except files whose writes fail (they are
   * retried on their own, and told): a folder that cannot be written must not hold up a close.
   */
  async whenSettled(): Promise<void> {
    for (;;) {
      const waiting = [...this.bound.values()].filter((b) => !b.binding.settled && !b.copy.failing);
      if (!waiting.length) return;
      let timer: NodeJS.Timeout | undefined;
      const recheck = new Promise<void>((resolve) => (timer = setTimeout(resolve, SETTLE_RECHECK_MS)));
      await Promise.race([Promise.all(waiting.map((b) => b.binding.whenSettled())), recheck]);
      clearTimeout(timer);
    }
  }
}
