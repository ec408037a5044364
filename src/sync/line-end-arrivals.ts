/**
 * Collaborators' text that arrived at the end of a line lately, so that a completion cannot swallow it.
 *
 * VS Code's suggest widget, when it opens at the end of a line, replaces on accept everything that is
 * after the caret on that line by then (its "line suffix": meant for a closing bracket typed
 * meanwhile). A collaborator's words that arrived at the caret while the widget was open went with it:
 * in the keyboard fuzz in two VS Codes, accepting "complet" → "completionword" replaced
 * "complet completionword B000y" (seed 257761091) and "completA008x" (seed 257761087), both peers
 * agreeing on the loss. A local change that deletes such an arrival together with text before it, and
 * does not put it back itself, is taken without that deletion: the arrival stays in the shared text
 * and goes back into the buffer after what was inserted.
 */
import * as Y from 'yjs';
import { applyEdits, mapOffset, type TextEdit } from './textdiff';
import { landed, type Reader } from './edit-algebra';

/** How long after it arrived an arrival is spared (a suggest widget is rarely open longer). */
const SPARE_MS = 5000;
const MAX_ARRIVALS = 8;

interface Arrival {
  /** Where the text is in the buffer as reported. */
  start: number;
  text: string;
  at: number;
}

export class LineEndArrivals {
  private arrivals: Arrival[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  clear(): void {
    this.arrivals = [];
  }

  /**
   * The buffer changed by `edits` (relative to the text before them): arrivals move along. A change
   * typed here that touched an arrival makes it forgotten (deleting it is the person's own doing); a
   * collaborator's change within an arrival (`byCollaborator`: their letters typed between the
   * brackets of a pair that had arrived) becomes part of it.
   */
  moveThrough(edits: readonly TextEdit[], byCollaborator = false): void {
    const now = this.now();
    this.arrivals = this.arrivals.flatMap((a) => {
      if (now - a.at >= SPARE_MS) return [];
      const end = a.start + a.text.length;
      // Deleted into, or inserted into (not at either end).
      const touching = edits.filter((e) => e.offset < end && (e.offset + e.deleteCount > a.start || e.offset > a.start));
      const start = mapOffset(edits, a.start, true);
      if (touching.length === 0) return [{ ...a, start }];
      const within = touching.every((e) => e.offset >= a.start && e.offset + e.deleteCount <= end);
      if (!byCollaborator || !within) return [];
      const text = applyEdits(a.text, touching.map((e) => ({ ...e, offset: e.offset - a.start })));
      return text ? [{ start, text, at: now }] : [];
    });
  }

  /**
   * A collaborator's edits were applied (`edits`, relative to the text before them; `read` reads the
   * text after them): their insertions that end at a line end are remembered, but for text this
   * peer wrote (`byCollaborator` false at its start: see `Redone`), sent to the buffer
   * again. Spared, the person's own deletion of it did not take (undo/redo fuzz, seed 1090: a
   * redone "}" came back after its owner deleted its token).
   */
  applied(edits: readonly TextEdit[], read: Reader, byCollaborator: (start: number) => boolean = () => true): void {
    this.moveThrough(edits, true);
    for (const { edit: e, at: start } of landed(edits)) {
      const next = read(start + e.insert.length, 1);
      if (!e.insert || !(next === '' || next === '\n' || next === '\r') || !byCollaborator(start)) continue;
      // The collaborator's next letters arrive one flight at a time, each after the last: one arrival.
      const before = this.arrivals.find((a) => a.start + a.text.length === start);
      if (before) Object.assign(before, { text: before.text + e.insert, at: this.now() });
      else this.arrivals.push({ start, text: e.insert, at: this.now() });
    }
    this.arrivals = this.arrivals.slice(-MAX_ARRIVALS);
  }

  /**
   * A change typed here (relative to the buffer before it). Returns the change as it goes into the
   * shared text, with each deletion that ends with an arrival (and starts before it) stopped where the
   * arrival starts, and `putBack`: the edits (relative to the buffer after the change as typed) that
   * give the buffer those arrivals again, after what the change inserted.
   */
  spare(changes: readonly TextEdit[]): { changes: TextEdit[]; putBack: TextEdit[]; spared: string[] } {
    const out: TextEdit[] = [];
    const putBack: TextEdit[] = [];
    const spared: string[] = [];
    const now = this.now();
    for (const { edit: e, at } of landed(changes)) {
      const end = e.offset + e.deleteCount;
      const a = this.arrivals.find((x) => x.start > e.offset && x.start + x.text.length === end && now - x.at < SPARE_MS);
      if (a && !e.insert.endsWith(a.text)) {
        out.push({ offset: e.offset, deleteCount: a.start - e.offset, insert: e.insert });
        putBack.push({ offset: at + e.insert.length, deleteCount: 0, insert: a.text });
        spared.push(a.text);
      } else out.push(e);
    }
    this.moveThrough(changes);
    return { changes: out, putBack, spared };
  }
}

/** How many pieces of redone text are remembered (see `Redone`). */
const MAX_REDONE = 64;

/**
 * The text this peer's undos and redos put in the shared text lately (Yjs redoes with new items, so
 * it comes back to the buffer as an arrival): the person's own, never spared as a collaborator's.
 */
export class Redone {
  private pieces: Array<{ client: number; clock: number; length: number }> = [];

  /** An undo or a redo changed the shared text: what it inserted is what its clocks advanced by. */
  noted(tx: Y.Transaction): void {
    tx.afterState.forEach((after, client) => {
      const clock = tx.beforeState.get(client) ?? 0;
      if (after > clock) this.pieces.push({ client, clock, length: after - clock });
    });
    this.pieces = this.pieces.slice(-MAX_REDONE);
  }

  /** Whether the text at `start` in the buffer (which `pending` turns into the shared text) is not such text. */
  notAt(ytext: Y.Text, pending: readonly TextEdit[]): (start: number) => boolean {
    return (start) => {
      if (!this.pieces.length) return true;
      const index = mapOffset(pending, start);
      const id = index < ytext.length ? Y.createRelativePositionFromTypeIndex(ytext, index).item : null;
      return !id || !this.pieces.some((p) => p.client === id.client && p.clock <= id.clock && id.clock < p.clock + p.length);
    };
  }
}
