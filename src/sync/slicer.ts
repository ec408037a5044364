/**
 * Long runs of work on the event loop (thousands of files at start or join) hand the loop back every
 * few milliseconds, so that the extension host, and the peer's own network, stay responsive.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as turn } from 'node:timers/promises';

/** Work done between two turns of the event loop: well under the 50 ms a stall may last. */
export const SLICE_MS = 12;

export class Slicer {
  private since = performance.now();

  constructor(private readonly budgetMs = SLICE_MS) {}

  /** Whether this slice's time is used up (the caller then ends what it does at a safe point). */
  spent(): boolean {
    return performance.now() - this.since >= this.budgetMs;
  }

  /** Gives the event loop a turn if this slice's time is used up. */
  async maybeYield(): Promise<void> {
    if (this.spent()) await this.yield();
  }

  async yield(): Promise<void> {
    await turn();
    this.since = performance.now();
  }
}
