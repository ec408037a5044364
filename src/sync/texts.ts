/**
 * The registry of text documents (one Yjs document per text file, docs/PROTOCOL.md §6.1): each
 * document, whether it is held complete here, who waits for it here, and which peers asked for it
 * before it was complete; and the texts held here as bytes only (§6.2, version 2): a document that
 * is still its deterministic first state (text-base.ts) and that nobody holds is released, and built
 * again from the bytes when someone needs it.
 */
import * as Y from 'yjs';
import { isNotebookDoc } from './notebook/first-state';
import { BASE_CLIENT, MATERIALISE, isPristine, onlyBase } from './text-base';

export interface TextState {
  doc: Y.Doc;
  /** Holds the whole document: created here, or a peer that had it sent a step 2. */
  ready: boolean;
  /** Called with true once it is ready, with false when nobody could send it (or on close). */
  waiters: Array<(ready: boolean) => void>;
  /** Peers that asked for it before it was ready here, with their state vectors. */
  wantedBy: Map<string, Uint8Array>;
}

export interface TextHooks {
  newDoc(name: string): Y.Doc;
  /** Every transaction on a text document (to send it on). */
  transaction(id: string, tx: Y.Transaction): void;
  /** The text's content changed. */
  changed(id: string, tx: Y.Transaction): void;
}

export class TextDocs {
  private readonly texts = new Map<string, TextState>();
  /**
   * Texts complete here without a document: their content is the entry's bytes (a peer builds the
   * document from them when needed). The value is the released document's state vector (what a
   * delete of it had seen), or null for a text shared without ever having had one here.
   */
  private readonly asBytes = new Map<string, Uint8Array | null>();

  constructor(private readonly hooks: TextHooks) {}

  get size(): number {
    return this.texts.size;
  }

  has(id: string): boolean {
    return this.texts.has(id);
  }

  get(id: string): TextState | undefined {
    return this.texts.get(id);
  }

  /** The document's state, made on first use. */
  state(id: string): TextState {
    let t = this.texts.get(id);
    if (t) return t;
    const doc = this.hooks.newDoc(id);
    t = { doc, ready: false, waiters: [], wantedBy: new Map() };
    this.texts.set(id, t);
    // A first state built here is no news: every peer can build it from the same bytes (text-base.ts).
    const news = (tx: Y.Transaction) => tx.origin !== MATERIALISE || !onlyBase(tx);
    doc.on('afterTransaction', (tx: Y.Transaction) => {
      if (this.texts.get(id)?.doc !== doc) return this.lateChange(id, doc, tx);
      if (!news(tx)) return;
      this.hooks.transaction(id, tx);
      // A notebook's document (version 3) has no `content`: any change to its cells is its change.
      if (isNotebookDoc(doc) && tx.changed.size > 0) this.hooks.changed(id, tx);
    });
    doc.getText('content').observe((_e, tx) => {
      if (this.texts.get(id)?.doc === doc && news(tx)) this.hooks.changed(id, tx);
    });
    return t;
  }

  /** Complete here: as a document, or as bytes (then `loaded()` is undefined until it is built). */
  isReady(id: string): boolean {
    return (this.texts.get(id)?.ready ?? false) || this.asBytes.has(id);
  }

  /** Whether the text is held here as bytes only (a document is built from them when needed). */
  isBytes(id: string): boolean {
    return this.asBytes.has(id) && !this.texts.get(id)?.ready;
  }

  /** A text complete here as bytes, with no document (this peer shared it, or wrote it to disk). */
  holdAsBytes(id: string): void {
    if (!this.texts.get(id)?.ready) this.asBytes.set(id, this.asBytes.get(id) ?? null);
  }

