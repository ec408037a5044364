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
  if (!f.removed?.length) return compose(f.edits, pending);
  const read = readerOfRemoved(f.removed, buffer);
  const { edits, rest } = withoutPutBack(f.edits, read, pending);
  const folded = compose(edits, rest);
  // compose made one replacement of the flight's removal and the redo's insertion at its place
  // (undo/redo fuzz, seed 1070: the flight removed the undone "<A0>" and put a collaborator's "{C1}"
  // there, the redo then inserted "<A0>" before it): trimmed too.
  return trimNoOps(folded, read, formedBy(edits, rest));
}

/**
 * The flight's removals that `pending` inserts again, exactly, at the very place (an undo in the
 * flight, its redo pending), dropped from both lists: the buffer's text there stands for the redone
 * copy. Composed first, the pair could merge with a replacement next to it into one that `trimNoOps`
 * must leave whole (undo/redo fuzz, seed 1480: the undone "<B13>" removed by the flight, a
 * collaborator's "[A9]" replacing the "{A2}" before it and the redo's "<B13>" pending became one
 * replacement of "{A2}<B13>" by "[A9]<B13>", so the person's deletion of "<B13>" deleted only the
 * old copy and the redone one came back). `pending` is relative to the buffer after the flight.
 */
function withoutPutBack(flight: readonly TextEdit[], read: Reader, pending: readonly TextEdit[]): { edits: TextEdit[]; rest: TextEdit[] } {
  let rest = [...pending];
  const edits: TextEdit[] = [];
  let shift = 0; // from the buffer before the flight to the buffer after the edits kept so far
  for (const e of [...flight].sort((a, b) => a.offset - b.offset)) {
    const at = e.offset + shift;
    const text = e.deleteCount > 0 && !e.insert ? read(e.offset, e.deleteCount) : '';
    const i = text.length === e.deleteCount ? rest.findIndex((p) => p.offset === at && !p.deleteCount && p.insert === text) : -1;
    if (i < 0) {
      edits.push(e);
      shift += e.insert.length - e.deleteCount;
      continue;
    }
    // Without the removal, the buffer after the flight holds the text at `at`: what `pending` puts
    // after it (its later edits, in order) moves past it.
    rest = rest.flatMap((p, k) => (k === i ? [] : k > i && p.offset >= at ? [{ ...p, offset: p.offset + text.length }] : [p]));
  }
  return { edits, rest };
}

