/**
 * Which member to ask for each text document this peer lacks, and when to give up on one
 * (docs/PROTOCOL.md §6.2). Owns the request queue and every request's state; the workspace sends the
 * messages and says what arrived.
 *
 * Nothing here waits without an end: a request goes first to the member the index entry came from,
 * then to each member not yet asked, one at a time. A member that leaves, or that asks us for the
 * same document while we wait on it (it may lack it too), is passed over at once; one that stays
 * silent is passed over after a timeout. When every member has been asked, the host decides (take the copy
 * it holds, or report the file) and the document is asked for again when someone new arrives.
 */

/** What the fetcher needs from the workspace. */
export interface FetchHost {
  /** Connected members' ids. */
  peers(): string[];
  /** Whether this peer holds the document completely (nothing to fetch). */
  isReady(id: string): boolean;
  /** Sends `sync step 1` for the document to one member. */
  request(peerId: string, id: string): void;
  /** Whether this peer holds part of the document (updates forwarded to it). */
  holdsPart(id: string): boolean;
  /** Every member was asked and none sent the document. */
  exhausted(id: string): void;
}

export interface FetcherOptions {
  /** Requests outstanding at a time (open files jump the queue). */
  window: number;
  /** How long one member may stay silent before the next is asked. */
  timeoutMs: number;
}

interface Request {
  urgent: boolean;
  /** Members asked in this round (cleared for a member that joins again). */
  tried: Set<string>;
  /** Asked first: the member the index entry came from (it held the text before it sent the entry). */
  preferred?: string;
  /** The member asked now, and its deadline. */
  peer?: string;
  timer?: NodeJS.Timeout;
  /**
   * Members passed over because they asked us for it while we waited on them, until their deadline:
   * one that holds it may have asked only to sync (every member does so on connecting), and answers.
   */
  answering: Map<string, NodeJS.Timeout>;
}

export class TextFetcher {
  private readonly requests = new Map<string, Request>();
  /** Ids waiting for a free slot: open files first, then the rest in the order they were wanted. */
  private readonly urgent: string[] = [];
  private readonly background: string[] = [];
  private backgroundHead = 0;
  private readonly queued = new Set<string>();
  /** Documents nobody could send; asked for again when a member joins. */
  private readonly parked = new Set<string>();
  private inFlight = 0;
  private closed = false;

  constructor(
    private readonly host: FetchHost,
    private readonly options: FetcherOptions,
  ) {}

  /** Fetch a document (again a no-op while it is wanted). `from`: the member its index entry came from. */
  want(id: string, urgent = false, from?: string): void {
    if (this.closed || this.host.isReady(id)) return;
    let r = this.requests.get(id);
    if (!r) this.requests.set(id, (r = { urgent, tried: new Set(), answering: new Map() }));
    if (from && !r.tried.has(from)) r.preferred ??= from;
    if (urgent && !r.urgent) {
      r.urgent = true;
      if (this.queued.has(id)) this.urgent.unshift(id); // jumps ahead; the background copy is skipped
    }
    if (this.parked.delete(id)) r.tried.clear(); // someone wants it now: one more round
    if (r.peer || this.queued.has(id)) return this.pump();
    this.enqueue(id, r);
    this.pump();
  }

  /** The document arrived complete (from anyone): its slot is free. */
  done(id: string): void {
    const r = this.requests.get(id);
    if (!r) return;
    this.requests.delete(id);
    this.parked.delete(id);
    this.queued.delete(id);
    this.settle(r);
    this.stopAnswering(r);
    this.pump();
  }

  /**
   * A member asked us for a document we do not hold completely. If that is the member we are waiting
   * on for it, it may lack it too (waiting on each other would never end), or only be syncing on
   * connecting: ask the next member now, and give this one until its deadline to answer.
   */
  askedBy(peerId: string, id: string): void {
    const r = this.requests.get(id);
    if (r?.peer !== peerId) return;
    this.settle(r);
    r.answering.set(
      peerId,
      setTimeout(() => {
        r.answering.delete(peerId);
        if (this.requests.get(id) === r && !r.peer) this.passOver(id, r);
      }, this.options.timeoutMs),
    );
    this.passOver(id, r);
  }