  /**
   * What a delete of a text held as bytes had seen: the released document's vector, or, for a text
   * never built here, "all of client 0's items and nobody else's" (client 0 writes only the first
   * state, text-base.ts), so that edits made elsewhere meanwhile still bring the file back (§6.4).
   */
  bytesStateVector(id: string): Uint8Array | undefined {
    if (!this.asBytes.has(id)) return undefined;
    return this.asBytes.get(id) ?? Y.encodeStateVector(new Map([[BASE_CLIENT, 0x7fffffff]]));
  }

  /** Whether a document is still its first state and no one holds it (no editor binding observes
   * it, nobody waits for it), so that it can be dropped and built again from the bytes. */
  releasable(id: string): boolean {
    const t = this.texts.get(id);
    if (!t?.ready || t.waiters.length > 0 || t.wantedBy.size > 0 || !isPristine(t.doc)) return false;
    // A notebook's model observes its document for as long as the workspace lives: notebooks are few.
    if (isNotebookDoc(t.doc)) return false;
    // Ours is the one observer TextDocs adds; another is an editor binding (or its undo manager).
    return observerCount(t.doc.getText('content')) <= 1;
  }

  /** Drops a releasable document; the text is then held as bytes. False when it must stay. */
  release(id: string): boolean {
    const t = this.texts.get(id);
    if (!t || !this.releasable(id)) return false;
    this.texts.delete(id);
    this.asBytes.set(id, Y.encodeStateVector(t.doc));
    return true;
  }

  /** The bytes held here are no longer the text's first state (its file changed on disk). */
  forgetBytes(id: string): void {
    this.asBytes.delete(id);
  }

  /** Whether the document held here has changes beyond its first state. */
  edited(id: string): boolean {
    const t = this.texts.get(id);
    return t !== undefined && t.ready && !isPristine(t.doc);
  }

  /** The ids of documents held now (to look for ones to release). */
  held(): string[] {
    return [...this.texts.keys()];
  }

  loaded(id: string): Y.Text | undefined {
    const t = this.texts.get(id);
    return t?.ready ? t.doc.getText('content') : undefined;
  }

  /** Whether some of the document is here (updates forwarded to this peer), complete or not. */
  holdsPart(id: string): boolean {
    const t = this.texts.get(id);
    return t !== undefined && Y.encodeStateVector(t.doc).byteLength > 1;
  }

  /** Marks a document complete and wakes its waiters; false when it already was. */
  markReady(id: string): boolean {
    const t = this.state(id);
    if (t.ready) return false;
    t.ready = true;
    this.asBytes.delete(id);
    for (const w of t.waiters.splice(0)) w(true);
    return true;
  }

  /** Those waiting for a document nobody could send hear false. */
  giveUp(id: string): void {
    for (const w of this.texts.get(id)?.waiters.splice(0) ?? []) w(false);
  }

  *ready(): Iterable<[string, Y.Doc]> {
    for (const [id, t] of this.texts) if (t.ready) yield [id, t.doc];
  }

  peerLeft(peerId: string): void {
    for (const t of this.texts.values()) t.wantedBy.delete(peerId);
  }

  /**
   * A change to a document released earlier, through a reference someone kept (it should not
   * happen: release() skips observed documents). It is not lost: the released document becomes the
   * text's document again, or its changes go into the one built since, and are sent as usual.
   */
  private lateChange(id: string, doc: Y.Doc, tx: Y.Transaction): void {
    const now = this.texts.get(id);
    if (!now) {
      this.texts.set(id, { doc, ready: true, waiters: [], wantedBy: new Map() });
      this.asBytes.delete(id);
      this.hooks.transaction(id, tx);
      this.hooks.changed(id, tx);
      return;
    }
    Y.applyUpdate(now.doc, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(now.doc)), tx.origin);
  }

  close(): void {
    this.asBytes.clear();
    for (const t of this.texts.values()) {
      for (const w of t.waiters.splice(0)) w(false);
      t.doc.destroy();
    }
  }
}

/** Observers of a Y.Text (Yjs keeps them in `_eH`; its types declare the field). */
function observerCount(text: Y.Text): number {
  return text._eH.l.length;
}
