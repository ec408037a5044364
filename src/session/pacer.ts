/**
 * Pacing bulk data on a connection while a call uses it (issue 19). A connection is one ordered,
 * reliable stream: a voice frame waits behind every byte sent before it, and a transfer that keeps the
 * connection full keeps hundreds of kilobytes ahead of each frame. Measured on loopback with each peer
 * its own process: nothing waited in the local write queues (protomux's send never reported a full
 * stream), but udx held 170–400 KB in flight, and frames took 39–128 ms (p50) from one host to the
 * other instead of 1 ms. Dropping frames cannot help there: what is late is what was already sent.
 *
 * So while a call needs the connection (`hold()`), bulk senders ask `room()` before they send more
 * and wait with `whenRoom()`: room means fewer than BULK_BUDGET bytes are queued locally and in
 * flight, so a frame never waits behind more than that. The price is a transfer's speed during a
 * call: at most BULK_BUDGET per round trip (about 60 MB/s on loopback, 1.3 MB/s over 50 ms).
 * Without a hold, every answer is "room": nothing changes for sessions without a call.
 */
import type { Duplex } from 'node:stream';
import { toDisposable, type IDisposable } from './disposable';

/** Bytes allowed ahead of a voice frame: at 30 MB/s, 2 ms; at 2 MB/s (a slow uplink), 33 ms. */
export const BULK_BUDGET = 64 * 1024;
/** How often a full connection is looked at again while someone waits (udx says nothing on an ack). */
const POLL_MS = 2;

/** What of a connection's queues is read: streamx's buffered bytes, and udx-native's bytes in flight. */
interface Queued {
  _writableState?: { buffered?: number };
  rawStream?: { _writableState?: { buffered?: number }; inflight?: number } | null;
}

export class BulkPacer {
  private holds = 0;
  private waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly stream: Duplex) {
    // A closed connection has no room to wait for: its waiters go on (and find it closed).
    stream.once('close', () => {
      this.holds = 0;
      this.wake();
    });
  }

  /** Bytes queued on this connection and not yet acknowledged by the other side. */
  queued(): number {
    const s = this.stream as unknown as Queued;
    const raw = s.rawStream;
    return (s._writableState?.buffered ?? 0) + (raw?._writableState?.buffered ?? 0) + (raw?.inflight ?? 0);
  }

  /** Whether something (a call) asks bulk senders to keep the connection short. */
  get paced(): boolean {
    return this.holds > 0;
  }

  /** Keeps bulk data on this connection under BULK_BUDGET until the returned disposable is disposed. */
  hold(): IDisposable {
    this.holds++;
    return toDisposable(() => {
      this.holds--;
      if (this.holds === 0) this.wake();
    });
  }

  /** A bulk sender may send now. */
  room(): boolean {
    return this.holds === 0 || this.queued() < BULK_BUDGET;
  }

  /** Calls `fn` once there is room (at once if there is). */
  whenRoom(fn: () => void): void {
    if (this.room()) return fn();
    this.waiters.push(fn);
    this.timer ??= setInterval(() => {
      if (this.room()) this.wake();
    }, POLL_MS);
    this.timer.unref?.();
  }

  private wake(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const w of this.waiters.splice(0)) w();
  }
}

const pacers = new WeakMap<object, BulkPacer>();

/** The one pacer of a connection (by its stream, which protomux's mux and the session share). */
export function pacerOf(stream: Duplex): BulkPacer {
  let p = pacers.get(stream);
  if (!p) pacers.set(stream, (p = new BulkPacer(stream)));
  return p;
}
