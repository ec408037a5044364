/**
 * Voices relayed one hop (docs/PROTOCOL.md §9.7): when the mesh lacks a link between two members in
 * the call, a member connected to both carries the speaker's frames across. Each member in the call
 * tells its neighbours whom it hears directly (`reach`); a member that does not hear a speaker
 * directly asks exactly one neighbour that does for that speaker's frames (`want`), so a frame comes
 * once, never once per common neighbour. Frames are relayed only from the speaker's own connection,
 * never a relayed frame again: no loops, at most one hop (enough whenever one link is missing; a
 * mesh sparser than that leaves some pairs unheard, and says so in `members`).
 *
 * This module is the wire formats and the choices, without channels: `call.ts` uses them.
 */
import c from 'compact-encoding';
import type { Encoding } from 'compact-encoding';
import { cleanName } from '../wire';
import { displayColour } from '../untrusted';
import { field, writeFields } from '../fields';

/** A call of up to 8 people needs 7; anything beyond this many entries is refused. */
export const MAX_REACH = 32;

/** A member in the call that the sender hears directly. */
export interface ReachEntry {
  /** Its public key, hex (as PeerInfo.id). */
  id: string;
  name: string;
  colour: string;
  muted: boolean;
}

const key: Encoding<string> = {
  preencode: (state) => c.fixed32.preencode(state, Buffer.alloc(32)),
  encode: (state, id) => c.fixed32.encode(state, Buffer.from(id, 'hex')),
  decode: (state) => Buffer.from(c.fixed32.decode(state)).toString('hex'),
};

const entryEncoding: Encoding<ReachEntry> = {
  ...writeFields<ReachEntry>(
    field(key, (e) => e.id),
    field(c.string, (e) => e.name),
    field(c.string, (e) => e.colour),
    field(c.uint, (e) => (e.muted ? 1 : 0)),
  ),
  decode(state) {
    const id = key.decode(state);
    const name = cleanName(c.string.decode(state));
    const colour = displayColour(c.string.decode(state));
    return { id, name, colour, muted: (c.uint.decode(state) & 1) !== 0 };
  },
};

function bounded<T>(item: Encoding<T>, what: string): Encoding<T[]> {
  const list = c.array(item);
  return {
    preencode: (state, xs) => list.preencode(state, xs),
    encode: (state, xs) => list.encode(state, xs),
    decode(state) {
      const xs = list.decode(state);
      if (xs.length > MAX_REACH) throw new Error(`${what} of ${xs.length} members (max ${MAX_REACH})`);
      return xs;
    },
  };
}

export const reachEncoding = bounded(entryEncoding, 'reach');
export const wantEncoding = bounded(key, 'want');
export const originEncoding = key;

/** What one neighbour in the call says it hears directly. */
export interface Neighbour {
  id: string;
  reach: readonly ReachEntry[];
}

/**
 * For each speaker this peer does not hear directly, the one neighbour to hear them through: the one
 * chosen before while it still reaches them (a change of relay would repeat or skip frames), else the
 * neighbour with the smallest id that does. `direct`: the members in the call connected to this peer.
 */
export function chooseRelays(self: string, direct: ReadonlySet<string>, neighbours: readonly Neighbour[], before: ReadonlyMap<string, string>): Map<string, string> {
  const via = new Map<string, string>();
  const reaches = (n: string, origin: string) => neighbours.some((x) => x.id === n && x.reach.some((e) => e.id === origin));
  const sorted = [...neighbours].sort((x, y) => (x.id < y.id ? -1 : 1));
  for (const n of sorted) {
    for (const e of n.reach) {
      if (e.id === self || direct.has(e.id) || via.has(e.id)) continue;
      const kept = before.get(e.id);
      via.set(e.id, kept !== undefined && reaches(kept, e.id) ? kept : n.id);
    }
  }
  return via;
}

/**
 * Which of a speaker's frames were heard already (by `seq`), so that the same frame arriving both
 * directly and relayed (while a link comes up or goes down) is played once.
 */
export class SeenFrames {
  private max = -1;
  private readonly seen = new Set<number>();
  /** Frames this far behind the newest are too old to play anyway. */
  private static readonly SPAN = 256;

  /** True the first time `seq` is heard. */
  first(seq: number): boolean {
    // Far behind: the speaker started again (its seq counts from 0 per call object), not a repeat.
    if (seq < this.max - 4 * SeenFrames.SPAN) this.reset();
    if (this.seen.has(seq) || seq <= this.max - SeenFrames.SPAN) return false;
    this.seen.add(seq);
    if (seq > this.max) {
      this.max = seq;
      for (const s of this.seen) if (s <= this.max - SeenFrames.SPAN) this.seen.delete(s);
    }
    return true;
  }

  reset(): void {
    this.max = -1;
    this.seen.clear();
  }
}
