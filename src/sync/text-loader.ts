/**
 * Loading text documents from peers (docs/PROTOCOL.md §6.2): lazily, one member at a time, through
 * the TextFetcher; a text is complete here at a step 2 (or when created here), and then answers the
 * peers that asked for it first. A text nobody could send is taken from the updates held here, or
 * reported.
 */
import type * as Y from 'yjs';
import type { Logger } from '../session/log';
import type { PeerTransport } from '../session/transport';
import { TextFetcher } from './fetcher';
import type { Outbox } from './outbox';
import type { TextDocs } from './texts';

/** Text documents requested from peers at a time (open files jump the queue); 16 left a joiner of
 * thousands of small files waiting on round trips. */
const FETCH_WINDOW = 64;

export interface TextLoaderParts {
  transport: PeerTransport;
  logger: Logger;
  texts: TextDocs;
  outbox: Outbox;
  isClosed(): boolean;
  /** The path a file is shown at (for the log). */
  pathOf(id: string): string;
  /** A text became complete here. */
  arrived(id: string): void;
  /** Nobody could send a text and nothing of it is here. */
  unavailable(id: string): void;
}

export class TextLoader {
  readonly fetcher: TextFetcher;

  constructor(
    private readonly p: TextLoaderParts,
    timeoutMs: number,
  ) {
    this.fetcher = new TextFetcher(
      {
        peers: () => p.transport.peers().map((peer) => peer.id),
        isReady: (id) => p.texts.isReady(id),
        request: (peerId, id) => p.outbox.step1(peerId, id, p.texts.state(id).doc),
        holdsPart: (id) => p.texts.holdsPart(id),
        exhausted: (id) => this.noneCouldSend(id),
      },
      { window: FETCH_WINDOW, timeoutMs },
    );
  }

  /** The text, once it is complete here (waits as long as it takes). */
  text(id: string): Promise<Y.Text> {
    const t = this.p.texts.state(id);
    if (t.ready) return Promise.resolve(t.doc.getText('content'));
    this.fetcher.want(id, true);
    return new Promise((resolve) => {
      const wait = (ready: boolean) => (ready ? resolve(t.doc.getText('content')) : !this.p.isClosed() && t.waiters.push(wait));
      t.waiters.push(wait);
    });
  }

  /** The text, or undefined once no member could send it (or on close). */
  load(id: string): Promise<Y.Text | undefined> {
    const t = this.p.texts.state(id);
    if (t.ready) return Promise.resolve(t.doc.getText('content'));
    return new Promise((resolve) => {
      t.waiters.push((ready) => resolve(ready ? t.doc.getText('content') : undefined));
      this.fetcher.want(id, true);
    });
  }

  /** A text is complete here: wake its waiters and answer the peers that asked before we had it. */
  markReady(id: string): void {
    if (!this.p.texts.markReady(id)) return;
    this.fetcher.done(id);
    this.p.arrived(id);
    const t = this.p.texts.state(id);
    for (const [peer, sv] of t.wantedBy) this.p.outbox.step2(peer, id, t.doc, sv);
    t.wantedBy.clear();
  }

  close(): void {
    this.fetcher.close();
  }

  /**
   * Every member was asked for a text and none sent it complete. A copy made of the updates that
   * reached this peer is as complete as anyone's: take it (and answer those waiting on us with it),
   * so that peers holding the same partial copies never wait on each other. With nothing here, say so.
   */
  private noneCouldSend(id: string): void {
    const { texts } = this.p;
    if (texts.holdsPart(id)) {
      this.p.logger.info(`sync: nobody sent ${JSON.stringify(this.p.pathOf(id))} complete; using the copy held here`);
      this.markReady(id);
      // Whoever holds more of it (a member that was slow, not empty) sends the rest, which then
      // reaches those this copy was just sent to.
      const doc = texts.state(id).doc;
      for (const peer of this.p.transport.peers()) this.p.outbox.step1(peer.id, id, doc);
      return;
    }
    texts.giveUp(id);
    this.p.unavailable(id);
  }
}
