/**
 * Where the person's carets go when a collaborator's text arrives at them, and which side of a
 * collaborator's arriving text a keystroke at the same spot goes (the buffer binding's caret rules).
 *
 * A caret stays before text arriving at it, so each person's words stay whole (as the Yjs editor
 * bindings keep selections), unless that text continues the collaborator's word in progress right
 * before the caret (TypingRuns): then the caret, and a keystroke typed there before the text reached
 * the buffer, go past it. The caret goes past it in VS Code's own turn (such an insertion is not
 * widened, keep-carets.ts) and, where the extension host knew the caret was there, is put past it
 * again after the edit (`putBack`).
 */
import * as Y from 'yjs';
import { landed, mapBack, readerAfter, type Reader } from './edit-algebra';
import { mapOffset, type TextEdit } from './textdiff';
import type { EditorBuffer, Flight } from './editor-buffer';
import { TypingRuns } from './typing-runs';

/** How many of one flight's insertions are looked up as a possible word in progress (wordsInProgress). */
const MAX_WORD_CHECKS = 32;

export class BindingCarets {
  private readonly runs: TypingRuns;

  constructor(
    private readonly ytext: Y.Text,
    private readonly buffer: EditorBuffer,
  ) {
    this.runs = new TypingRuns(ytext);
  }

  /** A collaborators' transaction reached the shared text (not an undo or redo of this editor's). */
  noteRemote(tx: Y.Transaction): void {
    this.runs.noteRemote(tx);
  }

  /**
   * Whether the insertion `toShared` (buffer → shared text) makes at buffer offset `at` continues a
   * collaborator's word in progress; `read` reads the buffer `toShared` applies to.
   */
  continuesWord(toShared: readonly TextEdit[], at: number, read: Reader): boolean {
    if (at === 0 || !toShared.some((e) => e.offset === at && e.insert)) return false;
    const index = mapOffset(toShared, at);
    return this.runs.continuesLeft(index, () => readerAfter(toShared, read)(index - 1, 2));
  }

  /**
   * Which insertions of a flight (`edits`: buffer → shared text, touching ones merged, so the
   * character before each insertion is the buffer's own) go on with a collaborator's word in
   * progress, as `continuesWord` says: one pass over the edits, and at most MAX_WORD_CHECKS looked
   * up in the shared text, so that a flight of thousands of edits (a trace replayed into an open
   * file, a lagging editor) costs per edit what a keystroke's does. Past those, insertions are kept
   * before a caret as every other insertion is.
   */
  wordsInProgress(edits: readonly TextEdit[], read: Reader): (e: TextEdit) => boolean {
    if (!this.runs.live()) return () => false;
    const index = new Map(landed(edits).filter(({ edit }) => edit.insert && !edit.deleteCount).map(({ edit, at }) => [edit.offset, at]));
    let checks = 0;
    return (e) => {
      const i = index.get(e.offset);
      if (i === undefined || ++checks > MAX_WORD_CHECKS) return false;
      return this.runs.continuesLeft(i, () => read(e.offset - 1, 1) + e.insert[0]);
    };
  }

  /** Buffer offsets (carets, selection ends) as positions in the shared text, for `putBack`. */
  anchor(offsets: readonly number[], toShared: readonly TextEdit[], read: Reader): Pick<Flight, 'anchors' | 'ahead'> {
    const ahead = offsets.map((o, k) => !selectionStart(offsets, k) && this.continuesWord(toShared, o, read));
    // A selection's start holds on to the first selected character (text arriving before it stays
    // outside the selection); a caret, and a selection's end, to the character before them.
    const anchors = offsets.map((o, k) => {
      const start = selectionStart(offsets, k);
      return Y.createRelativePositionFromTypeIndex(this.ytext, mapOffset(toShared, o, ahead[k] || start), start ? 0 : -1);
    });
    return { anchors, ahead };
  }

  /**
   * Puts back a caret the applied flight pushed along (text inserted at it): before the arriving
   * text, as its anchor says (or past it, `ahead`). Only such a caret: the extension host hears of
   * caret moves late, so the carets read when the flight was sent may be where the person's caret was
   * before they moved it (Ctrl+Home, End, a click); putting those back sent their next keystrokes
   * there, into the middle of other words (the keyboard fuzz, seed 1078646258).
   *
   * Carets are moved only where needed: VS Code sets selections in the window later than the
   * extension host asks, so a person typing meanwhile has their caret put back to where it was a few
   * keystrokes ago. Moving every caret that sat before a collaborator's arriving word past it (not
   * only those read when the edit was sent) did that often enough to split the person's own words in
   * 2 of 10 keyboard-fuzz runs ("B0" here, "10y" three characters back), and was taken out.
   * `toShared` maps the buffer at `version` to the shared text.
   */
  putBack(f: Flight, version: number, toShared: readonly TextEdit[]): void {
    if (!f.anchors || !f.carets || !this.buffer.setCarets || !this.buffer.carets || this.buffer.version() !== version) return;
    const now = this.buffer.carets();
    const anchored = f.anchors.map((a) => {
      const abs = Y.createAbsolutePositionFromRelativePosition(a, this.ytext.doc!);
      return abs && abs.type === this.ytext ? mapBack(toShared, abs.index) : undefined;
    });
    if (now.length !== f.carets.length || !anchored.every((o): o is number => o !== undefined)) return;
    const sent = f.carets;
    // Pushed along, or kept before the arriving text where it goes past it.
    const next = now.map((o, k) => {
      // A selection's start that stayed before text arriving at it would take that text into the
      // selection (VS Code keeps a position at the start of a replacement): it goes past the text.
      if (selectionStart(sent, k)) return o === mapOffset(f.sent, sent[k]) || o === mapOffset(f.sent, sent[k], true) ? anchored[k] : o;
      return o === mapOffset(f.sent, sent[k], true) || (f.ahead?.[k] && o === mapOffset(f.sent, sent[k])) ? anchored[k] : o;
    });
    if (next.some((o, k) => o !== now[k])) this.buffer.setCarets(next, version);
  }
}

/**
 * Whether `offsets[k]` is the start of a selection that is not empty: carets come as one
 * (anchor, active) pair per selection (EditorBuffer.carets).
 */
function selectionStart(offsets: readonly number[], k: number): boolean {
  const other = offsets[k ^ 1];
  return offsets.length % 2 === 0 && other !== undefined && offsets[k] < other;
}
