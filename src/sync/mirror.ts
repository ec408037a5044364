/**
 * The mirror between the shared workspace and a folder on disk. Disk changes (any tool) become model
 * changes; model changes from peers become atomic writes. Remote paths are validated and checked for
 * symlinks before every write. Files an editor has open are the editor's to write (it saves them).
 */
import { TypedEmitter } from '../session/events';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { DisposableStore, listen, toDisposable } from '../session/disposable';
import type { Logger } from '../session/log';
import { silentLogger } from '../session/log';
import type { ChangeOrigin, FileCounts, FileEntry, WorkspaceEvents } from './api';
import { DiskBindings } from './disk-bindings';
import { readChunk, readText } from './disk-sources';
import { DiskIntake } from './disk-intake';
import { KnownFiles } from './disk-state';
import { DiskWriter } from './disk-writer';
import { EditorHandover } from './editor-handover';
import { readIfFile } from './fsutil';
import { FolderGuard, type Halt } from './folder-guard';
import { MirrorCore, type MirrorEvents, type MirrorOptions } from './mirror-core';
import { takeRestart } from './restart-intake';
import { ExcludeRules, scanFolder, type ScanReport } from './scan';
import { baseCapacity, nextBase } from './index-bases';
import { shareBatch, type ShareTarget } from './share-files';
import { forEachSliced, Slicer } from './slicer';
import { CheckedFolders } from './first-copy';
import { TreeMirror } from './tree-mirror';
import { FolderWatcher } from './watcher';
import type { SharedWorkspace } from './workspace';
import type { WriteFailure } from './write-failures';

export type { MirrorEvents, MirrorOptions } from './mirror-core';

/**
 * Files written at once during a joiner's first copy. Each write is a handful of file-system calls
 * that mostly wait (on libuv's thread pool and the disk); measured on a 2-core machine, 32 at once
 * wrote small files 2.7× faster than 8.
 */
const MATERIALIZE_WRITERS = 32;

export interface MaterializeResult extends Progress {
  /** Files that could not be written (they are retried while the mirror runs). */
  failed: WriteFailure[];
}

/** Files written to disk out of how many. */
export type Progress = FileCounts;

export class Mirror extends TypedEmitter<MirrorEvents> {
  readonly root: string;
  private readonly ws: SharedWorkspace;
  private readonly logger: Logger;
  private readonly known: KnownFiles;
  private readonly guard: FolderGuard;
  private readonly core: MirrorCore;
  private readonly editor: EditorHandover;
  private readonly writer: DiskWriter;
  private readonly intake: DiskIntake;
  /** Files that follow their live shared text through the one buffer binding (disk-bindings.ts). */
  private readonly bindings: DiskBindings;
  /** Symbolic links and empty folders (the index's `tree` map). */
  private readonly tree: TreeMirror;
  private watcher: FolderWatcher | undefined;
  /** Joined into a folder with files: they are read once more when the watcher starts. */
  private resumed = false;
  /** The workspace's listeners, removed on close. */
  private readonly subscriptions = new DisposableStore();

  constructor(private readonly options: MirrorOptions) {
    super();
    this.root = path.resolve(options.root);
    this.ws = options.workspace;
    this.logger = options.logger ?? silentLogger;
    this.known = options.known ?? new KnownFiles();
    this.guard = new FolderGuard(this.root);
    this.core = new MirrorCore(this.root, this.ws, this.logger, this.known, options, this.guard, this, new ExcludeRules(options.scan?.excludes));
    this.bindings = new DiskBindings(this.core, { writeFailed: (rel, err) => this.writer.writeFailed(rel, err), wrote: (rel) => this.writer.wrote(rel) });
    this.editor = new EditorHandover(this.core, () => ({
      moveEntry: (e, old) => this.writer.moveEntry(e, old),
      handBack: (e) => this.intake.handBack(e),
      release: (rel) => this.bindings.release(rel),
    }));
    this.writer = new DiskWriter(this.core, this.editor, () => this.intake, this.bindings);
    this.intake = new DiskIntake(this.core, this.editor, this.writer, (halt) => this.halt(halt), this.bindings);
    this.tree = new TreeMirror(this.core, options.knownTree ?? new Map(), (rel) => {
      const e = this.ws.byPath(rel);
      if (e) this.enqueue(() => this.writer.writeEntry(e));
    }, (e, old) => this.writer.moveEntry(e, old));
    this.ws.setChunkReader((hash) => readChunk(this.root, this.ws, hash));
    this.ws.setTextSource((id) => readText(this.root, this.ws, this.known, id), { writesFirstStates: true });
  }

