/**
 * The disk mirror's writing side: the session's files written into the folder, each only over what
 * the mirror last saw there (compare-and-swap, swap.ts); a disk that changed meanwhile is read and
 * merged first (by the reading side, disk-intake.ts). Also moves and deletes, bursts of text changes
 * coalesced into one write, contents still on their way, and writes that fail (told, retried).
 */
import type { FileEntry } from './api';
import type { DiskBindings } from './disk-bindings';
import { earlierTexts } from './disk-merge';
import type { Known } from './disk-state';
import { knownHolds, textString } from './record-texts';
import type { EditorHandover } from './editor-handover';
import type { CheckedFolders } from './first-copy';
import { atomicWrite, holds, moveFile, readIfFile, removeFile, WriteConflict } from './fsutil';
import { contentHash } from './hash';
import type { MirrorCore } from './mirror-core';
import { isSafeRelativePath, resolveInside } from './paths';
import { WriteFailures, type WriteFailure } from './write-failures';
import { notebookText } from './notebook/first-state';

/**
 * Tries to write one remote change over a file that keeps changing on disk. Each refused try merges
 * the disk's change first; after this many the write waits for the watcher's next report of the file.
 */
const WRITE_ATTEMPTS = 8;

/** What the writing side needs of the reading side. */
export interface DiskReader {
  /** A write was refused because the file changed on disk: that change goes into the session first. */
  takeLocalChange(entry: FileEntry): Promise<void>;
  changedOnDisk(entry: FileEntry, bytes: Buffer): Promise<void>;
  onDiskBatch(paths: string[]): Promise<void>;
  addFromDisk(rel: string, bytes: Buffer): void;
}

export class DiskWriter {
  private readonly textTimers = new Map<string, NodeJS.Timeout>();
  /**
   * Contents not here yet that a write or a disk change waits for, outside the queue: one file that
   * cannot arrive must not hold up every other. `disk`: the file changed on disk meanwhile.
   */
  private readonly awaiting = new Map<string, { disk: boolean }>();
  /** Paths from the session this folder excludes (logged once each). */
  private readonly refusedExcluded = new Set<string>();
  private readonly failures = new WriteFailures((paths) => this.retryWrites(paths));
  /** During a joiner's first copy: the folders found real so far (fsutil.ts WriteOptions.folders). */
  firstCopyFolders: CheckedFolders | undefined;

  constructor(
    private readonly core: MirrorCore,
    private readonly editor: EditorHandover,
    private readonly reader: () => DiskReader,
    /** Files that follow their live text through a binding: written by it, not here. */
    private readonly bindings: DiskBindings,
  ) {}

  /** Writes into the folder that are failing now. */
  failing(): WriteFailure[] {
    return this.failures.list();
  }

  /** Whether writing this path keeps failing (it was never written here: missing is not deleted). */
  isFailing(rel: string): boolean {
    return this.failures.has(rel);
  }

  /** Queues now the writes that were waiting for a burst of text changes to end. */
  flushTexts(): void {
    for (const [rel, t] of this.textTimers) {
      clearTimeout(t);
      this.textTimers.delete(rel);
      const e = this.core.ws.byPath(rel);
      if (e) this.core.enqueue(() => this.writeEntry(e));
    }
  }

  stop(): void {
    for (const t of this.textTimers.values()) clearTimeout(t);
    this.textTimers.clear();
    this.failures.stop();
    this.awaiting.clear();
  }

  scheduleText(e: FileEntry): void {
    if (this.editor.owns(e.path) || this.bindings.has(e.path)) return;
    clearTimeout(this.textTimers.get(e.path));
    this.textTimers.set(
      e.path,
      setTimeout(() => {
        this.textTimers.delete(e.path);
        const current = this.core.ws.byId(e.id);
        if (current) this.core.enqueue(() => this.writeEntry(current));
      }, this.core.options.writeDelayMs ?? 30),
    );
  }

