/**
 * Which of a shared text's characters collaborators are typing right now, so that the binding can
 * tell the rest of a word they are typing from text that merely arrives at a caret.
 *
 * A keystroke at the very spot where a collaborator's text is still on its way to the editor goes
 * before it by default: text arriving at someone's caret lands after what they type, and both words
 * stay whole. But when that text continues a word whose start the editor already shows (the person
 * pressed End after the collaborator's first letters arrived), putting the keystroke before it splits
 * the collaborator's word (the keyboard fuzz in two VS Codes, seed 257761087: " complet" landed
 * between a collaborator's " " and "A008x", and accepting the completion replaced "completA008x" as
 * one word). Such a keystroke, and such a caret, go after it.
 *
 * A character "continues" the one before it when the same collaborator typed both, one right after
 * the other (Yjs clocks at most a few apart: one per cursor; seed 1004 split "A009x" at the second of
 * two cursors), and the one before arrived in their current run of typing: text they typed long ago
 * and now extend is not a word in progress (and taking it for one moved carets into the path of the
 * letters still to come, where Yjs then ordered the two people's letters by client id and
 * interleaved them).
 */
import * as Y from 'yjs';

/** Typing with n cursors puts n characters between one cursor's consecutive ones (in Yjs clocks). */
const MAX_CURSORS = 4;
/** How long a collaborator's run of typing lasts after their last change arrived. */
const RUN_MS = 2000;
/** Two characters inside a word, or a word's start: not after a closing bracket, not before a space. */
const INSIDE_WORD = /^[^)\]}>]\S$/u;

interface Run {
  /** The clocks [from, to) the collaborator's changes of this run created. */
  from: number;
  to: number;
  /** When the run's last change arrived. */
  at: number;
}

export class TypingRuns {
  private readonly runs = new Map<number, Run>();

  constructor(
    private readonly ytext: Y.Text,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a collaborator's run of typing is going on (their last change arrived lately). */
  live(): boolean {
    const t = this.now();
    for (const run of this.runs.values()) if (t - run.at < RUN_MS) return true;
    return false;
  }

  /** A collaborators' transaction was applied to the shared text's document. */
  noteRemote(tx: Y.Transaction): void {
    const own = this.ytext.doc!.clientID;
    const t = this.now();
    tx.afterState.forEach((to, client) => {
      const from = tx.beforeState.get(client) ?? 0;
      if (client === own || to <= from) return;
      const run = this.runs.get(client);
      if (run && run.to === from && t - run.at < RUN_MS) Object.assign(run, { to, at: t });
      else this.runs.set(client, { from, to, at: t });
    });
  }

  /**
   * Whether the shared text at `index` starts a collaborator's insertion that continues their word
   * in progress: they typed it just after the character before it, which arrived in this run, and
   * those two characters (`around` reads them, only when the rest holds) are inside a word or start
   * one. After a closing bracket, or before a space, the collaborator is between words: a keystroke there splits none, and going after
   * the rest would put it in the path of their next letters instead (the binding fuzz).
   */
  continuesLeft(index: number, around: () => string): boolean {
    if (index === 0 || index >= this.ytext.length || !this.runs.size || !INSIDE_WORD.test(around())) return false;
    const left = Y.createRelativePositionFromTypeIndex(this.ytext, index, -1).item;
    const first = Y.createRelativePositionFromTypeIndex(this.ytext, index, 0).item;
    if (!left || !first || left.client !== first.client || first.clock <= left.clock || first.clock - left.clock > MAX_CURSORS) return false;
    const run = this.runs.get(left.client);
    return !!run && run.from <= left.clock && left.clock < run.to && this.now() - run.at < RUN_MS;
  }
}
