/**
 * Keeps an editor buffer and a shared Y.Text equal, for any editor whose edits are applied
 * asynchronously (VS Code's `workspace.applyEdit` is). Editor-agnostic: the VS Code glue adapts a
 * TextDocument to `EditorBuffer` and forwards its change events here.
 *
 * The hard part is the window in which the Y.Text already holds a peer's edit but the buffer does not
 * yet: a keystroke made in that window has offsets in buffer coordinates, which are not Y.Text
 * coordinates. The binding keeps `shadow`, the buffer text as last reported, and maps local edits
 * through the difference between `shadow` and the Y.Text. Remote edits reach the buffer as a diff from
 * the buffer's current text to the Y.Text, applied against the buffer version it was computed for: if
 * the user typed in between, the editor rejects the edit and the binding recomputes. So no keystroke is
 * dropped, nothing echoes, and a buffer that ever disagrees is repaired from the Y.Text.
 *
 * Undo is local: a Y.UndoManager tracks only this editor's origin, so undo never reverts a peer's work.
 */
import * as Y from 'yjs';
import type { Logger } from '../session/log';
import { applyEdits, diffEdits, mapOffset, offsetOf, positionsOf, type LineColumn, type TextEdit } from './textdiff';

export const EDITOR_ORIGIN = 'editor';

export interface EditorBuffer {
  getText(): string;
  /** Increases by one with every change of the buffer (VS Code's `document.version`). */
  version(): number;
  /**
   * Applies edits (offsets relative to the text at `baseVersion`) as one change. Resolves false,
   * without applying, when the buffer is no longer at `baseVersion`.
   */
  applyEdits(edits: TextEdit[], baseVersion: number): Promise<boolean>;
}

export interface BufferBindingOptions {
  logger: Logger;
  /** Milliseconds within which consecutive local edits undo as one step. */
  captureTimeout?: number;
  /** How long to wait for the editor to report an applied edit before moving on (default 10 s). */
  echoTimeoutMs?: number;
  /** Called after the buffer was changed from the shared text (e.g. to save a clean document). */
  onRemoteApplied?: () => void;
  /**
   * True while this peer is a read-only guest: a local edit is not shared (every member would refuse
   * it) but undone in the buffer, and `onRefused` says so.
   */
  readOnly?: () => boolean;
  onRefused?: () => void;
}

interface InFlight {
  baseVersion: number;
  edits: TextEdit[];
  target: string;
  /** Where the edits were addressed, in lines and columns of the text they were made for. */
  ranges: Array<{ start: LineColumn; end: LineColumn }>;
  /** Set when the editor reported our edit back; it may do so before or after applyEdits resolves. */
  echoed: boolean;
  onEcho?: () => void;
}

/** How long to wait for the editor to report an applied edit before assuming it was reported. */
const ECHO_TIMEOUT_MS = 10_000;

export class BufferBinding {
  readonly undoManager: Y.UndoManager;
  private shadow: string;
  private inFlight: InFlight | undefined;
  /** Applied edits whose echo did not come in time: still recognised as ours when it does. */
  private overdue: InFlight[] = [];
  private flushAgain = false;
  /** A flush loop is running (it may be between attempts, with nothing in flight). */
  private flushing = false;
  private closed = false;
  /** How many times verify() found the buffer and the shared text apart (should stay 0). */
  repairs = 0;
  private readonly observer: (event: Y.YTextEvent, tx: Y.Transaction) => void;
  private idle: Promise<void> = Promise.resolve();

  constructor(
    readonly ytext: Y.Text,
    private readonly buffer: EditorBuffer,
    private readonly options: BufferBindingOptions,
  ) {
    this.shadow = buffer.getText();
    this.undoManager = new Y.UndoManager(ytext, {
      trackedOrigins: new Set([EDITOR_ORIGIN]),
      captureTimeout: options.captureTimeout ?? 500,
    });
    this.observer = (_event, tx) => {
      if (tx.origin !== EDITOR_ORIGIN) this.scheduleFlush();
    };
    ytext.observe(this.observer);
    // The buffer may hold a stale copy (opened from disk before the shared text arrived).
    if (this.shadow !== ytext.toString()) this.scheduleFlush();
  }

