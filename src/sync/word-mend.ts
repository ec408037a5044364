/**
 * A collaborator's text that Yjs put inside the person's word in progress, taken out of it.
 *
 * Two people typing at one spot at the same moment insert at the same place in the Y.Text: after the
 * person's last letter, say "A01". Yjs orders such concurrent insertions by client id, so when the
 * collaborator's " B003y" comes first, the person's next letters "2x", typed before " B003y" reached
 * them, end up after it: "A01 B003y2x", the person's word split (the keyboard fuzz in two VS Codes,
 * about one run in twelve; the plain-Node fuzz, seed 1153, where the two insertions met after a
 * deleted run: "(B(A1)1)"). Nothing in the order Yjs chose says who typed first, and no keystroke can
 * be told to go after letters still on the network.
 *
 * The person's binding knows, though, once the collaborator's text arrives: it sits between two of
 * the person's own letters typed one after the other in their current run, inside a word, the
 * collaborator inserted it at the same place as the second (the same Yjs origin: they raced), and
 * the collaborator did not see that second letter (it is not their insertion's right neighbour).
 * Then the person's letters after it ("2x": their letters of this run, shown one after the other)
 * are put again before it, and the old ones removed:
 * "A012x B003y" on every peer. Put again right before the collaborator's first character, they are
 * placed deterministically (Yjs integrates an item whose right neighbour is its right origin without
 * a tie), unless the collaborator inserts there too meanwhile (pasting over their own text inserts
 * right before its first character): that splits the word again, and is mended again (`retyped`).
 * The buffer already shows the person's letters there: only where the collaborator's text goes in
 * the buffer changes.
 *
 * Where a collaborator deliberately typed inside the person's word (they saw the letter after), the
 * right neighbour says so and nothing moves.
 */
import * as Y from 'yjs';
import { landed, type Reader } from './edit-algebra';
import type { TextEdit } from './textdiff';
import { MovedLetters } from './moved-letters';

/** Typing with n cursors puts n characters between one cursor's consecutive ones (as TypingRuns). */
const MAX_CURSORS = 4;
/** How long the person's run of typing lasts after their last keystroke. */
const RUN_MS = 2000;
/** The longest run of the person's letters put again before a collaborator's text. */
export const MAX_MOVED = 64;
/** Two characters inside a word, or a word's start: not after a closing bracket, not before a space (as TypingRuns). */
const INSIDE_WORD = /^[^)\]}>\s]\S$/u;
/** How many insertions of one batch are looked up (each lookup walks the Y.Text). */
const MAX_CHECKS = 8;

export interface Mend {
  /** The change to the shared text, relative to the text before it: the person's letters put again before the collaborator's text, the old ones removed. */
  shared: TextEdit[];
  /** `pending` (buffer → shared text) after it. */
  pending: TextEdit[];
  /** For the binding's log. */
  moved: string;
  before: string;
  /** The clock the first letter moved was first typed with (see `WordMend.mended`). */
  typed: number;
  /** The letters moved, as they were before (deleted by the mend; see moved-letters.ts). */
  old: Y.ID[];
}

/** How many mended words of a run are remembered (see `WordMend.retyped`). */
const MAX_RETYPED = 16;

export class WordMend {
  /** The Yjs clocks [from, to) of this peer's current run of typing, and when it last typed. */
  private run: { from: number; to: number; at: number } | undefined;
  /**
   * Letters this run put again before a collaborator's text: the clock of the first one put again,
   * and the clock it was first typed with. The collaborator's next change at that spot can split the
   * word again: pasting over their own text inserts right before its first character, where the
   * letters were put, and Yjs orders the two by client id (plain-Node fuzz with paste, seed 1108:
   * "<" "(C3)" "A1>"). The letters put again have new clocks, far from the letter before them; the
   * clock they were typed with still says they followed it.
   */
  private retyped: Array<{ clock: number; typed: number }> = [];

  /** Letters put again, watched for a collaborator's deletion of the old ones. */
  private readonly moved: MovedLetters;

  constructor(
    private readonly ytext: Y.Text,
    private readonly now: () => number = Date.now,
    onMovedDeleted?: (count: number) => void,
  ) {
    this.moved = new MovedLetters(ytext, onMovedDeleted, now);
  }

  dispose(): void {
    this.moved.dispose();
  }

  /** `write` puts this peer's typing into the shared text: the Yjs clocks it creates are its run's. */
  typing(write: () => void): void {
    const from = this.clock();
    write();
    const to = this.clock();
    if (to <= from) return;
    const t = this.now();
    const run = this.run;
    if (run && run.to === from && t - run.at < RUN_MS) Object.assign(run, { to, at: t });
    else {
      this.run = { from, to, at: t };
      this.retyped = [];
    }
  }

  /** `write` puts the mend `m` into the shared text (as `typing`). */
  mended(m: Mend, write: () => void): void {
    const clock = this.clock();
    this.typing(write);
    if (this.clock() <= clock) return;
    this.moved.record(m.old, clock);
    this.retyped = [...this.retyped.slice(1 - MAX_RETYPED), { clock, typed: m.typed }];
  }

  /** The clock the letter with `clock` was first typed with (before any mend put it again). */
  private typedAt(clock: number): number {
    return this.retyped.find((r) => r.clock === clock)?.typed ?? clock;
  }

