/**
 * A keystroke that races the buffer binding's flight (the edits it sent its editor, see Flight), and
 * what the buffer lacks then: the flight's edits back in `pending`; and how a change reported after
 * the editor's answer is told apart: the flight's echo, the flight applied on top of the keystroke
 * anyway (breaking the version-stamp promise of EditorBuffer.applyEdits), or a keystroke. Functions
 * of their arguments: the binding keeps the state.
 */
import { compose, formedBy, readerOfRemoved, sameChange, trimNoOps, type Reader } from './edit-algebra';
import { sameInserts, type Flight } from './editor-buffer';
import type { TextEdit } from './textdiff';

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
 * answer, a refusal). `buffer` reads the buffer the flight was sent for, where known: the composed
 * removal can reach past what the flight removed (`removed`).
 */
export function foldedBack(f: Flight, pending: readonly TextEdit[], buffer?: Reader): TextEdit[] {
  const folded = compose(f.edits, pending);
  if (!f.removed?.length) return folded;
  const read = readerOfRemoved(f.removed, buffer);
  // compose made one replacement of the flight's removal and the redo's insertion at its place
  // (undo/redo fuzz, seed 1070: the flight removed the undone "<A0>" and put a collaborator's "{C1}"
  // there, the redo then inserted "<A0>" before it): trimmed too.
  return trimNoOps(folded, read, formedBy(f.edits, pending));
}

