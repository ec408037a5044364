/**
 * The mirror between the shared workspace and a folder on disk. Disk changes (any tool) become model
 * changes; model changes from peers become atomic writes. Remote paths are validated and checked for
 * symlinks before every write. Files an editor has open are the editor's to write (it saves them).
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from '../session/log';
import { silentLogger } from '../session/log';
import type { ChangeOrigin, FileEntry } from './api';
import { asText, MAX_TEXT_BYTES } from './classify';
import { keepBesideAsNew, keepRemoteBinary, mergeBase } from './disk-merge';
import { KnownFiles, type Known } from './disk-state';
import { atomicWrite, holds, moveFile, pruneEmptyDirs, readIfFile, removeFile, WriteConflict } from './fsutil';
import { FolderGuard, type Halt } from './folder-guard';
import { contentHash } from './hash';
import type { FileHistory } from './history';
import { isSafeRelativePath, resolveInside, unsafePathReason } from './paths';
import { CHUNK_SIZE } from './protocol';
import { ExcludeRules, formatSize, leaveOut, scanFolder, type ScanOptions, type ScanReport } from './scan';
import { diffEdits, mapOffset } from './textdiff';
import { FolderWatcher } from './watcher';
import type { SharedWorkspace } from './workspace';
import { WriteFailures, type WriteFailure } from './write-failures';

/**
 * Files written at once during a joiner's first copy. Each write is a handful of file-system calls
 * that mostly wait (on libuv's thread pool and the disk); measured on a 2-core machine, 32 at once
 * wrote small files 2.7× faster than 8.
 */
const MATERIALIZE_WRITERS = 32;

/**
 * Tries to write one remote change over a file that keeps changing on disk. Each refused try merges
 * the disk's change first; after this many the write waits for the watcher's next report of the file.
 */
const WRITE_ATTEMPTS = 8;

export interface MirrorOptions {
  root: string;
  workspace: SharedWorkspace;
  logger?: Logger;
  scan?: ScanOptions;
  /** Milliseconds to coalesce a burst of text changes into one write. */
  writeDelayMs?: number;
  /** What this folder held when last in sync (a DiskRecord's map, kept across restarts). */
  known?: KnownFiles;
  /** Where what remote changes replace or delete is kept first (none: not kept). */
  history?: FileHistory;
}

export interface MirrorEvents {
  /** The mirror stopped sharing from its folder (see folder-guard.ts); nothing was deleted elsewhere. */
  halted: [halt: Halt];
  /** It follows its folder again, after the deletes were confirmed or the files written back. */
  resumed: [how: 'confirmed' | 'restored'];
  /** A write into the folder failed (told once per file until it succeeds); it is retried. */
  'write-failed': [failure: WriteFailure];
  /** A file that could not be written now is. */
  'write-recovered': [path: string];
}

export interface MaterializeResult extends Progress {
  /** Files that could not be written (they are retried while the mirror runs). */
  failed: WriteFailure[];
}

export interface Progress {
  files: number;
  totalFiles: number;
  bytes: number;
  totalBytes: number;
}

export class Mirror extends EventEmitter<MirrorEvents> {
  readonly root: string;
  private readonly ws: SharedWorkspace;
  private readonly logger: Logger;
  /** What this mirror last read from or wrote to each path: a write it made is not a change. */
  private readonly known: KnownFiles;
  private readonly editorOwned = new Set<string>();
  /** Renames of open files that the editor carries out, by new path (see handOverMove). */
  private readonly editorMoves = new Map<string, { oldPath: string; known?: Known }>();
  /** Paths from the session this folder excludes (logged once each). */
  private readonly refusedExcluded = new Set<string>();
  /** Paths on disk left unshared at runtime (logged once each). */
  private readonly warned = new Set<string>();
  private readonly textTimers = new Map<string, NodeJS.Timeout>();
  /**
   * Contents not here yet that a write or a disk change waits for, outside the queue: one file that
   * cannot arrive must not hold up every other. `disk`: the file changed on disk meanwhile.
   */
  private readonly awaiting = new Map<string, { disk: boolean }>();
  private rules: ExcludeRules;
  private watcher: FolderWatcher | undefined;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  /** Joined into a folder with files: they are read once more when the watcher starts. */
  private resumed = false;
  private readonly detach: Array<() => void> = [];
  private readonly guard: FolderGuard;
  private readonly failures = new WriteFailures((paths) => this.retryWrites(paths));

