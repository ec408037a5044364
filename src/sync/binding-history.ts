/**
 * Undo and redo of the person's own steps (a Y.UndoManager tracking only their editor's origin, so
 * undo never reverts a collaborator's work), in the order asked, each once every keystroke reported
 * before it is in the shared text. A keystroke matching a collaborator's edit in flight waits for the
 * editor's answer; undone before it, the undo skipped it, and taken after, it cleared the redo stack
 * (the undo/redo fuzz, seed 1058).
 */
import type * as Y from 'yjs';

export interface HistoryHost {
  /** Whether keystrokes are held for the editor's answer to a flight. */
  held(): boolean;
  closed(): boolean;
  trace(line: () => string): void;
}

export class BindingHistory {
  private queue: Promise<boolean> = Promise.resolve(true);
  private waiters: Array<() => void> = [];

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
