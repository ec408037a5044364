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

/**
 * How many of the places the person typed lately are remembered (see `nearRecent`): the word they
 * finished a moment ago is still where a collaborator's racing text can arrive.
 */
const RECENT = 4;

export interface HistoryHost {
  /** Whether keystrokes are held for the editor's answer to a flight. */
  held(): boolean;
  closed(): boolean;
  trace(line: () => string): void;
}

export class BindingHistory {
  private queue: Promise<boolean> = Promise.resolve(true);
  private waiters: Array<() => void> = [];
  /** Where the person typed lately, in the shared text: the ranges their last changes touched, the last one last. */
  private recent: Array<{ start: number; end: number }> = [];

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
    const last = this.recent[this.recent.length - 1];
    const near = !!last && last.start - 1 <= at && at <= last.end;
    if (!near) this.undoManager.stopCapturing();
  }

  /** The change went into the shared text (`edits`, relative to the text before it). */
  typed(edits: readonly TextEdit[]): void {
    const placed = landed(edits);
    if (!placed.length) return;
    const last = placed[placed.length - 1];
    this.recent = [...this.recent.slice(1 - RECENT), { start: placed[0].at, end: last.at + last.edit.insert.length }];
  }

  /**
   * Anything else changed the shared text (`edits`, relative to the text before it): the ranges the
   * person typed lately move along. Offsets, not Yjs positions: resolving those walks the text, and a
   * keystroke must cost the same in a 4 MB file as in a 4 KB one.
   */
  moved(edits: readonly TextEdit[]): void {
    if (!edits.length) return;
    this.recent = this.recent.map((r) => ({ start: mapOffset(edits, r.start, true), end: mapOffset(edits, r.end) }));
  }

  /**
   * Whether `at` (in the shared text) is within `span` characters before one of the places the person
   * typed lately, or in it. Not only the last: a person who finished a word and deleted something
   * elsewhere before a collaborator's racing text arrived in it still had that word split (plain-Node
   * fuzz with paste, seed 1058: "<" "<C30>" "B28>").
   */
  nearRecent(at: number, span: number): boolean {
    return this.recent.some((r) => r.start - span <= at && at <= r.end);
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
