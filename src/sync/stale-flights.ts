/**
 * An edit a buffer binding sent its editor and had no answer for (or no report of) when the binding
 * was disposed: the editor closed the document and opened it again, or the document was unbound and
 * bound again. Addressed by the document's URI and version, such an edit may still land on the buffer
 * the next binding has (VS Code applies a workspace edit to whatever model has that URI and version
 * when it arrives). Taken there for typing, it put a collaborator's text in twice (the two-editor
 * rename race: a space shared twice). So the next binding of that document waits for the answer,
 * and the edit, where it landed, is part of the base it merges from: text of the shared text, not
 * typing. Whatever else the buffer reported meanwhile is typing, merged (BufferBindingOptions.base).
 */
import { sameChange } from './edit-algebra';
import { applyEdits, type TextEdit } from './textdiff';

export interface StaleFlight {
  /** The change as sent (as the editor reports it back). */
  readonly sent: readonly TextEdit[];
  /** Whether the editor applied it. */
  readonly answer: Promise<boolean>;
}

/** Whether the stale edit is the first change reported since the next binding read its buffer. */
export function landedFirst(changes: ReadonlyArray<readonly TextEdit[]>, stale: StaleFlight, applied: boolean): boolean {
  return applied && changes.length > 0 && sameChange(changes[0], stale.sent);
}

/**
 * The base for the next binding: the buffer's `text` when it was to be bound, with the stale edit if
 * it landed first on it (only then do its offsets address `text`; later, after typing, it is taken
 * for typing, which may double a collaborator's text but never loses any).
 */
export function baseAfterLanding(text: string, changes: ReadonlyArray<readonly TextEdit[]>, stale: StaleFlight, applied: boolean): string {
  return landedFirst(changes, stale, applied) ? applyEdits(text, changes[0]) : text;
}
