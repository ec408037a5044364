/**
 * The mirror between the shared workspace and a folder on disk. Disk changes (any tool) become model
 * changes; model changes from peers become atomic writes. Remote paths are validated and checked for
 * symlinks before every write. Files an editor has open are the editor's to write (it saves them).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from '../session/log';
import { silentLogger } from '../session/log';
import type { ChangeOrigin, FileEntry } from './api';
import { asText, MAX_TEXT_BYTES } from './classify';
import { atomicWrite, moveFile, pruneEmptyDirs, readIfFile, removeFile } from './fsutil';
import { contentHash } from './hash';
import { isSafeRelativePath, resolveInside, unsafePathReason } from './paths';
import { CHUNK_SIZE } from './protocol';
import { ExcludeRules, formatSize, scanFolder, type ScanOptions, type ScanReport } from './scan';
import { diffEdits, mapOffset } from './textdiff';
import { FolderWatcher } from './watcher';
import type { SharedWorkspace } from './workspace';

/**
 * Files written at once during a joiner's first copy. Each write is a handful of file-system calls
 * that mostly wait (on libuv's thread pool and the disk); measured on a 2-core machine, 32 at once
 * wrote small files 2.7× faster than 8.
 */
const MATERIALIZE_WRITERS = 32;

export interface MirrorOptions {
  root: string;
  workspace: SharedWorkspace;
  logger?: Logger;
  scan?: ScanOptions;
  /** Milliseconds to coalesce a burst of text changes into one write. */
  writeDelayMs?: number;
}

export interface Progress {
  files: number;
  totalFiles: number;
  bytes: number;
  totalBytes: number;
}

export class Mirror {
  readonly root: string;
  private readonly ws: SharedWorkspace;
  private readonly logger: Logger;
  /** What this mirror last read from or wrote to each path: a write it made is not a change. */
  private readonly known = new Map<string, { hash: string; text?: string }>();
  private readonly editorOwned = new Set<string>();
  /** Renames of open files that the editor carries out, by new path (see handOverMove). */
  private readonly editorMoves = new Map<string, { oldPath: string; known?: { hash: string; text?: string } }>();
  /** Paths from the session this folder excludes (logged once each). */
  private readonly refusedExcluded = new Set<string>();
  /** Paths on disk left unshared at runtime (logged once each). */
  private readonly warned = new Set<string>();
  private readonly textTimers = new Map<string, NodeJS.Timeout>();
  private rules: ExcludeRules;
  private watcher: FolderWatcher | undefined;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly detach: Array<() => void> = [];

  constructor(private readonly options: MirrorOptions) {
    this.root = path.resolve(options.root);
    this.ws = options.workspace;
    this.logger = options.logger ?? silentLogger;
    this.rules = new ExcludeRules(options.scan?.excludes);
    this.ws.setChunkReader((hash) => this.readChunk(hash));
  }

  /** Puts every shareable file of the folder into the model. Returns what was left out, and why. */
  async share(): Promise<ScanReport> {
    const { report, rules } = await scanFolder(this.root, this.options.scan);
    this.rules = rules;
    for (const f of report.files) {
      if (this.ws.byPath(f.rel)) continue;
      const bytes = await readIfFile(resolveInside(this.root, f.rel));
      if (bytes) this.addFromDisk(f.rel, bytes);
    }
    return report;
  }

  /** Writes every file of the model to disk (a joiner's first sync), reporting progress. */
  async materialize(onProgress?: (p: Progress) => void, signal?: AbortSignal): Promise<Progress> {
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
    await Promise.all(Array.from({ length: MATERIALIZE_WRITERS }, worker));
    if (signal?.aborted) throw new Error('cancelled');
    return progress;
  }