  /** A new member: documents nobody could send, and retries, may now go to it. */
  peerJoined(peerId: string): void {
    for (const [id, r] of this.requests) {
      r.tried.delete(peerId);
      if (this.parked.delete(id)) this.enqueue(id, r);
    }
    this.pump();
  }

  /** A member left: what was asked of it goes to the others at once. */
  peerLeft(peerId: string): void {
    for (const [id, r] of this.requests) {
      const answering = r.answering.get(peerId);
      clearTimeout(answering);
      r.answering.delete(peerId);
      if (r.peer === peerId || (answering && !r.peer)) this.passOver(id, r);
    }
  }

  /** Documents asked for and not yet here (for reports and tests). */
  get pending(): number {
    return this.requests.size;
  }

  close(): void {
    this.closed = true;
    for (const r of this.requests.values()) {
      clearTimeout(r.timer);
      this.stopAnswering(r);
    }
    this.requests.clear();
    this.queued.clear();
  }

  private passOver(id: string, r: Request): void {
    this.settle(r);
    this.enqueue(id, r);
    this.pump();
  }

  private stopAnswering(r: Request): void {
    for (const t of r.answering.values()) clearTimeout(t);
    r.answering.clear();
  }

  /** Frees the slot a request held (its member stays in `tried`). */
  private settle(r: Request): void {
    clearTimeout(r.timer);
    r.timer = undefined;
    if (r.peer === undefined) return;
    r.peer = undefined;
    this.inFlight--;
  }

  private enqueue(id: string, r: Request): void {
    if (this.queued.has(id)) return;
    this.queued.add(id);
    if (r.urgent) this.urgent.unshift(id);
    else this.background.push(id);
  }

  /** Asks members for documents, a bounded number at a time. */
  private pump(): void {
    if (this.closed) return;
    const peers = this.host.peers();
    if (peers.length === 0) return; // everything waits for peerJoined()
    while (this.inFlight < this.options.window) {
      const id = this.next();
      if (id === undefined) return;
      const r = this.requests.get(id);
      if (!r || r.peer) continue;
      if (this.host.isReady(id)) {
        this.requests.delete(id);
        continue;
      }
      const peer = this.choose(r, peers);
      if (peer === undefined) {
        // A member passed over for asking us may still answer: with nothing of it here, let it
        // (its deadline asks again). With part of it here, taking that copy loses nothing.
        if (r.answering.size > 0 && !this.host.holdsPart(id)) continue;
        this.parked.add(id);
        this.host.exhausted(id); // may make it ready (done() then forgets it)
        continue;
      }
      r.tried.add(peer);
      r.peer = peer;
      this.inFlight++;
      r.timer = setTimeout(() => this.passOver(id, r), this.options.timeoutMs);
      this.host.request(peer, id);
    }
  }

  private choose(r: Request, peers: string[]): string | undefined {
    if (r.preferred && !r.tried.has(r.preferred) && peers.includes(r.preferred)) return r.preferred;
    const untried = peers.filter((p) => !r.tried.has(p));
    if (untried.length === 0) return undefined;
    return untried[Math.floor(Math.random() * untried.length)];
  }

  /** The next id to request; an id may sit in both queues, `queued` says whether it still waits. */
  private next(): string | undefined {
    for (;;) {
      let id = this.urgent.shift();
      if (id === undefined) {
        if (this.backgroundHead >= this.background.length) {
          this.background.length = 0;
          this.backgroundHead = 0;
          return undefined;
        }
        id = this.background[this.backgroundHead++];
        // Drop the consumed head now and then, so the array does not keep every id ever queued.
        if (this.backgroundHead > 1024 && this.backgroundHead * 2 > this.background.length) {
          this.background.splice(0, this.backgroundHead);
          this.backgroundHead = 0;
        }
      }
      if (this.queued.delete(id)) return id;
    }
  }
}
