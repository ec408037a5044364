/**
 * What this peer writes into the index on its own account (docs/PROTOCOL.md §6.1, §6.3): new texts,
 * renames, deletes, and the `edited` mark. Every write checks the path against the file view first,
 * so a bad or taken path is refused before anything is written.
 */
import * as Y from 'yjs';
import { hasDocument, type ChangeOrigin, type FileEntry } from './api';
import { entryMap, newId, versionCount } from './entries';
import { BASES_MAP, baseFileId, buildBase, comparePaths, describeBase, MAX_BASE_FILES, nextBase, sortByPath, type BaseFile } from './index-bases';
import type { FileView } from './file-view';
import type { IndexGuard } from './index-guard';
import { contentHash } from './hash';
import { RemoteOrigin } from './outbox';
import { isSafeRelativePath, validateRelativePath } from './paths';
import type { Notebook } from './notebook/ipynb';
import { materialiseNotebook } from './notebook/first-state';
import { MATERIALISE, materialise } from './text-base';
import type { TextDocs } from './texts';

export interface LocalChangesParts {
  index: Y.Doc;
  entries: Y.Map<Y.Map<unknown>>;
  /** Applies an update of this peer's own to the index (it may complete what members sent). */
  guard: Pick<IndexGuard, 'apply'>;
  /** Brought up to date by the workspace after every index transaction. */
  view: FileView;
  texts: TextDocs;
  indexReady(): boolean;
  /** A text document made here is complete: whoever waits for it may have it. */
  textReady(id: string): void;
  /** Sends a new text's whole document to every member (before the entry that names it). */
  sendWhole(id: string, doc: Y.Doc): void;
}

export class LocalChanges {
  constructor(private readonly o: LocalChangesParts) {}

  /**
   * A new text file (§6.1): the text document first, sent whole to every member as a step 2, then the
   * index transaction that names it, so that they hold the text complete when they learn of the file.
   * The entry's `size` and `hash` are those of the content at creation; nobody updates them.
   */
  createText(path: string, content: string, origin: ChangeOrigin): FileEntry {
    const bytes = Buffer.from(content, 'utf8');
    return this.createWhole(path, 'text', bytes.byteLength, contentHash(bytes), (doc) => materialise(doc, content, MATERIALISE), origin);
  }

  /**
   * A text file whose content stays as bytes here (the file on disk, read through the text source)
   * until someone opens or edits it: only the entry is made, and a member that asks for the text gets
   * its first state built from those bytes (§6.1, version 2).
   */
  createLazyText(path: string, size: number, hash: string, origin: ChangeOrigin, kind: 'text' | 'notebook' = 'text'): FileEntry {
    const p = this.freePath(path);
    const id = newId();
    this.o.texts.holdAsBytes(id);
    this.o.index.transact(() => this.o.entries.set(id, entryMap({ path: p, kind, size, hash })), origin);
    return this.o.view.byId(id)!;
  }

  /**
   * A new notebook file (§6.1, version 3), made as a new text is: its document first (the first state
   * of the file read, `size` and `hash` its bytes'), sent whole, then the entry.
   */
  createNotebook(path: string, nb: Notebook, size: number, hash: string, origin: ChangeOrigin): FileEntry {
    return this.createWhole(path, 'notebook', size, hash, (doc) => materialiseNotebook(doc, nb, MATERIALISE), origin);
  }

  /** A new file with a document: the document built (`fill`), complete here, sent whole, then the entry. */
  private createWhole(path: string, kind: 'text' | 'notebook', size: number, hash: string, fill: (doc: Y.Doc) => void, origin: ChangeOrigin): FileEntry {
    const p = this.freePath(path);
    const id = newId();
    const t = this.o.texts.state(id);
    fill(t.doc);
    this.o.textReady(id);
    this.o.sendWhole(id, t.doc);
    this.o.index.transact(() => this.o.entries.set(id, entryMap({ path: p, kind, size, hash })), origin);
    return this.o.view.byId(id)!;
  }

  /**
   * Texts held as bytes whose entries are one index base (index-bases.ts): `files` in path order,
   * after every base before (a joiner takes each base's path range for its own). Undefined, and
   * nothing made, when that cannot be: the caller makes them one by one.
   */
  createBase(files: readonly BaseFile[], origin: ChangeOrigin): FileEntry[] | undefined {
    if (!files.length || files.length > MAX_BASE_FILES) return undefined;
    const sorted = sortByPath(files, (f) => f.path);
    for (let i = 0; i < sorted.length; i++) {
      if (!isSafeRelativePath(sorted[i].path) || this.o.view.byPath(sorted[i].path)) return undefined;
      if (i > 0 && comparePaths(sorted[i - 1].path, sorted[i].path) >= 0) return undefined;
    }
    const { k, last } = nextBase(this.o.index);
    if (k === undefined || (last !== undefined && comparePaths(sorted[0].path, last) <= 0)) return undefined;
    const ids = sorted.map((f) => baseFileId(f.path));
    if (ids.some((id) => this.o.entries.has(id))) return undefined;
    const update = buildBase(k, sorted);
    const d = describeBase(k, sorted, update);
    for (const id of ids) this.o.texts.holdAsBytes(id);
    // Two transactions: Yjs counts one that applies an update as not local, and one not local that
    // writes this peer's own client id makes it take another id.
    this.o.guard.apply(update, origin, true);
    this.o.index.transact(() => this.o.index.getMap<unknown>(BASES_MAP).set(String(k), { first: d.first, last: d.last, count: d.count, update: d.update }), origin);
    return ids.map((id) => this.o.view.byId(id)!);
  }

  rename(id: string, newPath: string, origin: ChangeOrigin): void {
    const p = validateRelativePath(newPath);
    const m = this.o.entries.get(id);
    if (!m || !this.o.view.byId(id)) throw new Error(`no file ${id}`);
    const other = this.o.view.byPath(p);
    if (other && other.id !== id) throw new Error(`${p} already exists`);
    this.o.index.transact(() => m.set('path', p), origin);
  }

  remove(id: string, origin: ChangeOrigin): void {
    const m = this.o.entries.get(id);
    if (!m) return;
    const entry = this.o.view.byId(id);
    // What the deleter had seen: edits beyond it (made concurrently) bring the file back.
    // A text this peer never loaded cannot say what it saw: then the delete simply wins ('*').
    const text = entry && hasDocument(entry.kind) ? this.o.texts.get(id) : undefined;
    const sv = text?.ready ? Y.encodeStateVector(text.doc) : this.o.texts.bytesStateVector(id);
    const seen = entry && hasDocument(entry.kind) ? (sv ? Buffer.from(sv).toString('base64') : '*') : String(versionCount(m));
    this.o.index.transact(() => m.set('deleted', seen), origin);
  }

  /**
   * The first change made here to a text beyond its first state says so in its entry (`edited`,
   * §6.1): a peer that holds the text's bytes builds the first state from them, and then fetches the
   * edits only if there are any.
   */
  markEdited(id: string, origin: unknown): void {
    if (origin instanceof RemoteOrigin || origin === MATERIALISE) return;
    const m = this.o.entries.get(id);
    if (m && m.get('edited') !== true && this.o.indexReady()) this.o.index.transact(() => m.set('edited', true), origin);
  }

  /** A valid relative path that no live file holds, or an Error that says which. */
  freePath(path: string): string {
    const p = validateRelativePath(path);
    if (this.o.view.byPath(p)) throw new Error(`${p} already exists in the shared workspace`);
    return p;
  }
}