  /**
   * Starts following both directions: disk → model and model → disk. Reads the folder's .gitignore
   * files first (a joiner has just received them), so that what the folder ignores stays unshared.
   */
  async start(): Promise<void> {
    await this.rules.loadAll(this.root);
    const on = <K extends Parameters<SharedWorkspace['on']>[0]>(event: K, fn: Parameters<SharedWorkspace['on']>[1]) => {
      this.ws.on(event, fn as never);
      this.detach.push(() => this.ws.off(event, fn as never));
    };
    on('file-added', ((e: FileEntry, o: ChangeOrigin) => o !== 'disk' && this.enqueue(() => this.writeEntry(e))) as never);
    on('binary-changed', ((e: FileEntry, o: ChangeOrigin) => o !== 'disk' && this.enqueue(() => this.writeEntry(e))) as never);
    on('text-changed', ((e: FileEntry, o: ChangeOrigin) => o !== 'disk' && this.scheduleText(e)) as never);
    on('file-renamed', ((e: FileEntry, old: string, o: ChangeOrigin) => o !== 'disk' && !this.handOverMove(old, e.path) && this.enqueue(() => this.moveEntry(e, old))) as never);
    on('file-removed', ((e: FileEntry, o: ChangeOrigin) => o !== 'disk' && this.enqueue(() => this.removeEntry(e))) as never);
    this.watcher = new FolderWatcher(
      this.root,
      (paths) => this.enqueue(() => this.onDiskBatch(paths)),
      this.logger,
      (rel) => this.rules.excluded(rel, true),
    );
    this.watcher.start();
    // What changed between the first sync and now: files that arrived or changed (writeEntry skips
    // what is already on disk), and files written earlier that left the index or moved meanwhile.
    for (const e of this.ws.files()) this.enqueue(() => this.writeEntry(e));
    for (const rel of this.known.keys()) {
      if (!this.ws.byPath(rel)) this.enqueue(() => this.removePath(rel));
    }
  }

  /** An editor has this file open and writes it itself; the mirror leaves its content alone. */
  setEditorOwned(rel: string, owned: boolean): void {
    if (owned) {
      this.editorOwned.add(rel);
      return;
    }
    this.editorOwned.delete(rel);
    // Closed without saving, the disk may lag the shared text: the mirror owns the file again.
    const e = this.ws.byPath(rel);
    if (e) this.enqueue(() => this.writeEntry(e));
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
    this.known.set(rel, { hash: contentHash(Buffer.from(text, 'utf8')), text });
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
    this.detach.forEach((off) => off());
  }

  // ---------------------------------------------------------------- model → disk

  private enqueue(job: () => Promise<void>): void {
    this.queue = this.queue.then(job).catch((err: Error) => this.logger.warn(`mirror: ${err.message}`));
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

  /** `firstCopy`: the joiner's first materialisation (new files are not fsynced, see WriteOptions). */
  private async writeEntry(e: FileEntry, firstCopy = false): Promise<void> {
    if (this.closed || !this.writable(e.path)) return;
    let bytes: Uint8Array;
    let text: string | undefined;
    if (e.kind === 'text') {
      if (this.editorOwned.has(e.path) && this.known.has(e.path)) return;
      text = (await this.ws.text(e.id)).toString();
      bytes = Buffer.from(text, 'utf8');
    } else {
      bytes = await this.ws.binary(e.id);
    }
    const current = this.ws.byId(e.id);
    if (!current || current.path !== e.path) return; // moved or removed meanwhile; that event writes
    const hash = contentHash(bytes);
    if (this.known.get(e.path)?.hash === hash) return;
    try {
      await atomicWrite(this.root, e.path, bytes, { syncNewFile: !firstCopy });
      this.known.set(e.path, { hash, text });
    } catch (err) {
      this.logger.error(`refused to write ${JSON.stringify(e.path)}: ${(err as Error).message}`);
    }
  }

  private async moveEntry(e: FileEntry, oldPath: string): Promise<void> {
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
    if (!this.known.has(rel) && !this.writable(rel)) return;
    try {
      await removeFile(this.root, rel);
      this.known.delete(rel);
    } catch (err) {
      this.logger.error(`refused to remove ${JSON.stringify(rel)}: ${(err as Error).message}`);
    }
  }

  // ---------------------------------------------------------------- disk → model

  private async onDiskBatch(paths: string[]): Promise<void> {
    if (this.closed) return;
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
        if (entry) gone.push(entry);
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
      this.known.set(rel, { hash, text });
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
      this.known.set(entry.path, { hash, text });
      return;
    }
    if (entry.kind === 'text' && text !== undefined) {
      // Not loaded yet (a joiner still fetching): wait for it rather than lose the disk's edit.
      const ytext = this.ws.loadedText(entry.id) ?? (await this.ws.text(entry.id));
      if (this.ws.byId(entry.id)?.path !== entry.path) return; // moved meanwhile; the next batch sees it
      const shared = ytext.toString();
      const base = known?.text ?? shared;
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
      this.known.set(entry.path, { hash, text });
      if (ytext.toString() !== text) this.scheduleText(entry); // bring the peers' edits to disk too
    } else if (entry.kind === 'binary') {
      this.ws.updateBinary(entry.id, bytes, 'disk');
      this.known.set(entry.path, { hash });
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