  /** True when buffer and shared text are known to be equal and nothing is pending. */
  get settled(): boolean {
    return !this.flushing && !this.inFlight && this.shadow === this.ytext.toString();
  }

  /** Resolves once pending remote edits have reached the buffer. */
  whenSettled(): Promise<void> {
    return this.idle;
  }

  /**
   * The editor reports a change. `changes` are relative to the text before the change (as VS Code's
   * contentChanges are); `textAfter` is the buffer text after it. Returns whether it was a local
   * edit (true) or the echo of a shared edit that the binding applied (false).
   */
  onBufferChange(changes: readonly TextEdit[], textAfter: string): boolean {
    if (this.closed) return false;
    const before = this.shadow;
    this.shadow = textAfter;
    const isOurs = (f: InFlight | undefined): f is InFlight =>
      !!f && !f.echoed && (textAfter === f.target || sameEdits(changes, f.edits) || appliedOnTop(f, changes, before, textAfter));
    const flight = [this.inFlight, ...this.overdue].find(isOurs);
    if (flight) {
      flight.echoed = true; // our own remote edit coming back
      flight.onEcho?.();
      this.overdue = this.overdue.filter((f) => f !== flight);
      return false;
    }
    if (changes.length === 0) return false;
    if (this.options.readOnly?.()) {
      this.options.onRefused?.();
      this.scheduleFlush(); // back to the shared text
      return true;
    }
    const shared = this.ytext.toString();
    // Edits pending towards the buffer: shadow-before → shared. Map local offsets across them.
    const pending = before === shared ? [] : diffEdits(before, shared);
    this.ytext.doc!.transact(() => {
      // Apply from the highest offset down so that earlier offsets stay valid.
      for (const c of [...changes].sort((a, b) => b.offset - a.offset)) {
        const start = pending.length ? mapOffset(pending, c.offset) : c.offset;
        const end = pending.length ? mapOffset(pending, c.offset + c.deleteCount) : c.offset + c.deleteCount;
        if (end > start) this.ytext.delete(start, end - start);
        if (c.insert) this.ytext.insert(start, c.insert);
      }
    }, EDITOR_ORIGIN);
    if (this.shadow !== this.ytext.toString()) this.scheduleFlush();
    return true;
  }

  undo(): boolean {
    return this.undoManager.undo() !== null;
  }

  redo(): boolean {
    return this.undoManager.redo() !== null;
  }

