/**
 * Content-addressed chunks of binary (and oversized text) files: split, hashed, kept briefly in
 * memory, served to peers from memory or from the owner's disk, and fetched on demand with a bounded
 * number of requests in flight per peer (flow control), each verified against its hash.
 */
import type { Logger } from '../session/log';
import type { PeerTransport } from '../session/transport';
import { contentHash, HASH_SLICE, knownChunkHashes, prehash } from './hash';
import { CHUNK_SIZE, MessageType, encodeBlob } from './protocol';

export interface ChunkedContent {
  hash: string;
  size: number;
  chunks: string[];
}

/** Splits a content into chunks; the hashes come from prehash(content, CHUNK_SIZE) when it ran (a large file). */
export function chunk(content: Uint8Array): { info: ChunkedContent; parts: Map<string, Uint8Array> } {
  const parts = new Map<string, Uint8Array>();
  const chunks: string[] = [];
  const hashes = knownChunkHashes(content, CHUNK_SIZE);
  for (let off = 0; off < content.byteLength; off += CHUNK_SIZE) {
    const part = content.subarray(off, off + CHUNK_SIZE);
    const h = hashes?.[off / CHUNK_SIZE] ?? contentHash(part);
    chunks.push(h);
    parts.set(h, part);
  }
  return { info: { hash: contentHash(content), size: content.byteLength, chunks }, parts };
}

/** Where this peer can read a chunk it does not hold in memory (the mirror reads the file on disk). */
export type ChunkReader = (hash: string) => Promise<Uint8Array | undefined>;

const WINDOW_PER_PEER = 8;
const REQUEST_TIMEOUT_MS = 30_000;
/** Chunks kept in memory; beyond this the oldest are dropped (they can be read from disk again). */
const MEMORY_BUDGET = 256 * 1024 * 1024;
/**
 * The same with a `reader` (a disk mirror): every current version is in a file there, so memory only
 * saves re-reading the newest chunks. Kept as large as the first, every binary of a 10,000-file
 * workspace stayed in memory (10 MB of the sharer's 106 MB heap), growing with the workspace.
 */
const MEMORY_BUDGET_WITH_DISK = 4 * 1024 * 1024;
/** Hints of who holds a chunk, kept at most; beyond this the oldest are forgotten (a hint only saves round trips). */
const MAX_HINTS = 65_536;

interface Pending {
  resolve(data: Uint8Array): void;
  reject(err: Error): void;
  tried: Set<string>;
  peer?: string;
  /** A request is waiting for a slot (one at a time, or two answers would race). */
  choosing?: boolean;
  timer?: NodeJS.Timeout;
}

export class BlobStore {
  private readonly memory = new Map<string, Uint8Array>();
  private memoryBytes = 0;
  private readonly pending = new Map<string, { promise: Promise<Uint8Array>; state: Pending }>();
  private readonly inFlight = new Map<string, number>();
  private readonly waiting: Array<() => void> = [];
  private readonly serveQueues = new Map<string, Promise<void>>();
  /** Called back when every member was asked for a chunk and none had it (it is asked again on a join). */
  private readonly exhaustedWaiters = new Map<string, Array<() => void>>();
  /** Chunk → the member whose index update named it: it holds the chunk, others may not yet (§6.3). */
  private readonly holders = new Map<string, string>();
  reader: ChunkReader | undefined;
  closed = false;

  constructor(
    private readonly transport: PeerTransport,
    private readonly logger: Logger,
  ) {}

  remember(parts: Map<string, Uint8Array>): void {
    for (const [h, data] of parts) {
      if (this.memory.has(h)) continue;
      this.memory.set(h, data);
      this.memoryBytes += data.byteLength;
    }
    const budget = this.reader ? MEMORY_BUDGET_WITH_DISK : MEMORY_BUDGET;
    for (const [h, data] of this.memory) {
      if (this.memoryBytes <= budget) break;
      this.memory.delete(h);
      this.memoryBytes -= data.byteLength;
    }
  }

  async local(hash: string): Promise<Uint8Array | undefined> {
    const m = this.memory.get(hash);
    if (m) return m;
    const fromDisk = await this.reader?.(hash).catch(() => undefined);
    return fromDisk && contentHash(fromDisk) === hash ? fromDisk : undefined;
  }

