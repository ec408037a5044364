/**
 * Keeps an editor buffer and a shared Y.Text equal, for any editor whose edits are applied
 * asynchronously (VS Code's `workspace.applyEdit` is). Editor-agnostic: the VS Code glue adapts a
 * TextDocument to `EditorBuffer` and forwards its change events here.
 *
 * No whole text is compared or diffed while people type. The binding keeps `pending`: the edits that
 * turn the buffer, as its change events have reported it, into the Y.Text. A peer's change arrives
 * as a Yjs delta and is composed onto `pending`; a keystroke is rebased over `pending` into Y.Text
 * coordinates (and `pending` over it). So a keystroke costs the same in a 4 MB file as in a 4 KB one.
 *
 * Pending edits go to the editor stamped with the buffer version they were computed for, and the
 * editor applies them only if it is still at that version, atomically (the VS Code adapter makes sure
 * of that, see documents.ts). That makes the echo certain rather than guessed: changes reported
 * while the editor has not answered wait for its answer; if it applied the flight, the first change
 * after the flight's version is the flight, and the rest were typed; if it refused, all were typed,
 * and the flight is folded back into `pending` and sent again. (An editor that breaks the promise
 * and applies the flight on top of a keystroke is recognised too, and what the buffer lacks is then
 * re-derived from the texts, once.)
 *
 * A buffer that ever disagrees is merged, never overwritten (see `verify`). Undo is local: a
 * Y.UndoManager tracks only this editor's origin, so undo never reverts a peer's work.
 */
import * as Y from 'yjs';
import { compose, deltaToEdits, formedBy, readerAfter, readerBefore, rebase, sameChange, trimNoOps, type Reader } from './edit-algebra';
import { wellFormed } from './code-unit-diff';
import { writeToShared } from './shared-writes';
import { diffEdits, type TextEdit } from './textdiff';
import { BindingCarets } from './binding-carets';
import { BindingHistory } from './binding-history';
import { LineEndArrivals, Redone } from './line-end-arrivals';
import { MAX_MOVED, WordMend } from './word-mend';
import { FlightLoop } from './flight-loop';
import type { StaleFlight } from './stale-flights';
import { afterAnswer, foldedBack, inBuffer, MAX_RACERS } from './binding-races';
import { newFlight, reportedReader } from './binding-flight';
import { claimText, releaseText } from './binding-owners';
import { brief, handOver, mergeDisagreement } from './binding-merge';
import { sameInserts, type BufferBindingOptions, type Change, type EditorBuffer, type Flight } from './editor-buffer';

export const EDITOR_ORIGIN = 'editor';
export type { EditorBuffer, BufferBindingOptions } from './editor-buffer';
export { isBound } from './binding-owners';

export class BufferBinding {
  readonly undoManager: Y.UndoManager;
  /** How often the buffer disagreed with the shared text and was merged (it should never happen). */
  repairs = 0;
  /** Buffer (as reported) → Y.Text; while a flight is out, from the buffer after the flight. */
  private pending: TextEdit[] = [];
  private flight: Flight | undefined;
  /** Changes reported while the answer to a flight whose edits they start with is awaited. */
  private held: Change[] | undefined;
  /**
   * While held changes are replayed (answered), the buffer as it was right after the one being
   * replayed: the buffer itself is already past all of them.
   */
  private replaying: Reader | undefined;
  private readonly history: BindingHistory;
  /** The version of the last reported change. */
  private seen: number;
  /** `pending` is unknown (refused read-only edit, unrecognised echo): recompute it from the texts. */
  private resync = false;
  /**
   * The first flight after a hand-over carries the previous buffer's last keystrokes: the carets
   * move along past them (VS Code's own behaviour), as the person typed them before the caret.
   */
  private caretsFollow: boolean;
  /**
   * Until the hand-over's text has reached the buffer: a keystroke at its spot goes after it (it is
   * the person's own earlier typing, in the old document; first, it put the new words before the old).
   */
  private handingOver: boolean;
  private closed = false;
  private readonly flights: FlightLoop;
  private readonly observer: (event: Y.YTextEvent, tx: Y.Transaction) => void;
  /** Where carets, and keystrokes at the spot of a collaborator's arriving text, go. */
  private readonly carets: BindingCarets;
  /** Collaborators' text put at a line end lately: a completion accepted there does not swallow it. */
  private readonly arrivals = new LineEndArrivals();
  private readonly redone = new Redone();
  /** A collaborator's text Yjs put inside this person's word in progress goes after the word. */
  private readonly mend: WordMend;
  /** The origin of this binding's transactions (its own changes are not echoed back to it). */
  private readonly origin: string;

