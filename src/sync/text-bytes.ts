/**
 * Fetching texts' first-state bytes by hash, many small files per message (docs/PROTOCOL.md §6.2,
 * version 3): a text nobody edited is its bytes, so a joiner needs no Yjs document to write it, and
 * asks members for the bytes in batches (`texts-get`), each answered by one `texts-data` read from the
 * member's disk and verified here against the hash. Owns the request queue and every batch's state;
 * the caller says which texts it wants and gets their bytes, or undefined when no member had them
 * (it then falls back to the text's document, §6.2).
 *
 * Nothing waits without an end: a text goes first to the member its index entry came from, then to
 * each member not yet asked; a member that leaves or stays silent past the timeout is passed over.
 */
import { isUtf8 } from 'node:buffer';
import type { PeerTransport } from '../session/transport';
import { contentHash } from './hash';
import { MAX_TEXT_DATA, MessageType, ProtocolError, encodeTexts, frames, type TextItem } from './protocol';
import { OnceSoon } from '../session/once-soon';

/** Texts in one request at most, and their bytes by the entries' sizes (the answer is about that). */
const BATCH_FILES = 512;
const BATCH_BYTES = 512 * 1024;
/** Requests outstanding at one member: enough to keep a link busy while it reads the next batch. */
const WINDOW_PER_PEER = 4;
const BATCH_TIMEOUT_MS = 30_000;
/**
 * Bytes that arrived and were not yet taken by the writer (`take`) stay here, up to this much; past
 * it the oldest go (asked for again if still wanted). Bounds a joiner's memory whatever the tree.
 * Texts are fetched ahead until half of it is held: 4 MiB is eight requests' worth, more than a link
 * carries while the writer takes one (at 32 MiB a 30,000-file join held 16–32 MB it did not need).
 */
const HELD_BYTES = 8 * 1024 * 1024;

interface Wanted {
  hash: string;
  size: number;
  tried: Set<string>;
  /** The member asked now. */
  peer?: string;
  /** Those waiting for the bytes; none for a text fetched ahead of its writer (prefetch). */
  waiters: Array<(bytes: Uint8Array | undefined) => void>;
}

interface Batch {
  items: TextItem[];
  timer: NodeJS.Timeout;
  /** Silent past the timeout: its texts went to other members; it still holds its place in the answers. */
  expired: boolean;
}

/** Ids in the order they were queued, consumed from the head. */
class IdQueue {
  private ids: string[] = [];
  private head = 0;

  push(id: string): void {
    this.ids.push(id);
  }

  peek(): string | undefined {
    return this.ids[this.head];
  }

  shift(): void {
    this.head++;
    // Drop the consumed head now and then, so the array does not keep every id ever queued.
    if (this.head > 1024 && this.head * 2 > this.ids.length) {
      this.ids = this.ids.slice(this.head);
      this.head = 0;
    }
  }
}

export class TextBytesFetcher {
  private readonly wanted = new Map<string, Wanted>();
  /** Texts someone waits for, then texts fetched ahead; `queued`: not asked of anyone now. */
  private readonly urgent = new IdQueue();
  private readonly ahead = new IdQueue();
  private readonly queued = new Set<string>();
  /** Requests sent to each member and not yet answered, oldest first. */
  private readonly batches = new Map<string, Batch[]>();
  /** Verified bytes by file id, oldest first. */
  private readonly held = new Map<string, { hash: string; bytes: Uint8Array }>();
  private heldBytes = 0;
  private readonly pumpSoon = new OnceSoon(() => this.pump());
  private closed = false;

  constructor(
    private readonly transport: PeerTransport,
    private readonly timeoutMs = BATCH_TIMEOUT_MS,
    /** HELD_BYTES (smaller in tests, to reach the bound with a few texts). */
    private readonly heldBudget = HELD_BYTES,
  ) {}

