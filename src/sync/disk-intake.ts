/**
 * The disk mirror's reading side: changes made in the folder by anything (an editor, git, a build
 * tool) become changes of the session. A text edited on disk is merged three-way into the shared
 * text (from the version the disk's writer read, see mergeBase, across the peers' edits since);
 * new files join, deleted ones leave (unless a mass delete halts the mirror, folder-guard.ts), a
 * vanished file and a new one with its content are a rename.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { FileEntry } from './api';
import type { DiskBindings } from './disk-bindings';
import { asText, MAX_TEXT_BYTES } from './classify';
import { earlierTexts, keepBesideAsNew, keepRemoteBinary } from './disk-merge';
import { DiskTextMerge } from './disk-text-merge';
import type { DiskReader, DiskWriter } from './disk-writer';
import type { EditorHandover } from './editor-handover';
import type { Halt } from './folder-guard';
import { readIfFile } from './fsutil';
import { contentHash, prehash } from './hash';
import { CHUNK_SIZE } from './protocol';
import type { MirrorCore } from './mirror-core';
import { resolveInside, unsafePathReason } from './paths';
import { formatSize, scanFolder } from './scan';
import { QuickIo } from './quick-io';
import { holdsCells, takeNotebookFromDisk } from './notebook/disk';
import { isNotebookPath, notebookText, readNotebook } from './notebook/first-state';

export class DiskIntake implements DiskReader {
  /** Paths on disk left unshared at runtime (logged once each). */
  private readonly warned = new Set<string>();
  private readonly textMerge: DiskTextMerge;

  constructor(
    private readonly core: MirrorCore,
    private readonly editor: EditorHandover,
    private readonly writer: DiskWriter,
    /** A batch deleted too much at once: the mirror stops following its folder. */
    private readonly onHalt: (halt: Halt) => void,
    /** Files that follow their live text through a binding: their changes go through it. */
    private readonly bindings: DiskBindings,
  ) {
    this.textMerge = new DiskTextMerge(core, writer);
  }

  /**
   * `again`: paths looked at once already in an earlier batch, which found a file this mirror knew
   * at a path whose entry had just left it (see below): taken as they are now, whatever that is.
   */
  async onDiskBatch(paths: string[], again = false): Promise<void> {
    if (this.core.closed || this.core.guard.halted) return;
    const later: string[] = [];
    // A git checkout reports thousands of paths: looked at and read synchronously, in slices.
    const io = new QuickIo();
    // A path may be a directory that appeared or vanished (git checkout, mv): expand it.
    const files = new Set<string>();
    let shared: string[] | undefined;
    for (const rel of paths) {
      const abs = path.join(this.core.root, rel);
      const st = await io.lstat(abs).catch(() => undefined);
      if (st?.isDirectory()) {
        // Only the list is wanted (each file is read below): no hashing into the folder's scan cache
        // (nor rewriting it), and no `git` process where the folder is no git work tree. A new
        // folder is on the way of every new file in it, on the creator's disk and on every other.
        const git = this.core.rules.inGitTree ? undefined : false;
        const { report } = await scanFolder(abs, { ...this.core.options.scan, cache: undefined, onFiles: undefined, git });
        for (const f of report.files) files.add(`${rel}/${f.rel}`);
      } else files.add(rel);
      // The session's files under it (a folder that vanished). A large batch (a whole tree, after a
      // join) looks them up in one sorted list: a walk over every file per path was quadratic. Most
      // paths are files, which hold none (a walk over 100,000 files each: 10–15 ms).
      if (!this.core.ws.hasFilesIn(rel)) continue;
      if (paths.length < 16) {
        for (const e of this.core.ws.files()) if (e.path.startsWith(rel + '/')) files.add(e.path);
        continue;
      }
      shared ??= this.core.ws.files().map((e) => e.path).sort();
      for (let i = firstAtOrAfter(shared, rel + '/'); i < shared.length && shared[i].startsWith(rel + '/'); i++) files.add(shared[i]);
    }
    // A .gitignore that changed changes what is shared from now on (files already shared stay).
    for (const rel of files) {
      if (rel === '.gitignore' || rel.endsWith('/.gitignore')) {
        const dir = rel.slice(0, Math.max(0, rel.length - '/.gitignore'.length));
        await this.core.rules.loadGitignore(path.join(this.core.root, dir), dir);
      }
    }
    const gone: FileEntry[] = [];
    const appeared: Array<{ rel: string; bytes: Buffer }> = [];
    for (const rel of files) {
      if (this.core.rules.excluded(rel, false) && (!this.core.ws.byPath(rel) || this.core.rules.hardExcluded(rel, false))) continue;
      if (this.editor.movingTo(rel)) continue; // the editor is moving it here: missing is not deleted
      if (this.editor.isLeftAlone(rel) && !this.core.ws.byPath(rel)) continue; // the editor's, outside the session
      const unsafe = unsafePathReason(rel);
      if (unsafe) {
        this.warnOnce(rel, `${JSON.stringify(rel)} is not shared: its name cannot be shared safely on every platform: ${unsafe}`);
        continue;
      }
      const bytes = await io.readIfFile(path.join(this.core.root, rel));
      // A large file's hashes (its own, and its chunks' if it is to be shared as a binary) worked out a
      // slice at a time, not in one go below: a call's frames wait behind anything that holds the loop.
      if (bytes) await prehash(bytes, CHUNK_SIZE);
      const entry = this.core.ws.byPath(rel);
      if (!bytes) {
        // Never written here because its write keeps failing (a folder was in its way, say): missing
        // is not deleted, and the retry writes it. Nor is a link or folder where a file never written
        // here is to go: the session is about to replace it (tree-mirror.ts), or the write waits.
        if (entry && !this.core.known.has(rel) && (await fs.lstat(path.join(this.core.root, rel)).catch(() => undefined))) continue;
        // Only a file that was here can be deleted here: one still on its way (its new folder was
        // made by the first file of it written, and reported with all its paths) was deleted by no one.
        if (entry && this.core.known.has(rel)) gone.push(entry);
        continue;
      }
      if (!entry && !again && this.core.known.has(rel)) {
        // The file this mirror last saw here, whose entry a member has just renamed or deleted: the
        // move or removal is queued behind this batch. Looked at again after it: taken now, a report
        // of this mirror's own last write (the watcher's, late) was shared as a new file beside the
        // renamed one.
        later.push(rel);
        continue;
      }
      if (!entry && !this.withinCaps(rel, bytes.byteLength)) continue;
      if (entry && bytes.byteLength > (this.core.options.scan?.maxFileBytes ?? Infinity)) {
        this.core.logger.warn(`${rel} grew over the ${formatSize(this.core.options.scan!.maxFileBytes!)} limit per file; its last shared version stays`);
        continue;
      }
      if (!entry) appeared.push({ rel, bytes });
      else await this.changedOnDisk(entry, bytes);
    }
    await this.otherHalvesOfMoves(files, gone, appeared);
    // A file that vanished and one that appeared with the same content: a rename (keeps its history).
    for (const a of appeared) {
      const hash = contentHash(a.bytes);
      // Or with the shared text: an editor saved just before moving it, and the save is in this batch
      // (a notebook: the shared cells, as VS Code writes them in a form of its own).
      let decoded: { text: string | undefined } | undefined;
      const text = () => (decoded ??= { text: asText(a.bytes) }).text;
      // Or VS Code said it moves the one to the other, whatever each holds (EditorHandover.announceMove).
      const byContent = (g: FileEntry) => this.core.known.get(g.path)?.hash === hash || (g.kind !== 'binary' && this.sharedText(g) === text()) || this.sameCells(g, text());
      const announced = gone.findIndex((g) => g.path === this.editor.announcedSource(a.rel));
      const i = announced >= 0 ? announced : gone.findIndex(byContent);
      if (i >= 0) {
        const [moved] = gone.splice(i, 1);
        this.bindings.release(moved.path);
        const k = this.core.known.get(moved.path)!;
        this.core.known.delete(moved.path);
        this.core.known.set(a.rel, k);
        this.core.ws.rename(moved.id, a.rel, 'disk');
        // Moved with other content than this mirror last saw (an editor's save in the same report):
        // a change of the moved file, taken as any other.
        const entry = this.core.ws.byPath(a.rel);
        if (entry && k.hash !== hash) await this.changedOnDisk(entry, a.bytes);
      } else {
        this.addFromDisk(a.rel, a.bytes);
      }
    }
    if (later.length) this.core.enqueue(() => this.onDiskBatch(later, true));
    const halt = gone.length > 0 ? await this.core.guard.check(gone.map((g) => g.path), this.core.ws.files().length) : undefined;
    if (halt) return this.onHalt(halt);
    for (const g of gone) {
      this.bindings.release(g.path);
      this.core.known.delete(g.path);
      this.core.ws.remove(g.id, 'disk');
    }
  }

  /**
   * A move VS Code announced whose two halves the watcher reported apart: the other half is looked
   * up now, so that the pair is a rename, not a delete and a new file (EditorHandover.announceMove).
   */
  private async otherHalvesOfMoves(files: Set<string>, gone: FileEntry[], appeared: Array<{ rel: string; bytes: Buffer }>): Promise<void> {
    for (const g of gone) {
      const to = this.editor.announcedTarget(g.path);
      if (to === undefined || files.has(to) || this.core.ws.byPath(to) || unsafePathReason(to)) continue;
      const bytes = await readIfFile(path.join(this.core.root, to));
      if (bytes) appeared.push({ rel: to, bytes });
    }
    for (const a of appeared) {
      const from = this.editor.announcedSource(a.rel);
      const entry = from === undefined || files.has(from) ? undefined : this.core.ws.byPath(from);
      if (!entry || !this.core.known.has(entry.path) || gone.includes(entry)) continue;
      if (!(await readIfFile(path.join(this.core.root, entry.path)))) gone.push(entry);
    }
  }

  /** Whether a vanished notebook's shared cells are what `text` holds (holdsCells). */
  private sameCells(e: FileEntry, text: string | undefined): boolean {
    const model = e.kind === 'notebook' && text !== undefined ? this.core.ws.loadedNotebook(e.id) : undefined;
    return model !== undefined && holdsCells(text!, model);
  }

  /** What a text or notebook holds now as a file's text, if loaded here. */
  private sharedText(e: FileEntry): string | undefined {
    if (e.kind === 'text') return this.core.ws.loadedText(e.id)?.toString();
    const model = e.kind === 'notebook' ? this.core.ws.loadedNotebook(e.id) : undefined;
    return model && notebookText(model);
  }

  /** A new file from disk fits the caps every peer enforces (over them, peers would cut us off). */
  withinCaps(rel: string, size: number): boolean {
    const scan = this.core.options.scan ?? {};
    const files = this.core.ws.files();
    let why: string | undefined;
    if (size > (scan.maxFileBytes ?? Infinity)) why = `larger than the ${formatSize(scan.maxFileBytes!)} limit per file`;
    else if (files.length >= (scan.maxFiles ?? Infinity)) why = `over the limit of ${scan.maxFiles} files`;
    // Counted as the peers' total cap counts (§6.2): live binaries. A text's index size is the one at
    // its creation (§6.1), no measure of what it holds now.
    else if (files.reduce((n, e) => n + (e.kind === 'binary' ? e.size : 0), 0) + size > (scan.maxTotalBytes ?? Infinity)) {
      why = `over the ${formatSize(scan.maxTotalBytes!)} limit for the workspace`;
    }
    if (why) this.warnOnce(rel, `${JSON.stringify(rel)} is not shared: ${why}`);
    return why === undefined;
  }

  private warnOnce(rel: string, message: string): void {
    if (this.warned.has(rel)) return;
    this.warned.add(rel);
    this.core.logger.warn(message);
  }

  /**
   * `lazy`: at share, a text stays as bytes (this file) until someone needs its document (§6.1,
   * version 2); a file that appears later goes whole to the members first, as they all want it.
   * `hashed`: the hash of these very bytes, when the caller has it (the start's scan).
   */
  addFromDisk(rel: string, bytes: Buffer, lazy = false, hashed?: string): void {
    const text = asText(bytes, MAX_TEXT_BYTES);
    const hash = hashed ?? contentHash(bytes);
    const notebook = text !== undefined && isNotebookPath(rel) ? readNotebook(text) : undefined;
    try {
      if (notebook && lazy) this.core.ws.createLazyNotebook(rel, bytes.byteLength, hash, 'disk');
      else if (notebook) this.core.ws.createNotebook(rel, notebook, bytes.byteLength, hash, 'disk');
      else if (text !== undefined && lazy) this.core.ws.createLazyText(rel, bytes.byteLength, hash, 'disk');
      else if (text !== undefined) this.core.ws.createText(rel, text, 'disk');
      else this.core.ws.createBinary(rel, bytes, 'disk');
      this.core.known.set(rel, { hash, size: bytes.byteLength, text });
    } catch (err) {
      this.core.logger.warn(`not shared: ${(err as Error).message}`);
    }
  }

  /**
   * A start's texts (not notebooks), held as bytes, as one index base (index-bases.ts); false, and
   * nothing shared, when the index can take no base of them (the caller adds them one by one).
   */
  addTextsAsBase(files: ReadonlyArray<{ rel: string; bytes: Buffer; hash: string }>): boolean {
    const made = this.core.ws.createLazyTextsAsBase(files.map((f) => ({ path: f.rel, size: f.bytes.byteLength, hash: f.hash })), 'disk');
    if (!made) return false;
    for (const f of files) this.core.known.set(f.rel, this.core.known.textFromBytes(f.hash, f.bytes));
    return true;
  }

  async changedOnDisk(entry: FileEntry, bytes: Buffer): Promise<void> {
    const hash = contentHash(bytes);
    const known = this.core.known.get(entry.path);
    if (known?.hash === hash) return; // our own write, or no change
    if (entry.kind === 'notebook') return this.notebookChanged(entry, bytes);
    const save = entry.kind === 'text' ? this.editor.lastSave(entry.path, hash) : undefined;
    if (save) {
      // The editor's save (its buffer, bound to the shared text), read once the editor may have let
      // go: nothing new. Taken for an edit, text it typed came in again where the shared text had moved on.
      this.core.known.set(entry.path, { ...save, earlier: earlierTexts(known) });
      if (!this.editor.owns(entry.path)) this.writer.scheduleText(entry);
      return;
    }
    const text = entry.kind === 'text' ? asText(bytes) : undefined;
    if (text === undefined) this.bindings.release(entry.path); // no longer a text: handled below
    const ytext = text === undefined || this.editor.owns(entry.path) ? undefined : this.core.ws.loadedText(entry.id);
    // Read here as text before: the change is one of the file's copy, merged by its binding
    // (disk-bindings.ts) over what the file has not received yet.
    const copy = ytext && (await this.bindings.bind(entry, ytext, { bytes }));
    if (copy) {
      await copy.takeNow(bytes);
      return;
    }
    if (text !== undefined && (this.editor.owns(entry.path) || text === this.core.ws.loadedText(entry.id)?.toString())) {
      // An editor saved its buffer (which is bound to the shared text), or the disk caught up:
      // nothing new. An open file changed by another tool is reloaded by the editor, whose binding
      // then carries the change.
      this.core.known.set(entry.path, { hash, size: bytes.byteLength, text });
      return;
    }
    if (entry.kind === 'text' && text !== undefined) {
      await this.textMerge.take(entry, bytes, text);
    } else if (entry.kind === 'binary') {
      this.core.ws.updateBinary(entry.id, bytes, 'disk');
      this.core.known.set(entry.path, { hash, size: bytes.byteLength });
    } else {
      // A text file that is no longer text: it becomes a binary file of the same name.
      this.core.ws.remove(entry.id, 'disk');
      this.core.known.delete(entry.path);
      queueMicrotask(() => this.addFromDisk(entry.path, bytes));
    }
  }

  /**
   * A file an editor had open until now (`setOwned(…, false)`) is bound to its text again. The file
   * holds the editor's last save (a copy of the shared text: nothing new, even if not read yet), or a
   * change some tool made since, merged three-way first (disk-text-merge.ts).
   */
  async handBack(entry: FileEntry): Promise<void> {
    const ytext = entry.kind === 'text' ? this.core.ws.loadedText(entry.id) : undefined;
    const bytes = ytext && (await readIfFile(resolveInside(this.core.root, entry.path)));
    const text = bytes && asText(bytes);
    if (!ytext || !bytes || text === undefined || this.editor.owns(entry.path)) return this.writer.writeEntry(entry);
    const hash = contentHash(bytes);
    const save = this.editor.lastSave(entry.path, hash);
    if (save) this.core.known.set(entry.path, { ...save, earlier: earlierTexts(this.core.known.get(entry.path)) });
    const known = this.core.known.get(entry.path);
    // Never seen here: writeEntry keeps it beside as a new file before the shared text takes the path.
    if (known && known.hash !== hash) {
      if (text === ytext.toString()) this.core.known.set(entry.path, { hash, size: bytes.byteLength, text, earlier: earlierTexts(known) });
      else await this.textMerge.merge(entry, ytext, bytes, text);
    }
    await this.writer.writeEntry(entry);
  }

  /** A notebook changed on disk: the change goes into its model (notebook/disk.ts). */
  private notebookChanged(entry: FileEntry, bytes: Buffer): void {
    const text = asText(bytes);
    const model = this.core.ws.loadedNotebook(entry.id);
    if (text !== undefined && this.editor.owns(entry.path)) {
      // The notebook editor saved: its binding already carries every change into the model (taking
      // the file too would apply them twice). A save that differs from the shared notebook is said.
      if (model && text !== notebookText(model)) this.core.logger.debug(`${entry.path} was saved by the editor with other content than the shared notebook holds now (changes still on their way, or VS Code's own formatting)`);
      this.core.known.set(entry.path, { hash: contentHash(bytes), size: bytes.byteLength, text });
      return;
    }
    // Not loaded yet (a joiner still fetching): the disk's edit is merged once it is here.
    if (!model) return this.writer.afterContent(entry.id, true, () => this.core.ws.notebook(entry.id));
    const taken = text === undefined ? ({ taken: false, why: 'it is no longer text' } as const) : takeNotebookFromDisk(model, this.core.known.get(entry.path), text, bytes);
    if (!taken.taken) {
      this.warnOnce(`notebook:${entry.path}:${contentHash(bytes)}`, `${entry.path} is not taken into the session: ${taken.why}; its last valid version stays shared, and this file is not written over until it is a notebook again`);
      return;
    }
    this.core.known.set(entry.path, { ...taken.known, earlier: earlierTexts(this.core.known.get(entry.path)) });
    if (taken.behind) this.writer.scheduleText(entry); // bring the peers' changes to disk too
  }

  /**
   * A write was refused because the file changed on disk: bring that change into the model first.
   * `read`: the file's bytes as the caller has just read them (a restart), not read a second time.
   */
  async takeLocalChange(entry: FileEntry, read?: Buffer): Promise<void> {
    const bytes = read ?? (await readIfFile(resolveInside(this.core.root, entry.path)));
    const seen = this.core.known.get(entry.path);
    if (!bytes) {
      // Removed here while a change to it arrived: the change wins, as an edit wins over a
      // concurrent delete (docs/PROTOCOL.md §6.4), and the file comes back.
      this.core.known.delete(entry.path);
      this.core.ws.emit('notice', `${entry.path} was deleted here while someone changed it; it comes back with their changes`);
      return;
    }
    const hash = contentHash(bytes);
    if (seen?.hash === hash) return; // changed back meanwhile
    if (!seen) {
      // A file this mirror never saw (created meanwhile, or there before a join): its bytes are kept
      // as a new file beside it, then the session's version takes the path.
      const copy = keepBesideAsNew(this.core.ws, entry.path, bytes, this.core.logger);
      if (copy) this.core.enqueue(() => this.writer.writeEntry(copy));
      this.core.known.set(entry.path, { hash, size: bytes.byteLength });
      return;
    }
    // Replaced here and remotely: the local version wins as a new version, the remote one is kept.
    if (entry.kind === 'binary' && entry.hash !== seen.hash && entry.hash !== hash) await this.keepRemoteVersion(entry);
    await this.changedOnDisk(entry, bytes);
  }

  async keepRemoteVersion(entry: FileEntry): Promise<void> {
    const copy = await keepRemoteBinary(this.core.ws, entry, this.core.logger);
    if (copy) this.core.enqueue(() => this.writer.writeEntry(copy));
  }
}

/** The index of the first string in `sorted` (code-unit order) that is not less than `key`. */
function firstAtOrAfter(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