  constructor(private readonly options: MirrorOptions) {
    super();
    this.root = path.resolve(options.root);
    this.ws = options.workspace;
    this.logger = options.logger ?? silentLogger;
    this.known = options.known ?? new KnownFiles();
    this.rules = new ExcludeRules(options.scan?.excludes);
    this.guard = new FolderGuard(this.root);
    this.ws.setChunkReader((hash) => this.readChunk(hash));
  }

  /** Puts every shareable file of the folder into the model. Returns what was left out, and why. */
  async share(): Promise<ScanReport> {
    const { report, rules } = await scanFolder(this.root, this.options.scan);
    this.rules = rules;
    for (const f of [...report.files]) {
      if (this.ws.byPath(f.rel)) continue;
      const bytes = await readIfFile(resolveInside(this.root, f.rel));
      if (bytes) this.addFromDisk(f.rel, bytes);
      else leaveOut(report, f, 'it could not be read');
    }
    return report;
  }

  /**
   * Joining into a folder that has files (restarting into it, or with --force): what changed here
   * since the folder was last in sync (`known`, from the record kept across restarts) goes into the
   * session before anything is written. Edited files merge (texts three-way; a binary's local version
   * wins and the session's is kept beside it); files deleted here leave the session only if it still
   * has the version deleted; new files join; unchanged files take the session's version afterwards.
   */
  async resume(): Promise<void> {
    this.resumed = true;
    const { report, rules } = await scanFolder(this.root, this.options.scan);
    this.rules = rules;
    const paths = new Set([...report.files.map((f) => f.rel), ...this.known.keys()]);
    for (const rel of paths) {
      if (this.closed) return;
      if (this.rules.excluded(rel, false) || !isSafeRelativePath(rel)) continue;
      const bytes = await readIfFile(resolveInside(this.root, rel));
      const seen = this.known.get(rel);
      const entry = this.ws.byPath(rel);
      if (bytes && seen?.hash === contentHash(bytes)) {
        // Unchanged here: the session's version follows, unless it never received this one (a binary
        // replaced and recorded here just before the peer stopped): then this one wins.
        if (entry?.kind === 'binary' && entry.hash !== seen.hash && !this.ws.hadVersion(entry.id, seen.hash)) {
          await this.keepRemoteVersion(entry);
          this.ws.updateBinary(entry.id, bytes, 'disk');
        }
        continue;
      }
      if (!bytes) {
        if (!seen) continue;
        this.known.delete(rel);
        if (entry && (await this.sessionHash(entry)) === seen.hash) this.ws.remove(entry.id, 'disk');
        else if (entry) this.ws.emit('notice', `${rel} was deleted here while the session changed it; it comes back with those changes`);
        continue;
      }
      if (!entry) {
        if (this.withinCaps(rel, bytes.byteLength)) this.addFromDisk(rel, bytes);
      } else if (!seen) {
        keepBesideAsNew(this.ws, rel, bytes, this.logger);
        this.known.set(rel, { hash: contentHash(bytes), size: bytes.byteLength });
      } else {
        await this.takeLocalChange(entry);
      }
    }
  }

  private async sessionHash(entry: FileEntry): Promise<string> {
    if (entry.kind === 'binary') return entry.hash;
    return contentHash(Buffer.from((await this.ws.text(entry.id)).toString(), 'utf8'));
  }

