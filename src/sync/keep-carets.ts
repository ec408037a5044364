/**
 * Keeping a person's caret before text a collaborator inserts at it, in the editor's own turn.
 *
 * VS Code tracks a caret as a range that grows when text is inserted at its edge, and then collapses
 * it to the end: an insertion at the caret pushes the caret after the arriving text, and a keystroke
 * typed before the binding can put the caret back lands on the wrong side, splitting words (issue 11,
 * item 5). But a caret at the start of an edit that deletes something stays where it is. So an
 * insertion at a caret is sent as a replacement of the character after the caret by the insertion
 * plus that same character: the same text, and the caret stays before the insertion.
 */
import type { Reader } from './edit-algebra';
import type { TextEdit } from './textdiff';

/**
 * `edits` (ascending, non-overlapping, relative to a text of `length` code units that `read` reads)
 * with each insertion at one of `carets` widened over the unit after it (a character, a surrogate
 * pair, a CRLF). An insertion at the very end of the text cannot be widened and is left as it is.
 */
export function widenAtCarets(edits: readonly TextEdit[], carets: readonly number[], length: number, read: Reader): TextEdit[] {
  if (!carets.length) return [...edits];
  const at = new Set(carets);
  return edits.map((e, i) => {
    if (e.deleteCount > 0 || !e.insert || !at.has(e.offset) || e.offset >= length) return e;
    const next = edits[i + 1];
    const unit = read(e.offset, Math.min(2, length - e.offset));
    const n = unit === '\r\n' || /^[\ud800-\udbff][\udc00-\udfff]$/.test(unit) ? 2 : 1;
    if (next && next.offset < e.offset + n) return e; // the next edit starts there: leave both alone
    return { offset: e.offset, deleteCount: n, insert: e.insert + unit.slice(0, n) };
  });
}

/**
 * Every insertion widened as `widenAtCarets` widens one at a caret. The extension host hears of a
 * caret's move after the keystroke that moved it, so the carets it knows can be a keystroke behind:
 * an insertion at the real caret went unwidened, VS Code pushed the caret past the arriving text and
 * the person's next keystrokes split it (the keyboard fuzz, seed 296255728: "A00 B003y8x"). Widened
 * whatever the carets, an insertion keeps any caret at it before it, known or not. Except the
 * insertions `pushing` names: those go on with a collaborator's word in progress whose first letters
 * the buffer already shows (TypingRuns), so a caret there is inside their word, and goes along with
 * it. Kept before the arriving letters, the person's next keystroke split the word (the keyboard
 * fuzz, seed 8004: End pressed after "A004", then Enter: "A004\n    B003yx"), or glued onto it
 * (1047811044: End after the collaborator's " ", " B010y" typed before their "A012x").
 */
export function widenInsertions(edits: readonly TextEdit[], length: number, read: Reader, pushing: (e: TextEdit) => boolean = () => false): TextEdit[] {
  return widenAtCarets(edits, edits.filter((e) => e.deleteCount === 0 && e.insert && !pushing(e)).map((e) => e.offset), length, read);
}