  constructor(
    readonly ytext: Y.Text,
    private readonly buffer: EditorBuffer,
    private readonly options: BufferBindingOptions,
  ) {
    claimText(ytext, this); // one binding a text (binding-owners.ts)
    this.origin = options.origin ?? EDITOR_ORIGIN;
    this.undoManager = new Y.UndoManager(ytext, {
      // A copy with no undo of its own (a file on disk) keeps no stack: it would hold every deleted item.
      trackedOrigins: new Set(options.undo === false ? [] : [this.origin]),
      captureTimeout: options.captureTimeout ?? 500,
    });
    this.carets = new BindingCarets(ytext, buffer);
    this.mend = new WordMend(ytext, Date.now, (n) => this.trace(() => `a collaborator deleted ${n} letters a mend had put again: deleted them`));
    this.flights = new FlightLoop(buffer, { next: () => this.nextFlight(), answered: (f, applied) => this.answered(f, applied), unreported: (f) => this.offScript(f, 'the editor said it applied an edit that changed nothing in its document; recomputing what the buffer lacks', true), closed: () => this.closed }, options);
    this.history = new BindingHistory(this.undoManager, { held: () => !!this.held, closed: () => this.closed, trace: (line) => this.trace(line) });
    this.observer = (event, tx) => {
      if (tx.origin === this.origin) return;
      const redone = tx.origin instanceof Y.UndoManager;
      if (redone) this.redone.noted(tx);
      else this.carets.noteRemote(tx);
      const edits = deltaToEdits(event.delta);
      this.history.moved(edits);
      const before = this.pending;
      this.pending = compose(before, edits);
      // An undo's removal and its redo's insertion composed into one replacement, or a redo that
      // replaces text by the very text the buffer shows: trimmed too (undo/redo fuzz, seed 1208: the
      // redo of a paste, kept as "their copy replaced yours", and the person's deletion of it came back).
      const formed = formedBy(before, edits);
      this.trimPending((e, removed) => formed(e) || (redone && removed() === e.insert));
      this.flights.schedule();
    };
    ytext.observe(this.observer);
    this.seen = buffer.version();
    this.caretsFollow = options.base !== undefined;
    this.handingOver = options.base !== undefined;
    const text = buffer.getText();
    if (options.base !== undefined && options.base !== text) this.handedOver(options.base, text);
    // The buffer may hold an older copy (opened from disk before the shared text arrived): the
    // shared text is newer, and the disk mirror owns what is on disk.
    else this.pending = diffEdits(text, ytext.toString());
    if (this.pending.length) this.flights.schedule();
  }

  /** Merges what this buffer changed since `base` with what the shared text did (binding-merge.ts). */
  private handedOver(base: string, text: string): void {
    const merge = handOver(base, text, this.ytext.toString());
    if (!merge) return;
    this.trace(() => `hand-over from a base of ${base.length} characters: ${brief(merge.typedHere)} typed in the buffer, ${brief(merge.sinceBase)} in the shared text since`);
    if (this.options.readOnly?.()) {
      this.options.onRefused?.();
      this.pending = diffEdits(text, this.ytext.toString());
      return;
    }
    this.applyToShared(merge.toShared);
    this.pending = merge.pending;
    this.options.onLocalEdit?.();
  }

  /** Debug lines of the binding's decisions (the two-editor tests' logs keep them). */
  private trace(line: () => string): void {
    this.options.logger.debug(`binding ${this.options.name ?? ''}: ${line()}`);
  }

  /** True when nothing is pending: the buffer as reported equals the shared text. */
  get settled(): boolean {
    return !this.flights.busy && !this.flight && !this.held && !this.pending.length && !this.resync;
  }