  /**
   * Checks that the buffer equals the shared text while nothing is pending. If not, merges them and
   * logs it: what only the buffer has (keystrokes the binding missed) goes into the shared text, what
   * only the shared text has reaches the buffer, and nothing is removed from either (a repair that
   * overwrote the buffer would lose typing). Returns whether they were equal.
   */
  verify(): boolean {
    if (this.closed || this.flushing) return true;
    const text = this.buffer.getText();
    const shared = this.ytext.toString();
    if (text === shared) return true;
    const edits = diffEdits(shared, text);
    this.repairs++;
    this.options.logger.warn(
      `binding: the buffer disagreed with the shared text (${edits.length} difference${edits.length === 1 ? '' : 's'}); ` +
        'merged: text only the buffer had is shared, text only the shared copy had is added to the buffer, nothing is removed',
    );
    this.ytext.doc!.transact(() => {
      // Inserted after what the shared text has at that spot, so that both are kept.
      for (const e of [...edits].sort((a, b) => b.offset - a.offset)) {
        if (e.insert) this.ytext.insert(e.offset + e.deleteCount, e.insert);
      }
    }, EDITOR_ORIGIN);
    this.shadow = text;
    this.scheduleFlush();
    return false;
  }

  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.ytext.unobserve(this.observer);
    this.undoManager.destroy();
  }

  private scheduleFlush(): void {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    this.flushing = true;
    this.idle = this.flush().finally(() => {
      this.flushing = false;
      // A request that came in as the loop was finishing.
      if (this.flushAgain && !this.closed) {
        this.flushAgain = false;
        this.scheduleFlush();
      }
    });
  }

  private async flush(): Promise<void> {
    let attempts = 0;
    while (!this.closed) {
      this.flushAgain = false;
      const current = this.buffer.getText();
      const target = this.ytext.toString();
      if (current === target) return;
      const edits = diffEdits(current, target);
      const baseVersion = this.buffer.version();
      const at = positionsOf(current, edits.flatMap((e) => [e.offset, e.offset + e.deleteCount]));
      const ranges = edits.map((_, i) => ({ start: at[2 * i], end: at[2 * i + 1] }));
      const flight: InFlight = { baseVersion, edits, target, ranges, echoed: false };
      this.inFlight = flight;
      let applied = false;
      try {
        applied = await this.buffer.applyEdits(edits, baseVersion);
        // Until the editor has reported the edit, its change event must still be recognised as ours.
        if (applied && !flight.echoed) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              // Slow editor: carry on, but keep recognising this edit when it is reported.
              this.overdue = [...this.overdue.slice(-7), flight];
              resolve();
            }, this.options.echoTimeoutMs ?? ECHO_TIMEOUT_MS);
            flight.onEcho = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
      } catch (err) {
        this.options.logger.warn(`binding: applying remote edits failed: ${(err as Error).message}`);
      } finally {
        this.inFlight = undefined;
      }
      if (this.closed) return;
      if (applied) {
        // `shadow` follows the editor's change events only (the echo set it): the buffer's text may
        // already include changes whose events are still on their way.
        attempts = 0;
        this.options.onRemoteApplied?.();
        if (!this.flushAgain && this.shadow === this.ytext.toString()) return;
      } else if (++attempts > 50) {
        this.options.logger.error('binding: could not bring the buffer up to date after 50 attempts');
        return;
      } else {
        // The user typed in between: their change event will be (or was) processed; try again.
        await new Promise((r) => setTimeout(r, Math.min(attempts * 2, 20)));
      }
    }
  }
}

/**
 * Whether a reported change is our edit, applied by the editor on top of a change that raced it.
 * An editor addresses an edit by line and column, and its check that the buffer is still at the
 * edit's version is not atomic (VS Code's is not): a keystroke or another extension's edit can land
 * first, and ours is then applied at the same lines and columns of the changed text. Its offsets
 * differ from ours, and the text is not our target; taken for a local edit, it would be sent to the
 * peers a second time (a collaborator's word typed twice).
 */
function appliedOnTop(f: InFlight, changes: readonly TextEdit[], before: string, textAfter: string): boolean {
  if (changes.length !== f.edits.length) return false;
  const inserts = (edits: readonly TextEdit[]) => edits.map((e) => e.insert).sort();
  const theirs = inserts(changes);
  if (!inserts(f.edits).every((text, i) => text === theirs[i])) return false;
  const rebased = f.ranges.map((r, i) => {
    const offset = offsetOf(before, r.start);
    return { offset, deleteCount: Math.max(0, offsetOf(before, r.end) - offset), insert: f.edits[i].insert };
  });
  return applyEdits(before, rebased) === textAfter;
}

/**
 * Whether a reported change is the edit we applied. The editor may have applied it on top of a
 * concurrent change (then the resulting text is not our target), so compare the edits themselves.
 */
function sameEdits(changes: readonly TextEdit[], ours: readonly TextEdit[]): boolean {
  if (changes.length !== ours.length) return false;
  const key = (e: TextEdit) => `${e.offset}:${e.deleteCount}:${e.insert}`;
  const a = changes.map(key).sort();
  const b = ours.map(key).sort();
  return a.every((k, i) => k === b[i]);
}