  /**
   * The bytes of a whole file, from memory, disk or peers; verified. Put together and hashed a slice
   * at a time (a copy and a hash of a large file in one go held the event loop: hash.ts).
   */
  async assemble(info: ChunkedContent): Promise<Uint8Array> {
    const parts = await Promise.all(info.chunks.map((h) => this.get(h)));
    const size = parts.reduce((n, p) => n + p.byteLength, 0);
    const whole = Buffer.allocUnsafeSlow(size);
    for (let at = 0, i = 0; i < parts.length; i++) {
      whole.set(parts[i], at);
      at += parts[i].byteLength;
      if (at % HASH_SLICE < parts[i].byteLength && at < size) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await prehash(whole);
    if (whole.byteLength !== info.size || contentHash(whole) !== info.hash) {
      throw new Error('assembled content does not match its hash');
    }
    return whole;
  }

  get(hash: string): Promise<Uint8Array> {
    const known = this.pending.get(hash);
    if (known) return known.promise;
    const state: Pending = { resolve: () => {}, reject: () => {}, tried: new Set() };
    const promise = new Promise<Uint8Array>((resolve, reject) => {
      state.resolve = resolve;
      state.reject = reject;
    });
    this.pending.set(hash, { promise, state });
    void this.local(hash).then((data) => (data ? this.settle(hash, data) : this.request(hash)));
    return promise;
  }

  /**
   * `peer` sent the index update that names these chunks: ask it first. A member that has not
   * fetched a new file yet answers `blob-missing`, and each such answer is a round trip lost.
   */
  prefer(hashes: readonly string[], peer: string): void {
    for (const h of hashes) {
      this.holders.delete(h); // re-inserted: the newest hints are the last forgotten
      this.holders.set(h, peer);
    }
    for (const h of this.holders.keys()) {
      if (this.holders.size <= MAX_HINTS) break;
      this.holders.delete(h);
    }
  }

  /** Resolves when every member was asked for a chunk being fetched and none had it. */
  whenExhausted(hash: string): Promise<void> {
    return new Promise((resolve) => {
      let list = this.exhaustedWaiters.get(hash);
      if (!list) this.exhaustedWaiters.set(hash, (list = []));
      list.push(resolve);
    });
  }

  /** A peer asked for a chunk: answer in order, waiting for its queue to drain when congested. */
  serve(peerId: string, hash: string): void {
    const previous = this.serveQueues.get(peerId) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (this.closed) return;
      const data = await this.local(hash);
      const sent = data
        ? this.transport.send(peerId, encodeBlob(MessageType.BlobData, hash, data))
        : this.transport.send(peerId, encodeBlob(MessageType.BlobMissing, hash));
      if (!sent) await this.transport.drained(peerId);
    });
    this.serveQueues.set(peerId, next.catch(() => {}));
  }

  /** A chunk arrived. False when it was not asked for or does not match its hash (cut the peer off). */
  receive(peerId: string, hash: string, data: Uint8Array): boolean {
    const p = this.pending.get(hash);
    if (!p || p.state.peer !== peerId) return false;
    if (contentHash(data) !== hash) return false;
    this.release(peerId);
    this.remember(new Map([[hash, data]]));
    this.settle(hash, data);
    return true;
  }

  missing(peerId: string, hash: string): void {
    const p = this.pending.get(hash);
    if (!p || p.state.peer !== peerId) return;
    this.release(peerId);
    clearTimeout(p.state.timer);
    p.state.peer = undefined;
    void this.request(hash);
  }

  peerLeft(peerId: string): void {
    this.inFlight.delete(peerId);
    for (const [hash, p] of this.pending) {
      if (p.state.peer === peerId) {
        clearTimeout(p.state.timer);
        p.state.peer = undefined;
        void this.request(hash);
      }
    }
    this.wake();
  }

  /** Retry chunks that found no peer, now that someone new is here. */
  peerJoined(): void {
    for (const [hash, p] of this.pending) {
      if (!p.state.peer) {
        p.state.tried.clear();
        void this.request(hash);
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.state.timer);
      p.state.reject(new Error('the workspace was closed'));
    }
    this.pending.clear();
    this.exhaustedWaiters.clear();
    this.wake();
  }

  private async request(hash: string): Promise<void> {
    const p = this.pending.get(hash);
    if (!p || this.closed || p.state.peer || p.state.choosing) return;
    const candidates = this.transport.peers().filter((x) => !p.state.tried.has(x.id));
    if (candidates.length === 0) {
      // Waits for peerJoined(); if members were asked, nobody here has it: say so to those who care.
      if (p.state.tried.size > 0) this.exhaustedWaiters.get(hash)?.splice(0).forEach((w) => w());
      return;
    }
    // The member that named the chunk, while it has a free slot (a join's many chunks still spread
    // over every member); else the least busy peer.
    const holder = this.holders.get(hash);
    const hinted = holder !== undefined && (this.inFlight.get(holder) ?? 0) < WINDOW_PER_PEER ? candidates.find((x) => x.id === holder) : undefined;
    candidates.sort((a, b) => (this.inFlight.get(a.id) ?? 0) - (this.inFlight.get(b.id) ?? 0));
    const peer = (hinted ?? candidates[0]).id;
    p.state.choosing = true;
    await this.acquire(peer);
    p.state.choosing = false;
    if (this.closed || !this.pending.has(hash)) return this.release(peer);
    if (!this.transport.peers().some((x) => x.id === peer)) {
      // It left while we waited for a slot: asking it would only wait for the timeout.
      this.release(peer);
      return this.request(hash);
    }
    p.state.peer = peer;
    p.state.tried.add(peer);
    p.state.timer = setTimeout(() => {
      this.logger.debug(`chunk ${hash.slice(0, 8)} timed out at ${peer.slice(0, 8)}`);
      this.missing(peer, hash);
    }, REQUEST_TIMEOUT_MS);
    this.transport.send(peer, encodeBlob(MessageType.BlobGet, hash));
  }

  private async acquire(peer: string): Promise<void> {
    while ((this.inFlight.get(peer) ?? 0) >= WINDOW_PER_PEER && !this.closed && this.transport.peers().some((x) => x.id === peer)) {
      await new Promise<void>((r) => this.waiting.push(r));
    }
    this.inFlight.set(peer, (this.inFlight.get(peer) ?? 0) + 1);
  }

  private release(peer: string): void {
    const n = this.inFlight.get(peer) ?? 0;
    if (n > 0) this.inFlight.set(peer, n - 1);
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiting.splice(0)) w();
  }

  private settle(hash: string, data: Uint8Array): void {
    this.exhaustedWaiters.delete(hash);
    this.holders.delete(hash);
    const p = this.pending.get(hash);
    if (!p) return;
    clearTimeout(p.state.timer);
    this.pending.delete(hash);
    p.state.resolve(data);
  }
}