  /** Resolves once pending remote edits have reached the buffer. */
  whenSettled(): Promise<void> {
    return this.flights.whenIdle();
  }

  /** The edit out to the editor, not answered or not reported yet: it may land after dispose (stale-flights.ts). */
  unanswered(): StaleFlight | undefined {
    return this.flights.unanswered();
  }

  /**
   * The editor reports a change, relative to the text before it (as VS Code's contentChanges are),
   * and the buffer's version after it. Returns true if it was taken for a local edit now; false for
   * the echo of an applied edit, or a change whose kind is decided when the editor answers (then
   * `onLocalEdit` says if it was local).
   */
  onBufferChange(changes: readonly TextEdit[], version: number, reloaded = false): boolean {
    if (this.closed) return false;
    if (this.held) {
      this.held.push({ changes, version, reloaded });
      return false;
    }
    if (changes.length === 0) {
      this.seen = version;
      return false;
    }
    const f = this.flight;
    if (f && f.result === undefined) {
      if (f.raced ? sameInserts(changes, f.sent) : sameChange(changes, f.sent)) {
        // Ours, or the user typed exactly that: the editor's answer tells. `seen` stays at the buffer
        // `pending` starts from until the change is replayed: advanced, it let a trim read the buffer
        // after the held change through edits meant for the buffer before it, and take a
        // collaborator's character for the buffer's own (fuzz seed 1108: "<B66>" drawn "<B6>>").
        this.held = [{ changes, version, reloaded }];
        return false;
      }
      // A keystroke landed first: the editor will refuse the flight (it checks the version), so it
      // is pending again and the keystroke goes to the shared text at once.
      this.race(f, f.baseVersion === this.seen ? readerBefore(changes, this.reported()) : undefined);
    }
    this.seen = version;
    if (f && f.result === true && !f.echoed) return this.afterApplied(f, changes, version, reloaded);
    return this.taken(changes, version, reloaded);
  }

  /**
   * A change that is not the echo of an applied edit: typed here, or (`reloaded`) the editor reloaded
   * the buffer from disk with a text the disk mirror wrote a moment before (it wrote the file as the
   * editor was opening it): an older copy of the shared text, not typing. Taken for typing, that
   * whole-line replacement put the old state back over the shared text and moved a collaborator's
   * words after it (the two-editor tests' doubled '// B '); the buffer gets the shared text again.
   */
  private taken(changes: readonly TextEdit[], version: number, reloaded: boolean): boolean {
    if (!reloaded) {
      this.local(changes);
      return true;
    }
    // A flight still out has raced it (onBufferChange): pending again, then re-derived from the texts.
    this.trace(() => `the editor reloaded the buffer from disk with an earlier copy of the shared text (v${version})`);
    this.resync = true;
    this.arrivals.clear();
    this.flights.schedule();
    return false;
  }

  /** A change reported after the editor said it applied the flight: normally the flight itself. */
  private afterApplied(f: Flight, changes: readonly TextEdit[], version: number, reloaded: boolean): boolean {
    const kind = afterAnswer(f, changes);
    if (kind === 'echo') this.echo(f, changes, version);
    if (kind === 'on-top') this.offScript(f, 'the editor applied an edit after the buffer had changed; recomputing what the buffer lacks', true);
    if (kind !== 'racer') return false;
    this.race(f);
    // Not found among the changes that followed: stop looking, re-derive from the texts.
    if (++f.racers! > MAX_RACERS) this.offScript(f, 'the editor never reported an edit it said it applied; recomputing what the buffer lacks', true);
    return this.taken(changes, version, reloaded);
  }

  /** The flight the editor applied otherwise than sent is done with (its echo no longer awaited). */
  private offScript(f: Flight, why: string, resync = false): void {
    this.options.logger.warn(`binding: ${why}`);
    f.echoed = true;
    this.flight = undefined;
    this.resync ||= resync;
    this.arrivals.clear();
    f.onEcho?.();
  }

  /** Undoes the person's last step (their own edits only), after the keystrokes before it (BindingHistory). */
  undo(): Promise<boolean> {
    return this.history.undo();
  }

  redo(): Promise<boolean> {
    return this.history.redo();
  }