  /**
   * Whether a path from the model may be written here. The model has validated it; here it must
   * also not be one this folder leaves out: a peer must not plant `.git/hooks/…` (run by git) or
   * write into what .gitignore hides.
   */
  writable(rel: string): boolean {
    if (!isSafeRelativePath(rel)) return false;
    if (!this.core.rules.excluded(rel, false)) return true;
    if (!this.refusedExcluded.has(rel)) {
      this.refusedExcluded.add(rel);
      // Git-exact trees (scan.ts): a sharer's git tracks files its .gitignore or node_modules/ would
      // hide, and a clone has them; so only what nobody may write (.git, our state) is refused.
      if (this.core.rules.hardExcluded(rel, false)) this.core.logger.warn(`not writing ${JSON.stringify(rel)} from the session: this folder never takes it`);
      else this.core.logger.info(`writing ${JSON.stringify(rel)} from the session although this folder's rules leave it out (its sharer tracks it in git)`);
    }
    return !this.core.rules.hardExcluded(rel, false);
  }

  /** Whether writing this entry takes its first-state bytes from members (a text nobody edited, not here yet). */
  needsFirstState(e: FileEntry): boolean {
    if (e.kind !== 'text' || this.editor.owns(e.path) || !isSafeRelativePath(e.path) || this.core.rules.hardExcluded(e.path, false)) return false;
    const hash = this.core.ws.firstStateHash(e.id);
    return hash !== undefined && this.core.known.get(e.path)?.hash !== hash;
  }

