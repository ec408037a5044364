/**
 * How the buffer binding builds a flight, the edits it sends its buffer (see Flight): the change as
 * sent, the version it applies to, the text it removes and where the carets go; and how it reads the
 * buffer as its change events reported it. Functions of their arguments: the binding keeps the state.
 */
import type { BindingCarets } from './binding-carets';
import { mergeTouching, type Reader } from './edit-algebra';
import type { EditorBuffer, Flight } from './editor-buffer';
import type { TextEdit } from './textdiff';

/** Reads the buffer as reported (a few characters, through `textAt` when the buffer has it). */
export function reportedReader(buffer: EditorBuffer): Reader {
  let text: string | undefined;
  return (offset, length) => (buffer.textAt ? buffer.textAt(offset, length) : (text ??= buffer.getText()).slice(offset, offset + length));
}

/** What `edits` would remove from the buffer as reported at version `seen` (see Flight.removed). */
function removedBy(buffer: EditorBuffer, seen: number, edits: readonly TextEdit[]): Array<{ offset: number; text: string }> | undefined {
  if (!edits.some((e) => e.deleteCount > 0) || buffer.version() !== seen) return undefined;
  const read = reportedReader(buffer);
  return edits.filter((e) => e.deleteCount > 0).map((e) => ({ offset: e.offset, text: read(e.offset, e.deleteCount) }));
}

function sendable(buffer: EditorBuffer, edits: TextEdit[], carets: BindingCarets): TextEdit[] {
  const merged = mergeTouching(edits);
  return buffer.prepareEdits ? mergeTouching(buffer.prepareEdits(merged, carets.wordsInProgress(merged, reportedReader(buffer)))) : merged;
}

export interface FlightOf {
  buffer: EditorBuffer;
  /** What the buffer lacks: the flight's edits. */
  pending: TextEdit[];
  /** The version of the buffer as reported, which `pending` applies to. */
  seen: number;
  /** The first flight after a hand-over (see BufferBinding.caretsFollow). */
  caretsFollow: boolean;
  /** Where the carets go (anchored in the shared text). */
  bindingCarets: BindingCarets;
  /** The buffer as reported → the shared text (read only when carets are anchored). */
  toShared: () => TextEdit[];
}

/** `pending` as a flight to the buffer (see FlightLoop). */
export function newFlight(o: FlightOf): Flight {
  const carets = o.buffer.carets?.();
  return {
    edits: o.pending,
    // A hand-over's first flight brings the old document's last keystrokes: the caret goes past
    // them, as it would have had they been typed here, so it is not kept before them.
    sent: o.caretsFollow ? mergeTouching(o.pending) : sendable(o.buffer, o.pending, o.bindingCarets),
    baseVersion: o.seen,
    removed: removedBy(o.buffer, o.seen, o.pending),
    raced: false,
    echoed: false,
    ...(carets && !o.caretsFollow ? o.bindingCarets.anchor(carets, o.toShared(), reportedReader(o.buffer)) : {}),
    carets,
  };
}
