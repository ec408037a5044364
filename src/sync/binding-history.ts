/**
 * Undo and redo of the person's own steps (a Y.UndoManager tracking only their editor's origin, so
 * undo never reverts a collaborator's work), in the order asked, each once every keystroke reported
 * before it is in the shared text. A keystroke matching a collaborator's edit in flight waits for the
 * editor's answer; undone before it, the undo skipped it, and taken after, it cleared the redo stack
 * (the undo/redo fuzz, seed 1058).
 *
 * One undo step is one run of typing at one place, as in VS Code: a keystroke away from where the
 * person last typed starts a new step (besides the capture timeout). Grouping by time alone made one
 * Ctrl+Z take back every token typed across the file in the last seconds (the keyboard fuzz, seed
 * 2000: one undo took back seven stretches of the person's tokens), and their redo then raced a
 * collaborator typing next to them.
 */
import type * as Y from 'yjs';
import { landed } from './edit-algebra';
import { mapOffset, type TextEdit } from './textdiff';

export interface HistoryHost {
  /** Whether keystrokes are held for the editor's answer to a flight. */
  held(): boolean;
  closed(): boolean;
  trace(line: () => string): void;
}

export class BindingHistory {
  private queue: Promise<boolean> = Promise.resolve(true);
  private waiters: Array<() => void> = [];
  /** Where the person last typed, in the shared text: the range their last change touched. */
  private last: { start: number; end: number } | undefined;

  constructor(
    private readonly undoManager: Y.UndoManager,
    private readonly host: HistoryHost,
  ) {}

  undo(): Promise<boolean> {
    return this.step('undo', () => this.undoManager.undo() !== null);
  }

  redo(): Promise<boolean> {
    return this.step('redo', () => this.undoManager.redo() !== null);
  }

  /**
   * A change typed here is about to go into the shared text (`edits`, in its coordinates): a new undo
   * step unless it starts within the range the previous one touched (or right before it).
   */
  typing(edits: readonly TextEdit[]): void {
    if (!edits.length) return;
    const at = Math.min(...edits.map((e) => e.offset));
    // One before the range: backspacing through what was just typed stays one step, as in VS Code.
    const near = !!this.last && this.last.start - 1 <= at && at <= this.last.end;
    if (!near) this.undoManager.stopCapturing();
  }

  /** The change went into the shared text (`edits`, relative to the text before it). */
  typed(edits: readonly TextEdit[]): void {
    const placed = landed(edits);
    if (!placed.length) return;
    const last = placed[placed.length - 1];
    this.last = { start: placed[0].at, end: last.at + last.edit.insert.length };
  }

  /**
   * Anything else changed the shared text (`edits`, relative to the text before it): the range the
   * person last typed moves along. Offsets, not Yjs positions: resolving those walks the text, and a
   * keystroke must cost the same in a 4 MB file as in a 4 KB one.
   */
  moved(edits: readonly TextEdit[]): void {
    if (!this.last || !edits.length) return;
    this.last = { start: mapOffset(edits, this.last.start, true), end: mapOffset(edits, this.last.end) };
  }

  /** Whether `at` (in the shared text) is within `span` characters before where the person last typed, or in it. */
  nearLast(at: number, span: number): boolean {
    return !!this.last && this.last.start - span <= at && at <= this.last.end;
  }

  /** The held keystrokes are decided (or the binding closed): waiting steps go on. */
  wake(): void {
    this.waiters.splice(0).forEach((w) => w());
  }

  private step(what: 'undo' | 'redo', run: () => boolean): Promise<boolean> {
    const { host } = this;
    const done = this.queue.then(async () => {
      if (host.held()) host.trace(() => `${what} waits for a keystroke the editor has not answered for`);
      while (host.held() && !host.closed()) await new Promise<void>((resolve) => this.waiters.push(resolve));
      const ok = !host.closed() && run();
      host.trace(() => `${what}: ${ok ? 'done' : 'nothing to ' + what} (${this.undoManager.undoStack.length} steps to undo, ${this.undoManager.redoStack.length} to redo)`);
      return ok;
    });
    this.queue = done.catch(() => false);
    return done;
  }
}
