/**
 * Long runs of work on the event loop (thousands of files at start or join) hand the loop back every
 * few milliseconds, so that the extension host, and the peer's own network, stay responsive.
 *
 * The slice is the event loop's, not each run's: a join runs several such loops at once (the scan,
 * the intake, the writers, the prefetch), all resumed in the same turn of the loop, and a budget
 * each made one turn last their sum (0.1–0.2 s at 30,000 files). So the time is counted from the
 * turn in which slicers last resumed (a mark set first thing in that turn), and a loop that resumes
 * after the others have spent it works MIN_SHARE_MS and hands the loop back again (one step each
 * turn starved a loop of small steps: the first copy's prefetch, which keeps the link busy, asked
 * for one text a turn).
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as turn } from 'node:timers/promises';

/** Work done between two turns of the event loop: well under the 50 ms a stall may last. */
export const SLICE_MS = 12;

/** What a loop may do in a turn whose slice others have spent. */
export const MIN_SHARE_MS = 2;

/** When the current slice began: the start of the turn in which slicers last resumed. */
let sliceStart = performance.now();
/** Which turn that is (counted), so that a loop gets its least share once a turn. */
let sliceTurn = 0;
let markScheduled = false;

/** Sets the slice's start first thing in the next turn, before any slicer resumes in it. */
function markNextTurn(): void {
  if (markScheduled) return;
  markScheduled = true;
  setImmediate(() => {
    markScheduled = false;
    sliceStart = performance.now();
    sliceTurn++;
  });
}

export class Slicer {
  /** When this loop last got the event loop back (or began). */
  private resumed = performance.now();
  /** The turn of that. */
  private resumedTurn = -1;

  constructor(private readonly budgetMs = SLICE_MS) {}

  /** Whether this slice's time is used up (the caller then ends what it does at a safe point). */
  spent(): boolean {
    const now = performance.now();
    return now - sliceStart >= this.budgetMs && now - this.resumed >= MIN_SHARE_MS;
  }

  /**
   * Gives the event loop a turn if this slice's time is used up (as many turns as it takes: a loop
   * that runs as many tasks at once, such as a join's 32 writers, is one loop with one least share
   * a turn, not one each; with one each, 32 writers settling files already on disk held a turn for
   * 60–80 ms).
   */
  async maybeYield(): Promise<void> {
    while (this.spent()) await this.yield();
  }

  async yield(): Promise<void> {
    markNextTurn();
    await turn();
    // Only the first of this loop's tasks back in a turn starts its least share.
    if (this.resumedTurn === sliceTurn) return;
    this.resumedTurn = sliceTurn;
    this.resumed = performance.now();
  }
}

/**
 * Calls `step` for each item, handing the event loop back whenever its slice is spent (looked at
 * every `every` items: looking reads the clock). For loops over tens of thousands of small steps.
 */
export async function forEachSliced<T>(items: Iterable<T>, step: (item: T) => void, every = 256): Promise<void> {
  const slicer = new Slicer();
  let n = 0;
  for (const item of items) {
    if (++n % every === 0) await slicer.maybeYield();
    step(item);
  }
}

/**
 * Joins the piece `pieceOf` makes of each item, a slice of the event loop at a time, into one string
 * per slice: the strings, in order, joined with nothing between them, are the pieces joined with
 * `separator`. Each slice's pieces are joined before the loop turns: held as thousands of small
 * strings across turns, they outlived young collections into the old space (a joiner's peak at
 * 30,000 files rose by about 100 MB with the sync record's list made so). They are not joined into
 * one string at the end: the sync record's list of 100,000 files is ~15 MB, which joined and encoded
 * at once held the loop for 100–270 ms. Written a string at a time (state-dir.ts writeWhole), none
 * is encoded whole.
 */
export async function joinSliced<T>(items: Iterable<T>, pieceOf: (item: T) => string, separator = ''): Promise<string[]> {
  const slicer = new Slicer();
  const chunks: string[] = [];
  let pieces: string[] = [];
  // Every string but the first starts with the separator.
  const flush = () => {
    chunks.push((chunks.length ? separator : '') + pieces.join(separator));
    pieces = [];
  };
  for (const item of items) {
    if (pieces.length % 64 === 63 && slicer.spent()) {
      flush();
      await slicer.yield();
    }
    pieces.push(pieceOf(item));
  }
  if (pieces.length) flush();
  return chunks;
}

/** Items sorted in runs of this many, then merged: a run's sort is well inside a slice. */
const SORT_RUN = 1024;

/**
 * `items` sorted by `compare` (stably), a slice of the event loop at a time: a bottom-up merge sort
 * over runs sorted by Array.prototype.sort. 30,000 paths sorted at once held the loop for 40–50 ms.
 */
export async function sortSliced<T>(items: readonly T[], compare: (a: T, b: T) => number): Promise<T[]> {
  const slicer = new Slicer();
  let runs: T[][] = [];
  for (let from = 0; from < items.length; from += SORT_RUN) {
    runs.push(items.slice(from, from + SORT_RUN).sort(compare));
    await slicer.maybeYield();
  }
  while (runs.length > 1) {
    const merged: T[][] = [];
    for (let i = 0; i < runs.length; i += 2) merged.push(i + 1 < runs.length ? await mergeSliced(runs[i], runs[i + 1], compare, slicer) : runs[i]);
    runs = merged;
  }
  return runs[0] ?? [];
}

/** Merges two sorted runs, the left one's items first among equals. */
async function mergeSliced<T>(left: readonly T[], right: readonly T[], compare: (a: T, b: T) => number, slicer: Slicer): Promise<T[]> {
  const out: T[] = new Array<T>(left.length + right.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < left.length && j < right.length) {
    out[k++] = compare(right[j], left[i]) < 0 ? right[j++] : left[i++];
    if ((k & 1023) === 0) await slicer.maybeYield();
  }
  while (i < left.length) out[k++] = left[i++];
  while (j < right.length) out[k++] = right[j++];
  return out;
}