  /** Writes every file of the model to disk (a joiner's first sync), reporting progress. */
  async materialize(onProgress?: (p: Progress) => void, signal?: AbortSignal): Promise<MaterializeResult> {
    const entries = this.ws.files();
    const progress: Progress = { files: 0, totalFiles: entries.length, bytes: 0, totalBytes: entries.reduce((n, e) => n + e.size, 0) };
    onProgress?.({ ...progress });
    let next = 0;
    const worker = async () => {
      while (next < entries.length && !signal?.aborted && !this.closed) {
        const e = entries[next++];
        await this.writeEntry(e, true);
        progress.files++;
        progress.bytes += e.size;
        onProgress?.({ ...progress });
      }
    };
    // Cancelling does not wait for texts still on their way: the caller closes everything.
    let onAbort = () => {};
    const cancelled = new Promise<void>((resolve) => signal?.addEventListener('abort', (onAbort = () => resolve()), { once: true }));
    try {
      await Promise.race([Promise.all(Array.from({ length: MATERIALIZE_WRITERS }, worker)), cancelled]);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (signal?.aborted) throw new Error('cancelled');
    return { ...progress, failed: this.failures.list() };
  }

  /** Writes into the folder that are failing now (retried every few seconds and on every change). */
  writeFailures(): WriteFailure[] {
    return this.failures.list();
  }

  /** Why the mirror stopped sharing from its folder, while it is stopped. */
  get halted(): Halt | undefined {
    return this.guard.halted;
  }

  /**
   * Starts following both directions: disk → model and model → disk. Reads the folder's .gitignore
   * files first (a joiner has just received them), so that what the folder ignores stays unshared.
   */
  async start(): Promise<void> {
    await this.rules.loadAll(this.root);
    await this.guard.remember();
    const on = <K extends Parameters<SharedWorkspace['on']>[0]>(event: K, fn: Parameters<SharedWorkspace['on']>[1]) => {
      this.ws.on(event, fn as never);
      this.detach.push(() => this.ws.off(event, fn as never));
    };
    on('file-added', ((e: FileEntry, o: ChangeOrigin) => o !== 'disk' && this.enqueue(() => this.writeEntry(e))) as never);
    on('binary-changed', ((e: FileEntry, o: ChangeOrigin) => o !== 'disk' && this.enqueue(() => this.writeEntry(e))) as never);
    on('text-changed', ((e: FileEntry, o: ChangeOrigin) => o !== 'disk' && this.scheduleText(e)) as never);
    on('file-renamed', ((e: FileEntry, old: string, o: ChangeOrigin) => o !== 'disk' && !this.handOverMove(old, e.path) && this.enqueue(() => this.moveEntry(e, old))) as never);
    on('file-removed', ((e: FileEntry, o: ChangeOrigin) => o !== 'disk' && this.enqueue(() => this.removeEntry(e))) as never);
    this.watch();
    // What changed between the first sync and now: files that arrived or changed (writeEntry skips
    // what is already on disk), and files written earlier that left the index or moved meanwhile.
    for (const e of this.ws.files()) this.enqueue(() => this.writeEntry(e));
    for (const rel of this.known.keys()) {
      if (!this.ws.byPath(rel)) this.enqueue(() => this.removePath(rel));
    }
    // Edits made while joining, after the folder was read and before the watcher started.
    if (this.resumed) {
      this.enqueue(async () => {
        const { report } = await scanFolder(this.root, this.options.scan);
        await this.onDiskBatch([...new Set([...report.files.map((f) => f.rel), ...this.known.keys()])]);
      });
    }
  }

  /** An editor has this file open and writes it itself; the mirror leaves its content alone. */
  setEditorOwned(rel: string, owned: boolean): void {
    if (owned) {
      this.editorOwned.add(rel);
      return;
    }
    this.editorOwned.delete(rel);
    // Closed without saving, the disk may lag the shared text: the mirror owns the file again. Unless
    // the file left the disk (VS Code closes a document it has just moved or deleted): the watcher's
    // report says whether that was a rename or a delete, and writing it back first would bring the
    // old name back beside the renamed file (issue 11, item 2).
    const e = this.ws.byPath(rel);
    if (e) {
      this.enqueue(async () => {
        if (!(await this.vanished(rel))) await this.writeEntry(e);
      });
    }
  }

  /** A file this mirror saw on disk that is gone now (its removal not yet handled). */
  private async vanished(rel: string): Promise<boolean> {
    return this.known.has(rel) && !(await readIfFile(resolveInside(this.root, rel)));
  }

  /**
   * A file an editor has open is moved by the editor (so that its tab, unsaved text and history
   * follow): the mirror records the file under its new path at once (a disk event for it is then no
   * change, and nothing writes the new path meanwhile) and waits for `editorMoveDone`.
   */
  private handOverMove(oldPath: string, newPath: string): boolean {
    if (!this.editorOwned.has(oldPath) || this.editorOwned.has(newPath)) return false;
    const known = this.known.get(oldPath);
    this.known.delete(oldPath);
    if (known) this.known.set(newPath, known);
    this.editorOwned.add(newPath);
    this.editorMoves.set(newPath, { oldPath, known });
    return true;
  }

  /**
   * An editor is about to create this file on disk with `text` (a buffer bringing back a deleted
   * file): the mirror must not write it first, or the editor's save would meet a file it has not seen.
   */
  expectEditorWrite(rel: string, text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    this.known.set(rel, { hash: contentHash(bytes), size: bytes.byteLength, text });
  }

  /** Whether the mirror left moving this file on disk to the editor that has it open. */
  isEditorMove(oldPath: string, newPath: string): boolean {
    return this.editorMoves.get(newPath)?.oldPath === oldPath;
  }

  /**
   * The editor moved the file (`moved`), or could not: then the mirror moves it itself. Either way
   * the folder the file left is removed if it is now empty (a folder rename).
   */
  editorMoveDone(oldPath: string, newPath: string, moved: boolean): void {
    const move = this.editorMoves.get(newPath);
    if (move?.oldPath !== oldPath) return;
    this.editorMoves.delete(newPath);
    this.enqueue(async () => {
      if (!moved) {
        this.editorOwned.delete(newPath);
        const entry = this.ws.byPath(newPath);
        if (move.known) this.known.set(oldPath, move.known);
        this.known.delete(newPath);
        if (entry) await this.moveEntry(entry, oldPath);
      }
      await pruneEmptyDirs(this.root, path.dirname(resolveInside(this.root, oldPath)));
    });
  }

  /** Resolves when every write and disk change seen so far has been handled. */
  async idle(): Promise<void> {
    for (const [rel, t] of this.textTimers) {
      clearTimeout(t);
      this.textTimers.delete(rel);
      const e = this.ws.byPath(rel);
      if (e) this.enqueue(() => this.writeEntry(e));
    }
    let q: Promise<void>;
    do {
      q = this.queue;
      await q;
    } while (q !== this.queue);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.watcher?.close();
    await this.idle().catch(() => {});
    this.closed = true;
    this.failures.stop();
    this.awaiting.clear();
    this.detach.forEach((off) => off());
  }

  // ---------------------------------------------------------------- model → disk

  private enqueue(job: () => Promise<void>): void {
    this.queue = this.queue.then(job).catch((err: Error) => this.logger.warn(`mirror: ${err.message}`));
  }

  /** Runs a job in the queue (after every write and disk change before it) and returns its result. */
  private run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.queue.then(job);
    this.queue = result.then(
      () => {},
      () => {},
    );
    return result;
  }