  /**
   * Puts every shareable file of the folder into the model, batch by batch as the scan finds them
   * (share-files.ts): the session may already be open. Returns what was left out, and why.
   */
  async share(): Promise<ScanReport> {
    const target: ShareTarget = {
      root: this.root,
      ws: this.ws,
      addFromDisk: (rel, bytes, hash) => this.intake.addFromDisk(rel, bytes, true, hash),
      addTextsAsBase: (files) => this.intake.addTextsAsBase(files),
      nextBaseCapacity: () => baseCapacity(nextBase(this.ws.index).k),
      isClosed: () => this.core.closed,
    };
    const { report, rules } = await scanFolder(this.root, { ...this.options.scan, onFiles: (batch, r, read) => shareBatch(target, batch, r, read) });
    this.core.rules = rules;
    this.tree.share(report.links, report.folders);
    return report;
  }

  /**
   * Joining into a folder that has files (restarting into it, or with --force): what changed here
   * since the folder was last in sync goes into the session before anything is written (restart-intake.ts).
   * `scanned`: the folder's scan made for the join already (local-texts.ts), not walked again.
   */
  async resume(scanned?: { report: ScanReport; rules: ExcludeRules }): Promise<void> {
    this.resumed = true;
    const { report, rules } = scanned ?? (await scanFolder(this.root, this.options.scan));
    this.core.rules = rules;
    await this.tree.resume(report.links, report.folders);
    const halt = await takeRestart(this.core, this.intake, report.files);
    if (halt) this.halt(halt);
  }

