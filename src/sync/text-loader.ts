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
import { materialiseNotebook, notebookBase } from './notebook/first-state';
import { MATERIALISE, baseText, materialise } from './text-base';
import type { TextDocs } from './texts';

/** How often documents nobody holds are looked for, to be released (one full period unused first). */
const RELEASE_EVERY_MS = 5_000;

/** A text's bytes as this peer holds them (its file on disk), or undefined; checked against the hash. */
export type TextSource = (id: string) => Promise<Uint8Array | undefined>;

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
  /** The hash of a text's first state (its index entry's `hash`), and whether anyone edited it since. */
  base(id: string): { hash: string; edited: boolean; notebook: boolean } | undefined;
}

export class TextLoader {
  readonly fetcher: TextFetcher;
  /** Where this peer reads texts' bytes; without one, no document is released (nothing to build it from). */
  source: TextSource | undefined;
  private readonly building = new Map<string, Promise<boolean>>();
  private releaseTimer: NodeJS.Timeout | undefined;
  /** Documents found releasable at the last look: released at the next if still so. */
  private idle = new Set<string>();

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
    const done = new Promise<Y.Text>((resolve) => {
      const wait = (ready: boolean) => (ready ? resolve(t.doc.getText('content')) : !this.p.isClosed() && t.waiters.push(wait));
      t.waiters.push(wait);
    });
    void this.buildOrFetch(id);
    return done;
  }

  /** The text, or undefined once no member could send it (or on close). */
  load(id: string): Promise<Y.Text | undefined> {
    const t = this.p.texts.state(id);
    if (t.ready) return Promise.resolve(t.doc.getText('content'));
    const done = new Promise<Y.Text | undefined>((resolve) => {
      t.waiters.push((ready) => resolve(ready ? t.doc.getText('content') : undefined));
    });
    void this.buildOrFetch(id);
    return done;
  }

  /**
   * The text built from this peer's own copy of its first state, when nobody edited it since (and the
   * copy reads back with its hash); undefined when only a member can send it. Asks nobody.
   */
  async buildHere(id: string): Promise<Y.Text | undefined> {
    await this.buildFirstState(id, false);
    return this.p.texts.get(id)?.ready ? this.p.texts.state(id).doc.getText('content') : undefined;
  }

  /**
   * Builds a text's document from the bytes held here (§6.2, version 2), when they are its first
   * state; complete at once if nobody edited it, else the edits are asked for (a step 1 from the
   * first state: only they travel). Without such bytes, it is fetched whole as before.
   */
  async buildOrFetch(id: string, urgent = true, from?: string): Promise<void> {
    await this.buildFirstState(id, true);
    if (this.p.texts.get(id)?.ready || this.p.isClosed()) return;
    if (this.p.texts.isBytes(id)) {
      // Held as bytes, yet not readable now (the file changed on disk): a member builds it for us.
      this.p.texts.forgetBytes(id);
    }
    this.fetcher.want(id, urgent, from);
  }

  /**
   * Gives a text not complete here its first state from the bytes held here (`edited` too: one
   * others edited since, whose edits are then asked for), complete at once if nobody edited it.
   */
  private async buildFirstState(id: string, edited: boolean): Promise<void> {
    const base = this.source ? this.p.base(id) : undefined;
    if (!base || (base.edited && !edited) || this.p.texts.get(id)?.ready) return;
    const built = await this.build(id, base.hash, base.notebook);
    if (built && !base.edited && !this.p.isClosed()) this.markReady(id);
  }

  /** Gives the document its first state from the bytes held here; false when they are not here. */
  private build(id: string, hash: string, notebook: boolean): Promise<boolean> {
    const known = this.building.get(id);
    if (known) return known;
    const run = (async () => {
      const bytes = await this.source?.(id).catch(() => undefined);
      if (notebook) {
        const nb = bytes && notebookBase(bytes, hash);
        if (!nb || this.p.isClosed()) return false;
        materialiseNotebook(this.p.texts.state(id).doc, nb, MATERIALISE);
        return true;
      }
      const content = bytes && baseText(bytes, hash);
      if (content === undefined || this.p.isClosed()) return false;
      materialise(this.p.texts.state(id).doc, content, MATERIALISE);
      return true;
    })();
    this.building.set(id, run);
    void run.finally(() => this.building.delete(id));
    return run;
  }

  /**
   * Looks now and then for documents nobody holds that are still their first state, and releases
   * those that were so at the previous look too: memory follows what people have open.
   */
  startReleasing(everyMs = RELEASE_EVERY_MS): void {
    if (this.releaseTimer || this.p.isClosed()) return;
    this.releaseTimer = setInterval(() => this.releaseIdle(), everyMs);
    this.releaseTimer.unref?.();
  }

  /** One look (see startReleasing); returns how many documents were released. */
  releaseIdle(): number {
    if (!this.source) return 0;
    let released = 0;
    const next = new Set<string>();
    for (const id of this.p.texts.held()) {
      if (this.building.has(id) || !this.p.texts.releasable(id)) continue;
      if (this.idle.has(id) && this.p.texts.release(id)) released++;
      else next.add(id);
    }
    this.idle = next;
    return released;
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
    clearInterval(this.releaseTimer);
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
