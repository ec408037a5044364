/**
 * Texts that are still their first state (docs/PROTOCOL.md §6.1–§6.2, version 3): a text whose entry
 * is not `edited` is the bytes its `hash` names, so a peer that writes files (the disk mirror) writes
 * it from those bytes with no Yjs document: taken from its own disk when there (a clone), else
 * fetched from members in batches (text-bytes.ts), and answered to members from this peer's disk
 * (text-serve.ts). Once written, the text is held as bytes; its document is built only when someone
 * opens or edits it.
 */
import type * as Y from 'yjs';
import type { PeerTransport } from '../session/transport';
import { contentHash } from './hash';
import type { TextItem } from './protocol';
import type { TextBytesHandler } from './receiver';
import { TextBytesFetcher } from './text-bytes';
import type { TextLoader } from './text-loader';
import { isPristine } from './text-base';
import { TextServer } from './text-serve';
import type { TextDocs } from './texts';

export interface FirstStatesParts {
  transport: PeerTransport;
  entries: Y.Map<Y.Map<unknown>>;
  texts: TextDocs;
  /** The loader (made after this: the receiver it is wired with needs this as its handler). */
  loader(): TextLoader;
  isClosed(): boolean;
  /** A text became complete here as bytes. */
  arrived(id: string): void;
}

export class FirstStates implements TextBytesHandler {
  /** The disk mirror writes texts nobody edited from their bytes: no document is fetched for them. */
  writer = false;
  private readonly fetcher: TextBytesFetcher;
  private readonly server: TextServer;

  constructor(private readonly p: FirstStatesParts) {
    this.fetcher = new TextBytesFetcher(p.transport);
    this.server = new TextServer(p.transport, (id) => this.bytesOf(id));
  }

  /**
   * The hash of a text's content when that is still its first state (nobody edited it): its bytes
   * then do for writing it. Undefined for an edited text, or one whose document is held here.
   */
  hash(id: string): string | undefined {
    const m = this.p.entries.get(id);
    const hash = m?.get('hash');
    if (m?.get('kind') !== 'text' || m.get('edited') === true || typeof hash !== 'string' || this.p.texts.get(id)?.ready) return undefined;
    return hash;
  }

  /** Whether a text is left to the writer's bytes (no document fetched for it when its entry arrives). */
  leftToWriter(id: string): boolean {
    return this.writer && this.hash(id) !== undefined && !this.p.texts.has(id);
  }

  /** The first-state bytes, verified: from this peer's own disk, else from members; undefined if none had them. */
  async load(id: string): Promise<Uint8Array | undefined> {
    const hash = this.hash(id);
    if (hash === undefined) return undefined;
    const held = this.fetcher.peek(id, hash);
    if (held) return held;
    const own = await this.p.loader().source?.(id).catch(() => undefined);
    if (own && contentHash(own) === hash) return own;
    if (this.p.isClosed()) return undefined;
    return this.fetcher.fetch(id, hash, this.size(id));
  }

  /** Texts to be loaded next, in that order: fetched ahead, with a bounded amount held unwritten. */
  prefetch(ids: readonly string[]): void {
    const items: Array<{ id: string; hash: string; size: number }> = [];
    for (const id of ids) {
      const hash = this.hash(id);
      if (hash !== undefined) items.push({ id, hash, size: this.size(id) });
    }
    this.fetcher.prefetch(items);
  }

  /** First-state bytes that arrived and wait to be written. */
  held(id: string): Uint8Array | undefined {
    const hash = this.hash(id);
    return hash === undefined ? undefined : this.fetcher.peek(id, hash);
  }

  /**
   * The writer wrote a text's first-state bytes (`hash`): they leave memory, and the text is complete
   * here as bytes. If edits reached this peer meanwhile, or the entry says there are some, the
   * document is built now and they are applied (or fetched); the writer then writes it as edited.
   */
  written(id: string, hash: string): void {
    this.fetcher.take(id);
    const m = this.p.entries.get(id);
    const { texts } = this.p;
    if (this.p.isClosed() || m?.get('kind') !== 'text' || m.get('hash') !== hash || texts.get(id)?.ready) return;
    if (m.get('edited') === true || texts.has(id)) return void this.p.loader().buildOrFetch(id, false);
    texts.holdAsBytes(id);
    this.p.arrived(id);
  }

  serve(peerId: string, items: readonly TextItem[]): void {
    this.server.serve(peerId, items);
  }

  receive(peerId: string, items: readonly TextItem[]): boolean {
    return this.fetcher.receive(peerId, items);
  }

  peerJoined(peerId: string): void {
    this.fetcher.peerJoined(peerId);
  }

  peerLeft(peerId: string): void {
    this.fetcher.peerLeft(peerId);
  }

  close(): void {
    this.fetcher.close();
    this.server.close();
  }

  private size(id: string): number {
    const size = this.p.entries.get(id)?.get('size');
    return typeof size === 'number' ? size : 0;
  }

  /** A text's bytes as this peer holds them, for a member that asks (the server checks the hash). */
  private async bytesOf(id: string): Promise<Uint8Array | undefined> {
    const m = this.p.entries.get(id);
    if (m?.get('kind') !== 'text' || m.get('deleted')) return undefined;
    const t = this.p.texts.get(id);
    if (t?.ready) return isPristine(t.doc) ? Buffer.from(t.doc.getText('content').toString(), 'utf8') : undefined;
    const hash = m.get('hash');
    const held = typeof hash === 'string' ? this.fetcher.peek(id, hash) : undefined;
    return held ?? (await this.p.loader().source?.(id).catch(() => undefined));
  }
}