  /**
   * Checks, while nothing is pending, that the buffer equals the shared text. If not (a bug), merges:
   * what the buffer has that the shared text lacks goes into the shared text, and what the shared text
   * has stays; then the buffer receives the result. Returns whether they were equal.
   */
  verify(): boolean {
    if (this.closed || !this.settled || this.buffer.version() !== this.seen) return true;
    const text = this.buffer.getText();
    const shared = this.ytext.toString();
    if (text === shared) return true;
    if (wellFormed(text) === shared) {
      // Only lone surrogates differ (a pair Yjs split, or one the buffer holds): the same text in UTF-8.
      this.normalise('the buffer holds a lone surrogate where the shared text has U+FFFD');
      return true;
    }
    this.repairs++;
    const merge = mergeDisagreement(text, shared, (additions) => {
      this.applyToShared(additions);
      return this.ytext.toString();
    });
    this.pending = merge.pending;
    this.options.logger.warn(`binding: the buffer disagreed with the shared text; ${merge.told}`);
    this.flights.schedule();
    return false;
  }

  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    releaseText(this.ytext, this);
    this.flights.dispose();
    this.mend.dispose();
    this.ytext.unobserve(this.observer);
    this.undoManager.destroy();
    this.history.wake();
  }

  /** A change typed here: into the shared text, rebased over what the buffer has not received. */
  private local(changes: readonly TextEdit[]): void {
    if (this.handingOver && !this.flight && !this.pending.length) this.handingOver = false;
    const pending = this.pending;
    // `pending` applies to the buffer before this change: read through it.
    const before = readerBefore(changes, this.reported());
    const kept = this.arrivals.spare(changes);
    if (kept.spared.length) this.trace(() => `the change replaced a collaborator's text that had just arrived at the line's end (a completion does): kept ${JSON.stringify(kept.spared)}`);
    const r = rebase(kept.changes, pending, this.handingOver ? false : (at) => !this.carets.continuesWord(pending, at, before));
    this.trace(() => `typed ${brief(changes)} (v${this.seen}); into the shared text as ${brief(r.local)}, still to send ${brief(r.pending)}`);
    this.pending = kept.putBack.length ? compose(kept.putBack, r.pending) : r.pending;
    this.trimPending();
    if (this.options.readOnly?.()) {
      this.options.onRefused?.();
      this.resync = true; // back to the shared text
    } else {
      this.history.typing(r.local);
      this.mend.typing(() => this.applyToShared(r.local));
      this.history.typed(r.local);
    }
    this.options.onLocalEdit?.();
    if (this.pending.length || this.resync) this.flights.schedule();
  }

  /** The editor reported the applied flight: the buffer has it now. */
  private echo(f: Flight, changes: readonly TextEdit[], version: number): void {
    f.echoed = true;
    if (!this.pending.length) this.handingOver = false;
    this.flight = undefined;
    if (!sameChange(changes, f.sent)) {
      // Not expected from an editor that applies edits as sent; re-derive what the buffer lacks.
      this.options.logger.warn('binding: the editor reported an applied edit differently from how it was sent; recomputing what the buffer lacks');
      this.resync = true;
      this.arrivals.clear();
    } else {
      this.arrivals.applied(f.edits, this.reported(), this.redone.notAt(this.ytext, this.pending));
      this.carets.putBack(f, version, this.toShared());
    }
    f.onEcho?.();
  }

  /** A flight raced by a change the editor reported first: its edits back in `pending`, before the racing keystroke is rebased over them. */
  private race(f: Flight, buffer?: Reader): void {
    if (f.raced) return;
    f.raced = true;
    f.racers = 0;
    this.pending = foldedBack(f, this.pending, buffer);
  }

  /** The editor answered: replays the changes held meanwhile, now that their kind is known. */
  private answered(f: Flight, applied: boolean): void {
    this.trace(() => `the editor ${applied ? 'applied' : 'refused'} ${brief(f.sent)} (sent at v${f.baseVersion}, now v${this.buffer.version()})`);
    f.result = applied;
    const held = this.held ?? [];
    this.held = undefined;
    if (!applied) {
      if (!f.raced) this.pending = foldedBack(f, this.pending);
      this.flight = undefined;
      this.trimPending();
    }
    // Read as it was after each: read as it is, a collaborator's letters the first brought to a line's
    // end were not at a line's end any more once a completion reported next had replaced them (fuzz
    // seed 460945536), and the completion swallowed them.
    const readers = afterEach(held, reportedReader(this.buffer));
    try {
      held.forEach((c, i) => {
        this.replaying = readers[i];
        const local = this.onBufferChange(c.changes, c.version, c.reloaded);
        if (!local && !applied) this.options.logger.debug("binding: a change matched the refused edit in flight; it was the user's");
      });
    } finally {
      this.replaying = undefined;
    }
    if (!this.held) this.history.wake();
  }

  /** The buffer as reported: as it is, or, while held changes are replayed, right after the one replayed. */
  private reported(): Reader {
    return this.replaying ?? reportedReader(this.buffer);
  }

  /**
   * Trims from `pending` what would put back the very text the buffer has (see `trimNoOps`). Reads
   * the few characters concerned from the buffer, through the flight while one is out.
   */
  private trimPending(loneReplacement?: (e: TextEdit, removed: () => string) => boolean): void {
    if (!this.pending.some((e) => e.deleteCount > 0) || this.buffer.version() !== this.seen) return;
    const reported = reportedReader(this.buffer);
    const f = this.flight;
    this.pending = trimNoOps(this.pending, inBuffer(f) ? readerAfter(f.edits, reported) : reported, loneReplacement);
  }

  private toShared(): TextEdit[] {
    const f = this.flight;
    return inBuffer(f) ? compose(f.edits, this.pending) : this.pending;
  }

  private applyToShared(edits: readonly TextEdit[]): void {
    if (edits.length && writeToShared(this.ytext, edits, this.origin)) this.normalise('a lone surrogate was typed; it is U+FFFD in the shared text, as every peer and file has it');
  }

  /** The buffer gets the shared text's U+FFFD for a lone surrogate of its own (re-derived from the texts). */
  private normalise(why: string): void {
    this.options.logger.info(`binding ${this.options.name ?? ''}: ${why}`);
    this.resync = true;
    this.flights.schedule();
  }

  /** A collaborator's text that split this person's word in progress goes after the word (word-mend.ts). */
  private mendSplitWord(): void {
    // A change of this editor's own clears the redo stack (Y.UndoManager): a redo the person may
    // still ask for outweighs a split word.
    if (this.options.readOnly?.() || this.buffer.version() !== this.seen || this.undoManager.redoStack.length) return;
    const m = this.mend.find(this.pending, reportedReader(this.buffer), (at) => this.history.nearRecent(at, MAX_MOVED));
    if (!m) return;
    this.trace(() => `${JSON.stringify(m.before)} arrived inside the word being typed here: ${JSON.stringify(m.moved)} put again before it`);
    this.mend.mended(m, () => this.applyToShared(m.shared));
    this.history.moved(m.shared);
    this.pending = m.pending;
  }

  /** What the buffer lacks, as the next flight to the editor (see FlightLoop). */
  private nextFlight(): Flight | undefined {
    // The editor moved without reporting a change (or a change was refused): re-derive.
    if (this.resync || this.buffer.version() !== this.seen) {
      this.resync = false;
      this.arrivals.clear();
      this.seen = this.buffer.version();
      this.pending = diffEdits(this.buffer.getText(), this.ytext.toString());
    }
    if (!this.pending.length) return undefined;
    this.mendSplitWord();
    const f = newFlight({ buffer: this.buffer, pending: this.pending, seen: this.seen, caretsFollow: this.caretsFollow, bindingCarets: this.carets, toShared: () => this.toShared() });
    this.pending = [];
    this.flight = f;
    this.caretsFollow = false;
    return f;
  }
}

/** For each change, a reader of the buffer right after it, given `now`, a reader of it after them all. */
function afterEach(changes: readonly Change[], now: Reader): Reader[] {
  const out: Reader[] = [];
  let read = now;
  for (let i = changes.length - 1; i >= 0; i--) {
    out[i] = read;
    read = readerBefore(changes[i].changes, read);
  }
  return out;
}
