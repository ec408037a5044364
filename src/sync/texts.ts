/**
 * The registry of text documents (one Yjs document per text file, docs/PROTOCOL.md §6.1): each
 * document, whether it is held complete here, who waits for it here, and which peers asked for it
 * before it was complete.
 */
import * as Y from 'yjs';

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
    doc.on('afterTransaction', (tx: Y.Transaction) => this.hooks.transaction(id, tx));
    doc.getText('content').observe((_e, tx) => this.hooks.changed(id, tx));
    return t;
  }

  isReady(id: string): boolean {
    return this.texts.get(id)?.ready ?? false;
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

  close(): void {
    for (const t of this.texts.values()) {
      for (const w of t.waiters.splice(0)) w(false);
      t.doc.destroy();
    }
  }
}