  /** The clock this peer's next item in the shared text's document will have. */
  private clock(): number {
    const doc = this.ytext.doc!;
    return Y.getState(doc.store, doc.clientID);
  }

  /**
   * Looks at `pending` (buffer → shared text; `read` reads the buffer it applies to) for a
   * collaborator's insertion that split this peer's word in progress; returns the mend of the first
   * found (or undefined: nothing to mend). `near` says whether a place in the shared text is near
   * where the person last typed: only there is the shared text walked.
   */
  find(pending: readonly TextEdit[], read: Reader, near: (at: number) => boolean): Mend | undefined {
    const run = this.run;
    if (!run || this.now() - run.at >= RUN_MS) return undefined;
    let checks = 0;
    const placed = landed(pending);
    for (let k = 0; k < placed.length; k++) {
      const { edit: e, at } = placed[k];
      if (!e.insert || e.deleteCount || e.offset === 0) continue;
      // The person's letters on both sides, in the buffer: cheap, before any walk of the Y.Text.
      const [left, right] = [read(e.offset - 1, 1), read(e.offset, 1)];
      if (!INSIDE_WORD.test(left + right) || !near(at)) continue;
      if (++checks > MAX_CHECKS) return undefined;
      const own = this.ownRun(at, e.insert.length, run);
      if (!own) continue;
      // The buffer holds those letters right where the insertion is, up to the next edit pending: only
      // those move. (Letters of the run shown past a pending deletion are past the word: counted in,
      // the mend was refused, seed 1165 with paste.) A deletion right after them stays after them; an
      // insertion there would have to stay after them and before the collaborator's text at once.
      const next = placed[k + 1]?.edit;
      const length = Math.min(own.old.length, next ? next.offset - e.offset : Infinity);
      const end = e.offset + length;
      if (length <= 0 || (next && next.offset === end && next.insert)) continue;
      const moved = read(e.offset, length);
      if (moved.length !== length) continue;
      const shared: TextEdit[] = [
        { offset: at, deleteCount: 0, insert: moved },
        { offset: at + e.insert.length, deleteCount: length, insert: '' },
      ];
      const mended = pending.map((p) => (p === e ? { ...e, offset: e.offset + length } : p));
      return { shared, pending: mended, moved, before: e.insert, typed: own.typed, old: own.old.slice(0, length) };
    }
    return undefined;
  }

  /**
   * Which of this peer's letters (their ids, in order), right after a collaborator's insertion of
   * `length` characters at `index` in the shared text, go on from the letter right before it and raced
   * that insertion (see above): the first typed right after that letter (or put again there by a
   * mend), and every letter of this peer's current run shown after it without a break; with the clock
   * the first was typed with. Undefined when it is not such a split.
   */
  private ownRun(index: number, length: number, run: { from: number; to: number }): { old: Y.ID[]; typed: number } | undefined {
    const { ytext } = this;
    const doc = ytext.doc!;
    const own = doc.clientID;
    if (index + length >= ytext.length) return undefined;
    const left = Y.createRelativePositionFromTypeIndex(ytext, index, -1).item;
    const theirs = Y.createRelativePositionFromTypeIndex(ytext, index, 0).item;
    const first = Y.createRelativePositionFromTypeIndex(ytext, index + length, 0).item;
    if (!left || !theirs || !first || left.client !== own || first.client !== own || theirs.client === own) return undefined;
    const inRun = (clock: number) => run.from <= clock && clock < run.to;
    const typed = this.typedAt(first.clock);
    const after = (clock: number) => clock > left.clock && clock - left.clock <= MAX_CURSORS;
    if (!(after(first.clock) || after(typed)) || !inRun(left.clock) || !inRun(first.clock)) return undefined;
    const theirItem = Y.getItem(doc.store, theirs);
    const firstItem = Y.getItem(doc.store, first);
    // Inserted at the same place as this peer's letter (a race), without having seen that letter.
    if (!sameId(theirItem.origin, originOf(firstItem, first)) || sameId(theirItem.rightOrigin, first)) return undefined;
    // This peer's letters of this run from there on, shown one after the other (an auto-closed
    // pair's closing bracket was typed before the letters between: clocks out of order, one word).
    const old: Y.ID[] = [];
    let item: Y.Item | null = firstItem;
    let clock = first.clock;
    while (item && old.length < MAX_MOVED && !item.deleted && item.id.client === own && inRun(clock)) {
      const end = Math.min(item.id.clock + item.length, clock + MAX_MOVED - old.length, run.to);
      for (let c = clock; c < end; c++) old.push(Y.createID(own, c));
      item = nextShown(item);
      if (item) clock = item.id.clock;
    }
    return old.length ? { old, typed } : undefined;
  }
}

/** The origin of the character `id` within `item` (the character before it, inside a merged item). */
function originOf(item: Y.Item, id: Y.ID): Y.ID | null {
  return id.clock > item.id.clock ? Y.createID(id.client, id.clock - 1) : item.origin;
}

function sameId(a: Y.ID | null, b: Y.ID | null): boolean {
  return !!a && !!b && a.client === b.client && a.clock === b.clock;
}

/** The next item shown after `item` (deleted items in between end the run: they were between). */
function nextShown(item: Y.Item): Y.Item | null {
  const next = item.right;
  return next && !next.deleted && next.countable ? next : null;
}