  /**
   * The bytes whose hash is `hash`, from a member; undefined once every connected member was asked
   * and none had them.
   */
  fetch(id: string, hash: string, size: number): Promise<Uint8Array | undefined> {
    const here = this.peek(id, hash);
    if (here) return Promise.resolve(here);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const w = this.want(id, hash, size);
      const first = w.waiters.length === 0;
      w.waiters.push(resolve);
      if (first && this.queued.has(id)) {
        // Fetched ahead, not yet asked: now first. The pump may have stopped at the bound on bytes
        // held, with nothing left to wake it (no answer due): a joiner that found the whole index at
        // once hung with every writer waiting here.
        this.urgent.push(id);
        this.schedulePump();
      }
    });
  }

  /**
   * Texts a writer will ask for next, in that order: asked for in batches while the bytes held here
   * and not yet written stay under half the budget, so the link is busy while the writer writes.
   */
  prefetch(items: ReadonlyArray<{ id: string; hash: string; size: number }>): void {
    if (this.closed) return;
    for (const { id, hash, size } of items) if (!this.peek(id, hash)) this.want(id, hash, size);
  }

  private want(id: string, hash: string, size: number): Wanted {
    let w = this.wanted.get(id);
    if (w && w.hash !== hash) {
      // The entry moved on to other bytes while the old ones were asked for: those waiting on it get
      // nothing (they ask again for what the entry says now).
      this.settle(id, undefined);
      w = undefined;
    }
    if (!w) {
      this.wanted.set(id, (w = { hash, size, tried: new Set(), waiters: [] }));
      this.enqueue(id, w);
    }
    return w;
  }

  /** Bytes that arrived and are still held here (the writer takes them when it writes the file). */
  peek(id: string, hash: string): Uint8Array | undefined {
    const b = this.held.get(id);
    return b?.hash === hash ? b.bytes : undefined;
  }

  /** The file is written (or no longer needs these bytes): they leave memory. */
  take(id: string): void {
    const b = this.held.get(id);
    if (!b) return;
    this.held.delete(id);
    this.heldBytes -= b.bytes.byteLength;
    // Room again below the bound: the texts fetched ahead go on (the pump stopped there).
    if (this.heldBytes < this.heldBudget / 2) this.schedulePump();
  }

  /**
   * A `texts-data` from a member: the answer to its oldest open `texts-get` (members answer in order).
   * False when there is none, when it names other texts than asked, or bytes that do not hash to the
   * name (the caller cuts the member off).
   */
  receive(peerId: string, items: readonly TextItem[]): boolean {
    const batch = this.batches.get(peerId)?.shift();
    if (!batch || batch.items.length !== items.length) return false;
    for (let i = 0; i < items.length; i++) {
      const { id, hash, bytes } = items[i];
      if (batch.items[i].id !== id || batch.items[i].hash !== hash) return false;
      if (bytes && (bytes.byteLength > MAX_TEXT_DATA || contentHash(bytes) !== hash)) return false;
      // A text entry's bytes that are no text (its creator lied about the kind): written as they were,
      // they made a file on this disk that no shared text holds (no peer builds a first state from
      // them, §6.1). The sender is cut off; the batch's texts go to other members.
      if (bytes && !isUtf8(bytes)) {
        this.giveBack(peerId, batch);
        this.schedulePump();
        throw new ProtocolError('sent a text\'s bytes that are not valid UTF-8');
      }
    }
    clearTimeout(batch.timer);
    // An answer after the timeout: its texts were given to others meanwhile; what it brings still counts.
    for (const { id, hash, bytes } of items) {
      const w = this.wanted.get(id);
      if (!w || w.hash !== hash) continue;
      if (bytes) {
        this.hold(id, hash, bytes);
        this.settle(id, bytes);
      } else if (w.peer === peerId) {
        w.peer = undefined;
        this.enqueue(id, w); // not there: the next member
      }
    }
    this.schedulePump();
    return true;
  }

  peerJoined(peerId: string): void {
    for (const w of this.wanted.values()) w.tried.delete(peerId);
    this.schedulePump();
  }

  peerLeft(peerId: string): void {
    for (const b of this.batches.get(peerId) ?? []) this.giveBack(peerId, b);
    this.batches.delete(peerId);
    this.schedulePump();
  }

  /** Texts asked for and not yet here (for reports and tests). */
  get pending(): number {
    return this.wanted.size;
  }

  close(): void {
    this.closed = true;
    for (const list of this.batches.values()) for (const b of list) clearTimeout(b.timer);
    this.batches.clear();
    for (const id of [...this.wanted.keys()]) this.settle(id, undefined);
    this.held.clear();
    this.heldBytes = 0;
  }

  private hold(id: string, hash: string, bytes: Uint8Array): void {
    this.take(id);
    this.held.set(id, { hash, bytes });
    this.heldBytes += bytes.byteLength;
    for (const [old, b] of this.held) {
      if (this.heldBytes <= this.heldBudget || old === id) break;
      this.held.delete(old);
      this.heldBytes -= b.bytes.byteLength;
    }
  }

  private settle(id: string, bytes: Uint8Array | undefined): void {
    const w = this.wanted.get(id);
    if (!w) return;
    this.wanted.delete(id);
    this.queued.delete(id);
    for (const resolve of w.waiters.splice(0)) resolve(bytes);
  }

  /** Not asked of anyone now: waits its turn (sent at the end of this task, many per message). */
  private enqueue(id: string, w: Wanted): void {
    if (this.queued.has(id)) return;
    this.queued.add(id);
    (w.waiters.length > 0 ? this.urgent : this.ahead).push(id);
    this.schedulePump();
  }

  private schedulePump(): void {
    if (!this.closed) this.pumpSoon.request();
  }


  /** A batch's texts not answered by that member go back in the queue, the member passed over. */
  private giveBack(peerId: string, b: Batch): void {
    clearTimeout(b.timer);
    for (const { id } of b.items) {
      const w = this.wanted.get(id);
      if (w?.peer !== peerId) continue;
      w.peer = undefined;
      this.enqueue(id, w);
    }
  }

  /**
   * Sends batches while members have room, each text to the least busy member not yet asked for it:
   * texts someone waits for first, then those fetched ahead while little is held unwritten.
   */
  private pump(): void {
    if (this.closed) return;
    const peers = this.transport.peers().map((p) => p.id);
    if (peers.length === 0) return; // everything waits for a member (peerJoined)
    const forming = new Map<string, { ids: string[]; bytes: number }>();
    for (const queue of [this.urgent, this.ahead]) {
      for (let id = queue.peek(); id !== undefined; id = queue.peek()) {
        const w = this.wanted.get(id);
        if (!w || !this.queued.has(id) || w.peer) {
          queue.shift(); // asked already (an id may sit in both queues), or settled
          continue;
        }
        if (queue === this.ahead && w.waiters.length === 0 && this.heldBytes >= this.heldBudget / 2) break;
        const peer = this.choose(w, peers);
        if (peer === undefined) {
          // Every connected member was asked: nobody has these bytes (the caller falls back).
          queue.shift();
          this.settle(id, undefined);
          continue;
        }
        if (!forming.has(peer) && this.open(peer) >= WINDOW_PER_PEER) break; // waits for a free slot
        queue.shift();
        this.queued.delete(id);
        w.peer = peer;
        w.tried.add(peer);
        let f = forming.get(peer);
        if (!f) forming.set(peer, (f = { ids: [], bytes: 0 }));
        f.ids.push(id);
        f.bytes += w.size;
        if (f.ids.length >= BATCH_FILES || f.bytes >= BATCH_BYTES) {
          this.send(peer, f.ids);
          forming.delete(peer);
        }
      }
    }
    for (const [peer, f] of forming) this.send(peer, f.ids);
  }

  /** Requests at a member still waiting for their answer within the timeout. */
  private open(peer: string): number {
    let n = 0;
    for (const b of this.batches.get(peer) ?? []) if (!b.expired) n++;
    return n;
  }

  private send(peer: string, ids: string[]): void {
    let list = this.batches.get(peer);
    if (!list) this.batches.set(peer, (list = []));
    const items = ids.map((id) => ({ id, hash: this.wanted.get(id)!.hash }));
    const batch: Batch = {
      items,
      expired: false,
      timer: setTimeout(() => {
        batch.expired = true;
        this.giveBack(peer, batch);
        this.schedulePump();
      }, this.timeoutMs),
    };
    batch.timer.unref?.();
    list.push(batch);
    for (const frame of frames(encodeTexts(MessageType.TextsGet, items))) this.transport.send(peer, frame);
  }

  private choose(w: Wanted, peers: string[]): string | undefined {
    let best: string | undefined;
    for (const p of peers) {
      if (w.tried.has(p)) continue;
      if (best === undefined || this.open(p) < this.open(best)) best = p;
    }
    return best;
  }
}
