/**
 * Index updates from members, applied in the order they came and no more than a slice of the event
 * loop's time in a row: a member answers a newcomer with the index in chunks (index-log.ts), which
 * arrive faster than they apply, and 30,000 entries applied in one turn stall the extension host for
 * seconds. An update that finds none waiting, in a turn that has time left, is applied at once (a
 * live change loses nothing to the queue).
 *
 * Applying can throw (a ProtocolError: the guard refused the update); then the member that sent it is
 * cut off (`refuse`) and its updates still waiting are dropped.
 */
import { performance } from 'node:perf_hooks';
import { OnceSoon } from '../session/once-soon';
import type { PeerInfo } from '../session/transport';
import { SLICE_MS } from './slicer';

interface Waiting {
  peer: PeerInfo;
  update: Uint8Array;
  complete: boolean;
}

export class IndexIntake {
  private readonly waiting: Waiting[] = [];
  /** Time spent applying in the current turn of the event loop, and whether a new turn resets it. */
  private spent = 0;
  /** The time spent applying starts again from 0 on the next turn. */
  private readonly nextTurn = new OnceSoon(() => (this.spent = 0));
  private readonly drainSoon = new OnceSoon(() => this.drain());
  private closed = false;

  constructor(
    private readonly apply: (peer: PeerInfo, update: Uint8Array, complete: boolean) => void,
    private readonly refuse: (peer: PeerInfo, err: unknown) => void,
  ) {}

  /** Applies now (throwing what applying throws), or after the updates waiting. */
  take(peer: PeerInfo, update: Uint8Array, complete: boolean): void {
    if (this.closed) return;
    if (this.waiting.length === 0 && this.spent < SLICE_MS) return this.timed(peer, update, complete);
    this.waiting.push({ peer, update, complete });
    this.drainSoon.request();
  }

  close(): void {
    this.closed = true;
    this.waiting.length = 0;
  }

  private timed(peer: PeerInfo, update: Uint8Array, complete: boolean): void {
    this.nextTurn.request();
    const start = performance.now();
    try {
      this.apply(peer, update, complete);
    } finally {
      this.spent += performance.now() - start;
    }
  }

  private drain(): void {
    while (this.waiting.length && !this.closed && this.spent < SLICE_MS) {
      const { peer, update, complete } = this.waiting.shift()!;
      try {
        this.timed(peer, update, complete);
      } catch (err) {
        this.refuse(peer, err);
        for (let i = this.waiting.length - 1; i >= 0; i--) if (this.waiting[i].peer.id === peer.id) this.waiting.splice(i, 1);
      }
    }
    if (this.waiting.length && !this.closed) this.drainSoon.request();
  }
}
