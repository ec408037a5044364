/**
 * A keystroke that races the buffer binding's flight (the edits it sent its editor, see Flight), and
 * what the buffer lacks then: the flight's edits back in `pending`; and, when the editor broke the
 * version-stamp promise (EditorBuffer.applyEdits) and applied the flight on top of the keystroke
 * anyway, that change taken back. Functions of their arguments: the binding keeps the state.
 */
import { compose, landed, readerOfRemoved, sameChange, trimNoOps, type Reader } from './edit-algebra';
import { sameInserts, type Flight } from './editor-buffer';
import { mapOffset, type TextEdit } from './textdiff';

/** How many keystrokes may come between a raced flight's answer and its shifted echo. */
export const MAX_RACERS = 8;

/**
 * A change reported after the editor said it applied the flight: the flight itself (`echo`); the
 * flight applied on top of a keystroke, at the lines and columns it was addressed by (`on-top`: the
 * same insertions, shifted, a deletion maybe clamped to a shorter line); or a keystroke that came
 * first (`racer`).
 */
export function afterAnswer(f: Flight, changes: readonly TextEdit[]): 'echo' | 'on-top' | 'racer' {
  if (!f.raced && sameChange(changes, f.sent)) return 'echo';
  return sameInserts(changes, f.sent) ? 'on-top' : 'racer';
}

/** Whether the flight's edits count as in the buffer: out, neither echoed nor raced. */
export function inBuffer(f: Flight | undefined): f is Flight {
  return !!f && !f.echoed && !f.raced;
}

/**
 * A flight that did not land, or not first: its edits back in `pending` (which then starts from the
 * buffer before them). An undo sent in the flight and its redo pending since make a removal put back
 * as it was (Yjs redoes with new items): trimmed, as BufferBinding.trimPending trims it when both are
 * pending. Left in, it stood for "their copy replaced yours", and a keystroke deleting that text
 * deleted only the old copy: the text came back (the undo/redo fuzz: seed 1040 when the keystroke
 * raced the flight; 1049 when it deleted exactly what the flight did, so that it waited for the
 * answer, a refusal).
 */
export function foldedBack(f: Flight, pending: readonly TextEdit[]): TextEdit[] {
  const folded = compose(f.edits, pending);
  return f.removed?.length ? trimNoOps(folded, readerOfRemoved(f.removed)) : folded;
}

/**
 * What the buffer lacks after the editor applied the flight on top of a keystroke (VS Code can, when
 * a keystroke slips in while it prepares the edit). The edits land a few characters off: a
 * collaborator's text inside the person's word, a deletion (or the widening of an insertion at a
 * caret, keep-carets.ts) taking the person's keystroke instead of the character it was meant for.
 *
 * Re-derived from the texts by a diff, the buffer got the shared text back, but a diff matches
 * characters by value, not by who typed them: the person's next keystrokes, rebased over it, went to
 * the wrong copy of a bracket, and characters were doubled or lost (the binding fuzz's `ontop` mode,
 * seed 1003: typing over the auto-closed ")" of "(A0)" deleted nothing and added a second ")").
 * Instead the misapplied `changes` (relative to the buffer before them) are taken back exactly: their
 * insertions deleted again, what they deleted put back, then `before` (what that buffer lacked of the
 * shared text, which `readShared` reads) follows. Each character they deleted is one the shared text
 * still has (read there), or one `before` deletes anyway.
 */
export function takeBack(changes: readonly TextEdit[], before: readonly TextEdit[], readShared: Reader): TextEdit[] {
  const gone = (k: number): boolean => before.some((e) => e.offset <= k && k < e.offset + e.deleteCount);
  const inverse = landed(changes).map(({ edit: e, at }) => {
    let removed = '';
    for (let k = e.offset; k < e.offset + e.deleteCount; k++) {
      // A character `before` deletes is deleted again right after: any stands in for it.
      removed += gone(k) ? '\0' : readShared(mapOffset(before, k, true), 1);
    }
    return { offset: at, deleteCount: e.insert.length, insert: removed };
  });
  return compose(inverse, before);
}