  /**
   * Writes the model's content of a file, only over what this mirror last saw there (compare-and-swap):
   * if the disk changed meanwhile, its change is merged into the model first and the merge written.
   * `firstCopy`: the joiner's first materialisation (new files are not fsynced, see WriteOptions).
   */
  async writeEntry(e: FileEntry, firstCopy = false): Promise<void> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      if (await this.tryWrite(e, firstCopy)) return;
      const current = this.core.ws.byId(e.id);
      if (!current || current.path !== e.path) return; // moved or removed meanwhile; that event writes
      await this.reader().takeLocalChange(current);
      e = this.core.ws.byId(e.id) ?? current;
    }
    this.core.logger.warn(`${e.path} keeps changing on disk; the session's changes are written after its next change`);
  }

  /** One compare-and-swap write: false if the file no longer holds what this mirror last saw. */
  private async tryWrite(e: FileEntry, firstCopy: boolean): Promise<boolean> {
    if (this.core.closed || this.core.guard.halted || !this.writable(e.path)) return true;
    let bytes: Uint8Array | undefined;
    let text: string | undefined;
    /** Written from a text's first-state bytes (this hash), with no document (§6.1). */
    let firstState: string | undefined;
    if (e.kind === 'text') {
      if (this.editor.owns(e.path) && this.core.known.has(e.path)) return true;
      // Its binding writes it (disk-bindings.ts); a whole write here would be a change its copy never made.
      if (this.bindings.holds(e)) return true;
      firstState = this.core.ws.firstStateHash(e.id);
      if (firstState !== undefined && this.core.known.get(e.path)?.hash === firstState) {
        // Already here (a clone, a rejoin): nothing to fetch or write.
        this.core.ws.textWritten(e.id, firstState);
        return true;
      }
      // Nobody edited it: its bytes, fetched in batches, need no document (the first copy waits
      // for them; later, only bytes already here are used, and the document path waits outside).
      if (firstState !== undefined) bytes = firstCopy ? await this.core.ws.loadTextBytes(e.id) : this.core.ws.heldTextBytes(e.id);
      if (!bytes) {
        firstState = undefined;
        // The first copy waits for each file until nobody can send it; later, the queue never waits.
        const ytext = firstCopy ? await this.core.ws.loadText(e.id) : this.core.ws.loadedText(e.id);
        if (!ytext) {
          this.afterContent(e.id, false, () => this.core.ws.text(e.id));
          return true;
        }
        text = ytext.toString();
        // Already on disk as the mirror last saw it: nothing to write, and no binding to hold (a start
        // checks every file; bound, each would keep its document alive).
        if (knownHolds(this.core.known.get(e.path), text)) return true;
        // Read here as text before: from now on its binding carries it (disk-bindings.ts), from the delta.
        if (!firstCopy && !this.editor.owns(e.path) && (await this.bindings.bind(e, ytext))) return true;
        bytes = Buffer.from(text, 'utf8');
      }
    } else if (e.kind === 'notebook') {
      if (this.editor.owns(e.path) && this.core.known.has(e.path)) return true;
      // Written from the model as Jupyter writes it (ipynb.ts), whoever changed what.
      const model = firstCopy ? await this.core.ws.loadNotebook(e.id) : this.core.ws.loadedNotebook(e.id);
      if (!model) {
        this.afterContent(e.id, false, () => this.core.ws.notebook(e.id));
        return true;
      }
      text = notebookText(model);
      bytes = Buffer.from(text, 'utf8');
    } else {
      if (this.core.known.get(e.path)?.hash === e.hash) return true; // already here (a clone): nothing to fetch
      const here = firstCopy ? await this.core.ws.loadBinary(e.id) : this.core.ws.hasBinary(e.id) ? await this.core.ws.binary(e.id) : undefined;
      if (!here) {
        this.afterContent(e.id, false, () => this.core.ws.binary(e.id));
        return true;
      }
      bytes = here;
    }
    const current = this.core.ws.byId(e.id);
    if (!current || current.path !== e.path) return true; // moved or removed meanwhile; that event writes
    // First-state bytes were checked against their hash on the way in: not hashed again.
    const hash = firstState ?? contentHash(bytes);
    const seen = this.core.known.get(e.path);
    if (seen?.hash === hash) {
      if (firstState === hash) this.core.ws.textWritten(e.id, hash);
      return true;
    }
    try {
      // Without a record nothing is replaced (the write expects an empty path): nothing to keep.
      if (seen) await this.core.options.history?.keep(e.path, 'replaced', seen.hash, hash);
      const folders = firstCopy ? this.firstCopyFolders : undefined;
      const { displaced } = await atomicWrite(this.core.root, e.path, bytes, { syncNewFile: !firstCopy, expect: seen ? { hash: seen.hash, size: seen.size } : null, folders });
      const earlier = earlierTexts(seen);
      // A first state's bytes are its text, kept by the record as they are: no string is made of them.
      const asBytes = firstState !== undefined && text === undefined;
      const now: Known = asBytes && !earlier?.length ? this.core.known.textFromBytes(hash, bytes) : { hash, size: bytes.byteLength, text: asBytes ? textString(bytes) : text, earlier };
      this.core.known.set(e.path, now);
      this.core.written.note(e.path, hash);
      this.wrote(e.path);
      if (firstState === hash) this.core.ws.textWritten(e.id, hash);
      if (displaced) await this.mergeDisplaced(current, seen, displaced, now);
    } catch (err) {
      if (err instanceof WriteConflict) {
        if (err.recreated) await this.mergeDisplaced(current, seen, err.displaced, undefined);
        return false;
      }
      this.writeFailed(e.path, err);
    }
    return true;
  }

  /**
   * Someone wrote the file in the very instant the mirror swapped it (swap.ts): their version
   * (`displaced`, derived from `seen`) was moved aside, not lost, and is merged now like any change
   * on disk. `now`: what the file holds after the swap (ours), or undefined when someone created the
   * path anew in that instant: then the next read merges their file, possibly made from nothing (an
   * append to a file that was briefly missing), so an empty text is one of its candidate bases.
   */
  private async mergeDisplaced(entry: FileEntry, seen: Known | undefined, displaced: Buffer | undefined, now: Known | undefined): Promise<void> {
    if (displaced) {
      this.core.logger.debug(`${entry.path} changed on disk while it was written; that change is merged`);
      if (seen) this.core.known.set(entry.path, seen);
      else this.core.known.delete(entry.path);
      await this.reader().changedOnDisk(entry, displaced);
    }
    const merged = this.core.known.get(entry.path);
    if (now) this.core.known.set(entry.path, { ...now, earlier: earlierTexts(merged) });
    else if (merged?.text !== undefined) this.core.known.set(entry.path, { ...merged, earlier: [...(merged.earlier ?? []), ''] });
    this.scheduleText(entry);
  }

  /**
   * Writes a file once its content arrives from peers, after reading the disk again if it changed
   * meanwhile (so that the edit there is merged, not written over). Waits outside the queue.
   */
  afterContent(id: string, disk: boolean, arrival: () => Promise<unknown>): void {
    const waiting = this.awaiting.get(id);
    if (waiting) {
      waiting.disk ||= disk;
      return;
    }
    this.awaiting.set(id, { disk });
    arrival().then(
      () => {
        const w = this.awaiting.get(id);
        this.awaiting.delete(id);
        const e = this.core.ws.byId(id);
        if (this.core.closed || !w || !e) return;
        if (w.disk) this.core.enqueue(() => this.reader().onDiskBatch([e.path]));
        this.core.enqueue(() => this.writeEntry(e));
      },
      (err: Error) => {
        this.awaiting.delete(id);
        if (!this.core.closed) this.core.logger.warn(`mirror: ${err.message}`);
      },
    );
  }

  async moveEntry(e: FileEntry, oldPath: string): Promise<void> {
    if (this.core.guard.halted) return;
    this.bindings.release(oldPath);
    const old = this.core.known.get(oldPath);
    if (!this.writable(e.path)) {
      if (old) await this.removePath(oldPath); // it left the shared part of the folder
      return;
    }
    try {
      if (old && (await readIfFile(resolveInside(this.core.root, oldPath)))) {
        await moveFile(this.core.root, oldPath, e.path);
        this.core.known.delete(oldPath);
        this.core.known.set(e.path, old);
      }
    } catch (err) {
      this.core.logger.warn(`could not move ${oldPath} to ${e.path}: ${(err as Error).message}`);
    }
    await this.writeEntry(e);
  }

  async removePath(rel: string): Promise<void> {
    // Only files this mirror wrote or read: a path the folder excludes (or never had) is not ours.
    if (this.core.guard.halted || (!this.core.known.has(rel) && !this.writable(rel))) return;
    this.bindings.release(rel);
    const seen = this.core.known.get(rel);
    const abs = resolveInside(this.core.root, rel);
    if (!(await holds(abs, seen ? { hash: seen.hash, size: seen.size } : null))) {
      // Changed here since this mirror last saw it (or never seen): deleting it would lose that work.
      // It stays, and is shared again as a new file. (Unlike a write, a delete still has a window of
      // microseconds between this check and the removal: a write landing there is removed with it.)
      const bytes = await readIfFile(abs);
      if (bytes && !this.core.ws.byPath(rel)) {
        this.core.known.delete(rel);
        this.reader().addFromDisk(rel, bytes);
        this.core.ws.emit('notice', `${rel} was deleted by someone while it changed here; it was kept with the changes made here`);
        return;
      }
    }
    try {
      await this.core.options.history?.keep(rel, 'deleted');
      await removeFile(this.core.root, rel);
      this.core.known.delete(rel);
      this.wrote(rel);
    } catch (err) {
      this.core.logger.error(`refused to remove ${JSON.stringify(rel)}: ${(err as Error).message}`);
    }
  }

  writeFailed(rel: string, err: unknown): void {
    const fresh = this.failures.add(rel, err);
    const failure = this.failures.list().find((f) => f.path === rel)!;
    const line = `could not write ${JSON.stringify(rel)}: ${failure.why} (${(err as Error).message}); retrying`;
    if (!fresh) return this.core.logger.debug(line); // told once; retried every few seconds
    this.core.logger.error(line);
    this.core.events.emit('write-failed', failure);
  }

  wrote(rel: string): void {
    if (this.failures.clear(rel)) this.core.events.emit('write-recovered', rel);
  }

  private retryWrites(paths: string[]): void {
    for (const rel of paths) {
      const e = this.core.ws.byPath(rel);
      if (e) this.core.enqueue(() => this.writeEntry(e));
      else this.failures.clear(rel); // gone from the session: nothing left to write
    }
  }
}
