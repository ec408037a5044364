/**
 * The index as the updates that made it, in order, in chunks of about CHUNK_BYTES: what a member
 * answers a `step 1` for the index with once the index is large (docs/PROTOCOL.md §6.2).
 *
 * One step 2 of a 30,000-file index is a 6 MB update that the newcomer checks (index-guard.ts) and
 * applies in one turn of its event loop: 1.7 s during which its extension host, which every other
 * extension shares, does nothing else (and the member spends 150 ms encoding it). Yjs cannot cut an
 * update into parts, but the updates a peer's index emitted are parts already: the sharer's scan
 * puts a slice of the event loop's time of files in each (share-files.ts), so the newcomer applies
 * them one slice at a time (index-intake.ts). A peer logs every update its index emits, its own and
 * those it applied, so every member can answer a newcomer this way, not only the sharer.
 *
 * Memory: the updates' bytes (about 200 bytes a file; 6 MB at 30,000 files, against ~70 MB for the
 * index document itself). What the log holds beyond the index's state (values since replaced, content
 * since deleted) grows with the session's changes to the index, not with its typing; past MAX_BYTES
 * the log is dropped and the member answers with one step 2 again.
 */
import * as Y from 'yjs';
import { Slicer } from './slicer';

/** Small updates (a file created, a save) are merged into chunks of about this size. */
export const CHUNK_BYTES = 16 * 1024;
/** Below this the index goes as one step 2, as it always did: nothing to gain from parts. */
export const CHUNKED_FROM = 64 * 1024;
/** Past this the log is dropped (see above). */
const MAX_BYTES = 64 * 1024 * 1024;

/** The clocks each client's structs in an update span, [from, to). */
type Ranges = Map<number, [number, number]>;

/** How a member answers a step 1 for the index from the log: these `update`s in order, then this `step 2`. */
export interface IndexAnswer {
  updates: Uint8Array[];
  step2: Uint8Array;
}

export class IndexLog {
  private readonly chunks: Uint8Array[] = [];
  /** What each chunk's structs span (from the transactions that made it: nothing is parsed). */
  private readonly ranges: Ranges[] = [];
  /** Updates since the last chunk, merged into one once they reach CHUNK_BYTES. */
  private open: Uint8Array[] = [];
  private openRanges: Ranges = new Map();
  private openBytes = 0;
  private total = 0;
  private dropped = false;

  constructor(
    private readonly doc: Y.Doc,
    private readonly maxBytes = MAX_BYTES,
  ) {
    // Made with the index: what a document held before its log began would be missing from it.
    if (Y.encodeStateVector(doc).byteLength > 1) this.dropped = true;
    doc.on('update', this.onUpdate);
  }

  /** The log's size in bytes (0 once dropped). */
  get bytes(): number {
    return this.dropped ? 0 : this.total;
  }

  /**
   * What a peer whose index has state vector `sv` lacks, as updates to apply in order; undefined
   * when the index is small or the log was dropped (then one step 2, Y.encodeStateAsUpdate against
   * `sv`). A peer that holds none of it gets every chunk, the last as the step 2. One that holds part
   * (a clone's joiner that built the index's bases, a restart) gets the chunks whose structs it lacks,
   * each cut down to those (Y.diffUpdate) unless it has none of them, and a step 2 with the index's
   * deletions alone: the chunks it skipped may have deleted something. Which chunks it lacks is read
   * from their clock ranges, not their bytes (cutting every chunk down read all of them: a third of
   * a second at 10,000 files).
   */
  since(sv: Uint8Array): IndexAnswer | undefined {
    const steps = this.answer(sv);
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
    }
  }

  /**
   * The same a slice of the event loop at a time: cutting the chunks down for a peer that holds part
   * of the index (a clone's joiner) took 90–125 ms in one turn at 30,000 files. What the index emits
   * meanwhile is not in the answer: it goes to that peer as any update does (§6.2).
   */
  async sinceSliced(sv: Uint8Array): Promise<IndexAnswer | undefined> {
    const slicer = new Slicer();
    const steps = this.answer(sv);
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
      await slicer.maybeYield();
    }
  }

  /** since(), yielding after each chunk it cuts down. Starts (and seals the open chunk) on the first next(). */
  private *answer(sv: Uint8Array): Generator<void, IndexAnswer | undefined> {
    if (this.dropped || this.total < CHUNKED_FROM) return undefined;
    this.seal();
    // The chunks of this instant: a seal or a drop while the answer is cut does not touch them.
    const chunks = [...this.chunks];
    const ranges = [...this.ranges];
    const has = Y.decodeStateVector(sv);
    if (has.size === 0) return { updates: chunks.slice(0, -1), step2: chunks[chunks.length - 1] };
    const updates: Uint8Array[] = [];
    for (let i = 0; i < chunks.length; i++) {
      const spans = [...ranges[i]];
      if (spans.every(([client, [, to]]) => to <= (has.get(client) ?? 0))) continue;
      if (spans.every(([client, [from]]) => from >= (has.get(client) ?? 0))) updates.push(chunks[i]);
      else {
        updates.push(Y.diffUpdate(chunks[i], sv));
        yield;
      }
    }
    return { updates, step2: Y.encodeStateAsUpdate(this.doc, Y.encodeStateVector(this.doc)) };
  }

  dispose(): void {
    this.doc.off('update', this.onUpdate);
    this.drop();
  }

  private readonly onUpdate = (update: Uint8Array, _origin: unknown, _doc: Y.Doc, tr: Y.Transaction): void => {
    if (this.dropped) return;
    // An update that is a chunk's size by itself (an index base: ~250 bytes a file) is a chunk of
    // its own, after those before it: merged with them, it was decoded and encoded again for
    // nothing (0.85 s of a 100,000-file start's CPU), and a clone that built it skips it whole.
    if (update.byteLength >= CHUNK_BYTES) this.seal();
    this.open.push(update);
    for (const [client, to] of tr.afterState) {
      const from = tr.beforeState.get(client) ?? 0;
      if (to <= from) continue;
      const known = this.openRanges.get(client);
      this.openRanges.set(client, known ? [Math.min(known[0], from), Math.max(known[1], to)] : [from, to]);
    }
    this.openBytes += update.byteLength;
    this.total += update.byteLength;
    if (this.total > this.maxBytes) return this.drop();
    if (this.openBytes >= CHUNK_BYTES) this.seal();
  };

  private seal(): void {
    if (this.open.length === 0) return;
    this.chunks.push(this.open.length === 1 ? this.open[0] : Y.mergeUpdates(this.open));
    this.ranges.push(this.openRanges);
    this.open = [];
    this.openRanges = new Map();
    this.openBytes = 0;
  }

  private drop(): void {
    this.dropped = true;
    this.chunks.length = 0;
    this.ranges.length = 0;
    this.open = [];
    this.openRanges = new Map();
    this.openBytes = 0;
  }
}