  private watch(): void {
    this.watcher?.close();
    this.watcher = new FolderWatcher(
      this.root,
      (paths) => this.enqueue(() => this.onDiskBatch(paths)),
      this.logger,
      (rel) => this.rules.excluded(rel, true),
    );
    this.watcher.start();
  }

  private scheduleText(e: FileEntry): void {
    if (this.editorOwned.has(e.path)) return;
    clearTimeout(this.textTimers.get(e.path));
    this.textTimers.set(
      e.path,
      setTimeout(() => {
        this.textTimers.delete(e.path);
        const current = this.ws.byId(e.id);
        if (current) this.enqueue(() => this.writeEntry(current));
      }, this.options.writeDelayMs ?? 30),
    );
  }

  /**
   * Whether a path from the model may be written here. The model has validated it; here it must
   * also not be one this folder leaves out: a peer must not plant `.git/hooks/…` (run by git) or
   * write into what .gitignore hides.
   */
  private writable(rel: string): boolean {
    if (!isSafeRelativePath(rel)) return false;
    if (!this.rules.excluded(rel, false)) return true;
    if (!this.refusedExcluded.has(rel)) {
      this.refusedExcluded.add(rel);
      this.logger.warn(`not writing ${JSON.stringify(rel)} from the session: this folder excludes it`);
    }
    return false;
  }