  /**
   * Writes every file of the model to disk (a joiner's first sync), or those `entries` (the ones that
   * arrived since, while the sharer still reads its folder), reporting progress.
   */
  async materialize(onProgress?: (p: Progress) => void, signal?: AbortSignal, entries = this.ws.files()): Promise<MaterializeResult> {
    const progress: Progress = { files: 0, totalFiles: entries.length, bytes: 0, totalBytes: entries.reduce((n, e) => n + e.size, 0) };
    onProgress?.({ ...progress });
    // Texts nobody edited that are not here yet are fetched ahead, many per message, as the writers go
    // (looked up a slice at a time: a third of a second at 30,000 entries; a writer ahead asks itself).
    const prefetching = this.prefetch(entries);
    let next = 0;
    // A file already here (a clone) is settled without a turn of the event loop: 30,000 of them
    // were one stall of 0.2 s.
    const slicer = new Slicer();
    const worker = async () => {
      while (next < entries.length && !signal?.aborted && !this.core.closed) {
        const e = entries[next++];
        await slicer.maybeYield();
        await this.writer.writeEntry(e, true);
        progress.files++;
        progress.bytes += e.size;
        onProgress?.({ ...progress });
      }
    };
    // Cancelling does not wait for texts still on their way: the caller closes everything.
    let onAbort = () => {};
    const cancelled = new Promise<void>((resolve) => signal?.addEventListener('abort', (onAbort = () => resolve()), { once: true }));
    // One path check per folder for the first copy, all its rounds (links from the session are made
    // only after it, in start(), which ends this).
    this.writer.firstCopyFolders ??= new CheckedFolders();
    try {
      await Promise.race([Promise.all([prefetching, ...Array.from({ length: MATERIALIZE_WRITERS }, worker)]), cancelled]);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (signal?.aborted) throw new Error('cancelled');
    return { ...progress, failed: this.writer.failing() };
  }

  private async prefetch(entries: readonly FileEntry[]): Promise<void> {
    const slicer = new Slicer();
    let ids: string[] = [];
    for (const e of entries) {
      if (this.core.closed) return;
      if (this.writer.needsFirstState(e)) ids.push(e.id);
      if (!slicer.spent()) continue;
      this.ws.prefetchTextBytes(ids);
      ids = [];
      await slicer.yield();
    }
    this.ws.prefetchTextBytes(ids);
  }

  /** Writes into the folder that are failing now (retried every few seconds and on every change). */
  writeFailures(): WriteFailure[] {
    return this.writer.failing();
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
    this.writer.firstCopyFolders = undefined;
    await this.core.rules.loadAll(this.root);
    await this.guard.remember();
    const on = <K extends keyof WorkspaceEvents & string>(event: K, fn: (...args: WorkspaceEvents[K]) => void) => this.subscriptions.add(listen(this.ws, event, fn));
    on('file-added', (e: FileEntry, o: ChangeOrigin) => o !== 'disk' && this.enqueue(() => this.writer.writeEntry(e)));
    on('binary-changed', (e: FileEntry, o: ChangeOrigin) => o !== 'disk' && this.enqueue(() => this.writer.writeEntry(e)));
    on('text-changed', (e: FileEntry, o: ChangeOrigin) => o !== 'disk' && this.writer.scheduleText(e));
    // A file that moves or leaves is let go of at once: its copy's next write, already queued, would
    // bring the old path back (an editor or a tool may have moved the file on disk already).
    on('file-renamed', (_e: FileEntry, old: string) => this.bindings.release(old));
    on('file-removed', (e: FileEntry) => this.bindings.release(e.path));
    on('file-renamed', (e: FileEntry, old: string, o: ChangeOrigin) => o !== 'disk' && !this.handOverMove(old, e.path) && this.enqueue(() => this.writer.moveEntry(e, old)));
    on('file-removed', (e: FileEntry, o: ChangeOrigin) => o !== 'disk' && this.enqueue(() => this.writer.removePath(e.path)));
    // After the file's own write or removal (queued above): a link or folder may wait for its path.
    on('file-removed', (e: FileEntry, o: ChangeOrigin) => o !== 'disk' && this.tree.reapply([e.path]));
    on('file-renamed', (_e: FileEntry, old: string, o: ChangeOrigin) => o !== 'disk' && this.tree.reapply([old]));
    this.subscriptions.add(toDisposable(this.tree.tree.observe((paths, o) => o !== 'disk' && this.tree.reapply(paths))));
    await this.watch();
    // What changed between the first sync and now: files that arrived or changed (writeEntry skips
    // what is already on disk), and files written earlier that left the index or moved meanwhile.
    this.enqueueEach(this.ws.files(), (e) => this.writer.writeEntry(e));
    this.tree.applyAll();
    this.enqueueEach([...this.known.keys()], async (rel) => {
      if (!this.ws.byPath(rel)) await this.writer.removePath(rel);
    });
    // Edits made while joining, after the folder was read and before the watcher started.
    if (this.resumed) {
      this.enqueue(async () => {
        const { report } = await scanFolder(this.root, this.options.scan);
        // A file whose hash (the scan cache's, or read again if it changed) is the one last synced
        // would be passed over by the intake anyway (changedOnDisk): not read a second time.
        // A slice of the event loop at a time: 30,000 files looked up at once held it for ~60 ms.
        const changed = new Set<string>();
        const onDisk = new Set<string>();
        await forEachSliced(report.files, (f) => {
          onDisk.add(f.rel);
          if (f.hash === undefined || this.known.get(f.rel)?.hash !== f.hash || !this.ws.byPath(f.rel)) changed.add(f.rel);
        });
        await forEachSliced([...this.known.keys()], (rel) => {
          if (!onDisk.has(rel)) changed.add(rel); // vanished
        });
        await this.intake.onDiskBatch([...changed]);
      });
    }
  }

  /** An editor has this file open and writes it itself; the mirror leaves its content alone. */
  setEditorOwned(rel: string, owned: boolean): void {
    this.editor.setOwned(rel, owned);
  }

  /**
   * A file an editor has open is moved by the editor (so that its tab, unsaved text and history
   * follow): the mirror waits for `editorMoveDone` (see EditorHandover).
   */
  private handOverMove(oldPath: string, newPath: string): boolean {
    return this.editor.handOverMove(oldPath, newPath);
  }

  /**
   * An editor is about to create this file on disk with `text` (a buffer bringing back a deleted
   * file): the mirror must not write it first, or the editor's save would meet a file it has not seen.
   */
  expectEditorWrite(rel: string, text: string): void {
    this.editor.expectWrite(rel, text);
  }

  /** VS Code is about to move this file or folder (EditorHandover.announceMove). */
  announceMove(from: string, to: string): void {
    this.editor.announceMove(from, to);
  }

  /** The editor writes and removes a file at this path, which is not shared: the mirror ignores it. */
  leaveAlone(rel: string, on: boolean): void {
    this.editor.leaveAlone(rel, on);
  }

  /** Whether the mirror wrote this content (by hash) to this path lately. */
  wroteLately(rel: string, hash: string): boolean {
    return this.core.written.has(rel, hash);
  }

  /** Whether the mirror left moving this file on disk to the editor that has it open. */
  isEditorMove(oldPath: string, newPath: string): boolean {
    return this.editor.isMove(oldPath, newPath);
  }

  /** The editor moved the file (`moved`), or could not: then the mirror moves it itself. */
  editorMoveDone(oldPath: string, newPath: string, moved: boolean): void {
    this.editor.moveDone(oldPath, newPath, moved);
  }

  /**
   * An editor is about to bind this file's text: the mirror's binding lets go of it first (a text
   * has one binding at a time), and the editor owns the file from then on (setEditorOwned).
   */
  handToEditor(rel: string): void {
    this.bindings.release(rel);
  }

  /**
   * An editor that has this file open saved `text` into it (a copy of the shared text): recorded as
   * what the file holds, if it still does, so that when the editor lets go nothing there is taken for
   * someone's edit (a save not read yet, merged three-way against a shared text that moved on since,
   * came in twice).
   */
  editorSaved(rel: string, text: string): void {
    this.editor.saved(rel, text);
  }

  /** How often a file the mirror follows disagreed with its shared text and was merged (DiskBindings.repairs). */
  get repairs(): number {
    return this.bindings.repairs;
  }

  /**
   * Resolves when every write and disk change seen so far has been handled, and every file the mirror
   * follows holds its shared text (but for files whose writes fail: they are retried, and told).
   */
  async idle(): Promise<void> {
    do {
      this.writer.flushTexts();
      await this.core.drained();
      await this.bindings.whenSettled();
    } while (this.core.busy);
  }

  async close(): Promise<void> {
    if (this.core.closed) return;
    this.watcher?.close();
    await this.idle().catch(() => {});
    this.core.closed = true;
    this.bindings.releaseAll();
    this.writer.stop();
    this.subscriptions.dispose();
  }

  // ---------------------------------------------------------------- model → disk

  private enqueue(job: () => Promise<void>): void {
    this.core.enqueue(job);
  }

  private enqueueEach<T>(items: readonly T[], job: (item: T) => Promise<void>): void {
    this.core.enqueueEach(items, job);
  }

  private run<T>(job: () => Promise<T>): Promise<T> {
    return this.core.run(job);
  }

  private async watch(): Promise<void> {
    this.watcher?.close();
    this.watcher = new FolderWatcher(
      this.root,
      (paths) => this.enqueue(() => this.onDiskBatch(paths)),
      this.logger,
      (rel) => this.core.rules.excluded(rel, true),
    );
    await this.watcher.start();
  }

  /** Links and folders that stopped being one leave first, files change, then new links and folders join. */
  private async onDiskBatch(paths: string[]): Promise<void> {
    await this.tree.beforeFiles(paths);
    await this.intake.onDiskBatch(this.tree.withoutOwn(paths));
    await this.tree.afterFiles(paths);
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
    this.bindings.releaseAll(); // nothing is written while halted; bound again when it follows again
    this.logger.error(halt.message);
    this.emit('halted', halt);
  }

  /** Follows the folder again: what changed on disk while stopped is shared, then the session's state written. */
  private async followAgain(how: 'confirmed' | 'restored'): Promise<void> {
    await fs.mkdir(this.root, { recursive: true });
    await this.guard.remember();
    await this.core.rules.loadAll(this.root);
    await this.watch();
    // Only files this mirror knew or that are on disk: a file the session gained while stopped is
    // not on disk yet, and that is not a delete.
    const { report } = await scanFolder(this.root, this.options.scan);
    const paths = new Set([...report.files.map((f) => f.rel), ...this.known.keys()]);
    await this.intake.onDiskBatch([...paths]);
    if (this.guard.halted) return;
    for (const e of this.ws.files()) await this.writer.writeEntry(e);
    this.tree.applyAll();
    this.emit('resumed', how);
  }
}