  /**
   * Writes the model's content of a file, only over what this mirror last saw there (compare-and-swap):
   * if the disk changed meanwhile, its change is merged into the model first and the merge written.
   * `firstCopy`: the joiner's first materialisation (new files are not fsynced, see WriteOptions).
   */
  private async writeEntry(e: FileEntry, firstCopy = false): Promise<void> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      if (await this.tryWrite(e, firstCopy)) return;
      const current = this.ws.byId(e.id);
      if (!current || current.path !== e.path) return; // moved or removed meanwhile; that event writes
      await this.takeLocalChange(current);
      e = this.ws.byId(e.id) ?? current;
    }
    this.logger.warn(`${e.path} keeps changing on disk; the session's changes are written after its next change`);
  }

  /** One compare-and-swap write: false if the file no longer holds what this mirror last saw. */
  private async tryWrite(e: FileEntry, firstCopy: boolean): Promise<boolean> {
    if (this.closed || this.guard.halted || !this.writable(e.path)) return true;
    let bytes: Uint8Array;
    let text: string | undefined;
    if (e.kind === 'text') {
      if (this.editorOwned.has(e.path) && this.known.has(e.path)) return true;
      // The first copy waits for each file until nobody can send it; later, the queue never waits.
      const ytext = firstCopy ? await this.ws.loadText(e.id) : this.ws.loadedText(e.id);
      if (!ytext) {
        this.afterContent(e.id, false, () => this.ws.text(e.id));
        return true;
      }
      text = ytext.toString();
      bytes = Buffer.from(text, 'utf8');
    } else {
      const here = firstCopy ? await this.ws.loadBinary(e.id) : this.ws.hasBinary(e.id) ? await this.ws.binary(e.id) : undefined;
      if (!here) {
        this.afterContent(e.id, false, () => this.ws.binary(e.id));
        return true;
      }
      bytes = here;
    }
    const current = this.ws.byId(e.id);
    if (!current || current.path !== e.path) return true; // moved or removed meanwhile; that event writes
    const hash = contentHash(bytes);
    const seen = this.known.get(e.path);
    if (seen?.hash === hash) return true;
    try {
      await this.options.history?.keep(e.path, 'replaced', seen?.hash, hash);
      await atomicWrite(this.root, e.path, bytes, { syncNewFile: !firstCopy, expect: seen ? { hash: seen.hash, size: seen.size } : null });
      this.known.set(e.path, { hash, size: bytes.byteLength, text, before: seen?.text });
      this.wrote(e.path);
    } catch (err) {
      if (err instanceof WriteConflict) return false;
      this.writeFailed(e.path, err);
    }
    return true;
  }

  /** A write was refused because the file changed on disk: bring that change into the model first. */
  private async takeLocalChange(entry: FileEntry): Promise<void> {
    const bytes = await readIfFile(resolveInside(this.root, entry.path));
    const seen = this.known.get(entry.path);
    if (!bytes) {
      // Removed here while a change to it arrived: the change wins, as an edit wins over a
      // concurrent delete (docs/PROTOCOL.md §6.4), and the file comes back.
      this.known.delete(entry.path);
      this.ws.emit('notice', `${entry.path} was deleted here while someone changed it; it comes back with their changes`);
      return;
    }
    const hash = contentHash(bytes);
    if (seen?.hash === hash) return; // changed back meanwhile
    if (!seen) {
      // A file this mirror never saw (created meanwhile, or there before a join): its bytes are kept
      // as a new file beside it, then the session's version takes the path.
      const copy = keepBesideAsNew(this.ws, entry.path, bytes, this.logger);
      if (copy) this.enqueue(() => this.writeEntry(copy));
      this.known.set(entry.path, { hash, size: bytes.byteLength });
      return;
    }
    // Replaced here and remotely: the local version wins as a new version, the remote one is kept.
    if (entry.kind === 'binary' && entry.hash !== seen.hash && entry.hash !== hash) await this.keepRemoteVersion(entry);
    await this.changedOnDisk(entry, bytes);
  }

  private async keepRemoteVersion(entry: FileEntry): Promise<void> {
    const copy = await keepRemoteBinary(this.ws, entry, this.logger);
    if (copy) this.enqueue(() => this.writeEntry(copy));
  }

  /**
   * Writes a file once its content arrives from peers, after reading the disk again if it changed
   * meanwhile (so that the edit there is merged, not written over). Waits outside the queue.
   */
  private afterContent(id: string, disk: boolean, arrival: () => Promise<unknown>): void {
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
        const e = this.ws.byId(id);
        if (this.closed || !w || !e) return;
        if (w.disk) this.enqueue(() => this.onDiskBatch([e.path]));
        this.enqueue(() => this.writeEntry(e));
      },
      (err: Error) => {
        this.awaiting.delete(id);
        if (!this.closed) this.logger.warn(`mirror: ${err.message}`);
      },
    );
  }

  private async moveEntry(e: FileEntry, oldPath: string): Promise<void> {
    if (this.guard.halted) return;
    const old = this.known.get(oldPath);
    if (!this.writable(e.path)) {
      if (old) await this.removePath(oldPath); // it left the shared part of the folder
      return;
    }
    try {
      if (old && (await readIfFile(resolveInside(this.root, oldPath)))) {
        await moveFile(this.root, oldPath, e.path);
        this.known.delete(oldPath);
        this.known.set(e.path, old);
      }
    } catch (err) {
      this.logger.warn(`could not move ${oldPath} to ${e.path}: ${(err as Error).message}`);
    }
    await this.writeEntry(e);
  }

  private async removeEntry(e: FileEntry): Promise<void> {
    await this.removePath(e.path);
  }

  private async removePath(rel: string): Promise<void> {
    // Only files this mirror wrote or read: a path the folder excludes (or never had) is not ours.
    if (this.guard.halted || (!this.known.has(rel) && !this.writable(rel))) return;
    const seen = this.known.get(rel);
    const abs = resolveInside(this.root, rel);
    if (!(await holds(abs, seen ? { hash: seen.hash, size: seen.size } : null))) {
      // Changed here since this mirror last saw it (or never seen): deleting it would lose that work.
      // It stays, and is shared again as a new file. (The same small window as atomicWrite's remains.)
      const bytes = await readIfFile(abs);
      if (bytes && !this.ws.byPath(rel)) {
        this.known.delete(rel);
        this.addFromDisk(rel, bytes);
        this.ws.emit('notice', `${rel} was deleted by someone while it changed here; it was kept with the changes made here`);
        return;
      }
    }
    try {
      await this.options.history?.keep(rel, 'deleted');
      await removeFile(this.root, rel);
      this.known.delete(rel);
      this.wrote(rel);
    } catch (err) {
      this.logger.error(`refused to remove ${JSON.stringify(rel)}: ${(err as Error).message}`);
    }
  }

  private writeFailed(rel: string, err: unknown): void {
    const fresh = this.failures.add(rel, err);
    const failure = this.failures.list().find((f) => f.path === rel)!;
    const line = `could not write ${JSON.stringify(rel)}: ${failure.why} (${(err as Error).message}); retrying`;
    if (!fresh) return this.logger.debug(line); // told once; retried every few seconds
    this.logger.error(line);
    this.emit('write-failed', failure);
  }

  private wrote(rel: string): void {
    if (this.failures.clear(rel)) this.emit('write-recovered', rel);
  }

  private retryWrites(paths: string[]): void {
    for (const rel of paths) {
      const e = this.ws.byPath(rel);
      if (e) this.enqueue(() => this.writeEntry(e));
      else this.failures.clear(rel); // gone from the session: nothing left to write
    }
  }

  // ---------------------------------------------------------------- mass deletes

  /**
   * The deletes the mirror held back are meant: they are propagated to every peer, and the mirror
   * follows its folder again (made anew if it was deleted). Returns how many files were deleted.
   */
  confirmMassDelete(): Promise<number> {
    return this.run(async () => {
      const halt = await this.guard.clear();
      if (!halt) return 0;
      let removed = 0;
      for (const rel of halt.paths) {
        const e = this.ws.byPath(rel);
        if (!e || (await readIfFile(path.join(this.root, rel)))) continue;
        this.known.delete(rel);
        this.ws.remove(e.id, 'disk');
        removed++;
      }
      this.logger.warn(`deleted ${removed} files on every peer, as confirmed`);
      await this.followAgain('confirmed');
      return removed;
    });
  }

  /** The deletes the mirror held back were a mistake: their files are written back from the session. */
  restoreMassDelete(): Promise<number> {
    return this.run(async () => {
      const halt = await this.guard.clear();
      if (!halt) return 0;
      for (const rel of halt.paths) this.known.delete(rel); // absent now: written again below
      await this.followAgain('restored');
      return halt.paths.filter((rel) => this.ws.byPath(rel)).length;
    });
  }

  private halt(halt: Halt): void {
    this.logger.error(halt.message);
    this.emit('halted', halt);
  }

  /** Follows the folder again: what changed on disk while stopped is shared, then the session's state written. */
  private async followAgain(how: 'confirmed' | 'restored'): Promise<void> {
    await fs.mkdir(this.root, { recursive: true });
    await this.guard.remember();
    await this.rules.loadAll(this.root);
    this.watch();
    // Only files this mirror knew or that are on disk: a file the session gained while stopped is
    // not on disk yet, and that is not a delete.
    const { report } = await scanFolder(this.root, this.options.scan);
    const paths = new Set([...report.files.map((f) => f.rel), ...this.known.keys()]);
    await this.onDiskBatch([...paths]);
    if (this.guard.halted) return;
    for (const e of this.ws.files()) await this.writeEntry(e);
    this.emit('resumed', how);
  }

  // ---------------------------------------------------------------- disk → model

  private async onDiskBatch(paths: string[]): Promise<void> {
    if (this.closed || this.guard.halted) return;
    // A path may be a directory that appeared or vanished (git checkout, mv): expand it.
    const files = new Set<string>();
    for (const rel of paths) {
      const abs = path.join(this.root, rel);
      const st = await fs.lstat(abs).catch(() => undefined);
      if (st?.isDirectory()) {
        const { report } = await scanFolder(abs, this.options.scan);
        for (const f of report.files) files.add(`${rel}/${f.rel}`);
      } else files.add(rel);
      for (const e of this.ws.files()) if (e.path.startsWith(rel + '/')) files.add(e.path);
    }
    // A .gitignore that changed changes what is shared from now on (files already shared stay).
    for (const rel of files) {
      if (rel === '.gitignore' || rel.endsWith('/.gitignore')) {
        const dir = rel.slice(0, Math.max(0, rel.length - '/.gitignore'.length));
        await this.rules.loadGitignore(path.join(this.root, dir), dir);
      }
    }
    const gone: FileEntry[] = [];
    const appeared: Array<{ rel: string; bytes: Buffer }> = [];
    for (const rel of files) {
      if (this.rules.excluded(rel, false)) continue;
      if (this.editorMoves.has(rel)) continue; // the editor is moving it here: missing is not deleted
      const unsafe = unsafePathReason(rel);
      if (unsafe) {
        this.warnOnce(rel, `${JSON.stringify(rel)} is not shared: its name cannot be shared safely on every platform: ${unsafe}`);
        continue;
      }
      const bytes = await readIfFile(path.join(this.root, rel));
      const entry = this.ws.byPath(rel);
      if (!bytes) {
        // Never written here because its write keeps failing (a folder was in its way, say): missing
        // is not deleted, and the retry writes it.
        if (entry && (this.known.has(rel) || !this.failures.has(rel))) gone.push(entry);
        continue;
      }
      if (!entry && !this.withinCaps(rel, bytes.byteLength)) continue;
      if (entry && bytes.byteLength > (this.options.scan?.maxFileBytes ?? Infinity)) {
        this.logger.warn(`${rel} grew over the ${formatSize(this.options.scan!.maxFileBytes!)} limit per file; its last shared version stays`);
        continue;
      }
      if (!entry) appeared.push({ rel, bytes });
      else await this.changedOnDisk(entry, bytes);
    }
    // A file that vanished and one that appeared with the same content: a rename (keeps its history).
    for (const a of appeared) {
      const hash = contentHash(a.bytes);
      // Or with the shared text: an editor saved just before moving it, and the save is in this batch.
      let decoded: { text: string | undefined } | undefined;
      const text = () => (decoded ??= { text: asText(a.bytes) }).text;
      const i = gone.findIndex(
        (g) => this.known.get(g.path)?.hash === hash || (g.kind === 'text' && this.ws.loadedText(g.id)?.toString() === text()),
      );
      if (i >= 0) {
        const [moved] = gone.splice(i, 1);
        const k = this.known.get(moved.path)!;
        this.known.delete(moved.path);
        this.known.set(a.rel, k);
        this.ws.rename(moved.id, a.rel, 'disk');
      } else {
        this.addFromDisk(a.rel, a.bytes);
      }
    }
    const halt = gone.length > 0 ? await this.guard.check(gone.map((g) => g.path), this.ws.files().length) : undefined;
    if (halt) return this.halt(halt);
    for (const g of gone) {
      this.known.delete(g.path);
      this.ws.remove(g.id, 'disk');
    }
  }

  /** A new file from disk fits the caps every peer enforces (over them, peers would cut us off). */
  private withinCaps(rel: string, size: number): boolean {
    const scan = this.options.scan ?? {};
    const files = this.ws.files();
    let why: string | undefined;
    if (size > (scan.maxFileBytes ?? Infinity)) why = `larger than the ${formatSize(scan.maxFileBytes!)} limit per file`;
    else if (files.length >= (scan.maxFiles ?? Infinity)) why = `over the limit of ${scan.maxFiles} files`;
    else if (files.reduce((n, e) => n + e.size, 0) + size > (scan.maxTotalBytes ?? Infinity)) {
      why = `over the ${formatSize(scan.maxTotalBytes!)} limit for the workspace`;
    }
    if (why) this.warnOnce(rel, `${JSON.stringify(rel)} is not shared: ${why}`);
    return why === undefined;
  }

  private warnOnce(rel: string, message: string): void {
    if (this.warned.has(rel)) return;
    this.warned.add(rel);
    this.logger.warn(message);
  }

  private addFromDisk(rel: string, bytes: Buffer): void {
    const text = asText(bytes, MAX_TEXT_BYTES);
    const hash = contentHash(bytes);
    try {
      if (text !== undefined) this.ws.createText(rel, text, 'disk');
      else this.ws.createBinary(rel, bytes, 'disk');
      this.known.set(rel, { hash, size: bytes.byteLength, text });
    } catch (err) {
      this.logger.warn(`not shared: ${(err as Error).message}`);
    }
  }

  private async changedOnDisk(entry: FileEntry, bytes: Buffer): Promise<void> {
    const hash = contentHash(bytes);
    const known = this.known.get(entry.path);
    if (known?.hash === hash) return; // our own write, or no change
    const text = entry.kind === 'text' ? asText(bytes) : undefined;
    if (text !== undefined && (this.editorOwned.has(entry.path) || text === this.ws.loadedText(entry.id)?.toString())) {
      // An editor saved its buffer (which is bound to the shared text), or the disk caught up:
      // nothing new. An open file changed by another tool is reloaded by the editor, whose binding
      // then carries the change.
      this.known.set(entry.path, { hash, size: bytes.byteLength, text });
      return;
    }
    if (entry.kind === 'text' && text !== undefined) {
      // Not loaded yet (a joiner still fetching): the disk's edit is merged once it is here.
      const ytext = this.ws.loadedText(entry.id);
      if (!ytext) return this.afterContent(entry.id, true, () => this.ws.text(entry.id));
      const shared = ytext.toString();
      // A restore undoing exactly what just arrived is deliberate, not a stale tool's write-back.
      const restored = await this.options.history?.wasRestored(entry.path, hash);
      const base = (restored ? known?.text : mergeBase(known, text)) ?? shared;
      // Three-way: apply what changed on disk since we last saw it onto the shared text, mapping
      // offsets across the peers' edits that have not reached the disk yet.
      const local = diffEdits(base, text);
      const pending = diffEdits(base, shared);
      ytext.doc!.transact(() => {
        for (const e of [...local].sort((a, b) => b.offset - a.offset)) {
          const start = mapOffset(pending, e.offset);
          const end = mapOffset(pending, e.offset + e.deleteCount);
          if (end > start) ytext.delete(start, end - start);
          if (e.insert) ytext.insert(start, e.insert);
        }
      }, 'disk');
      this.known.set(entry.path, { hash, size: bytes.byteLength, text });
      if (ytext.toString() !== text) this.scheduleText(entry); // bring the peers' edits to disk too
    } else if (entry.kind === 'binary') {
      this.ws.updateBinary(entry.id, bytes, 'disk');
      this.known.set(entry.path, { hash, size: bytes.byteLength });
    } else {
      // A text file that is no longer text: it becomes a binary file of the same name.
      this.ws.remove(entry.id, 'disk');
      this.known.delete(entry.path);
      queueMicrotask(() => this.addFromDisk(entry.path, bytes));
    }
  }

  /** Serves a peer's chunk request from the file on disk, if the file still has that content. */
  private async readChunk(hash: string): Promise<Uint8Array | undefined> {
    for (const e of this.ws.filesWithChunk(hash)) {
      const content = this.ws.content(e.id);
      const i = content?.chunks.indexOf(hash) ?? -1;
      if (i < 0) continue;
      const handle = await fs.open(resolveInside(this.root, e.path), 'r').catch(() => undefined);
      if (!handle) continue;
      try {
        const buf = Buffer.alloc(Math.max(0, Math.min(CHUNK_SIZE, e.size - i * CHUNK_SIZE)));
        await handle.read(buf, 0, buf.length, i * CHUNK_SIZE);
        if (contentHash(buf) === hash) return buf;
      } finally {
        await handle.close();
      }
    }
    return undefined;
  }
}
