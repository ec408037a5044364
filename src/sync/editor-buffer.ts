/**
 * The contract between the buffer binding and a copy of a text it keeps equal to the shared Y.Text
 * (an editor buffer; a file on disk), and the binding's record of edits it sent to that copy.
 */
import type * as Y from 'yjs';
import type { Logger } from '../session/log';
import { mergeTouching } from './edit-algebra';
import type { TextEdit } from './textdiff';

export interface EditorBuffer {
  /** The text as the change events so far have reported it. */
  getText(): string;
  /** The version after the last reported change (VS Code's `document.version`). */
  version(): number;
  /**
   * Applies edits (offsets relative to the text at `baseVersion`) as one change, only if the buffer
   * is still at `baseVersion` when the editor applies it; resolves false, without applying, if not.
   */
  applyEdits(edits: TextEdit[], baseVersion: number): Promise<boolean>;
  /** `length` code units of the reported text from `offset` (cheaper than `getText()` for a large buffer). */
  textAt?(offset: number, length: number): string;
  /**
   * The edits as this editor should receive them, with the same effect: an editor that pushes a caret
   * along when text is inserted at it may widen such an insertion over the character after the caret
   * (VS Code keeps a caret at the start of a replacement), so that a person typing there keeps typing
   * before the arriving text, in the same turn; but not the insertions `pushing` names (they go on
   * with a collaborator's word in progress: a caret there goes along). Reported back as returned.
   */
  prepareEdits?(edits: TextEdit[], pushing?: (e: TextEdit) => boolean): TextEdit[];
  /**
   * True for an editor that reports every change before it resolves the applyEdits that made it (VS
   * Code: a document's change reaches the extension host before the answer to the edit that made it).
   * Such an editor that says it applied an edit while its version did not move changed nothing and
   * will report nothing: the binding stops waiting for the report and re-derives what the buffer lacks.
   */
  readonly reportsBeforeAnswer?: boolean;
  /** The user's selections as (anchor, active) pairs of offsets in the reported text (a caret: both equal). */
  carets?(): number[];
  /** Puts the carets back (same order as `carets()`), relative to the text at `version`. */
  setCarets?(offsets: number[], version: number): void;
}

export interface BufferBindingOptions {
  logger: Logger;
  /** Names the binding in its debug lines (the file's path). */
  name?: string;
  /** Milliseconds within which consecutive local edits undo as one step. */
  captureTimeout?: number;
  /** How long to wait for the editor to report an applied edit before saying so in the log (default 10 s). */
  echoTimeoutMs?: number;
  /** A change reported by the editor turned out to be typed here (it may be decided after the event). */
  onLocalEdit?: () => void;
  /**
   * True while this peer is a read-only guest: a local edit is not shared (every member would refuse
   * it) but undone in the buffer, and `onRefused` says so.
   */
  readOnly?: () => boolean;
  onRefused?: () => void;
  /**
   * The text this buffer held when it was handed the shared text (a document VS Code opened from a
   * snapshot of another that was bound, see `handedOver`). What the buffer changed since is the
   * user's and is merged into the shared text; without `base`, the buffer is an older copy that the
   * shared text replaces.
   */
  base?: string;
  /** The origin of the binding's transactions (default `EDITOR_ORIGIN`; the disk mirror's copies: 'disk'). */
  origin?: string;
  /** False: the copy has no undo (a file on disk); no Y.UndoManager stack is kept. */
  undo?: boolean;
}

/** Edits sent to the editor and not yet reported back. */
export interface Flight {
  /**
   * What the buffer lacked, relative to the buffer as reported when sent: folded back into `pending`
   * as it was if the flight does not land. Not merged: text inserted after a deleted run stays apart
   * from a replacement before it, as in the Y.Text (a keystroke there must land where Yjs has it).
   */
  readonly edits: TextEdit[];
  /** The same change as sent to the editor, and as the editor reports it back (touching edits merged). */
  readonly sent: TextEdit[];
  readonly baseVersion: number;
  /**
   * The text each deletion of `edits` removes, read when sent: a keystroke that races the flight
   * leaves no other way to read it (the buffer has moved on), and an undo's removal that the pending
   * redo puts back is told apart by it (see BufferBinding.race).
   */
  readonly removed?: ReadonlyArray<{ offset: number; text: string }>;
  /** How applyEdits resolved, once it has. */
  result?: boolean;
  /** A keystroke came first although the editor applied the flight: its edits are back in `pending`. */
  raced: boolean;
  /** Changes taken for keystrokes since the flight raced. */
  racers?: number;
  echoed: boolean;
  /** The user's carets when sent, as positions in the shared text. */
  anchors?: Y.RelativePosition[];
  /** Per caret: a collaborator's word arrives at it, continuing the text before it: it goes past. */
  ahead?: boolean[];
  /** The same carets, as offsets in the buffer as reported when sent (the text `sent` applies to). */
  carets?: number[];
  onEcho?: () => void;
}

export interface Change {
  changes: readonly TextEdit[];
  version: number;
  /** The editor reloaded the buffer from disk with a copy of the shared text (see BufferBinding.taken). */
  reloaded?: boolean;
}

/**
 * Same number of edits inserting the same texts: ours, maybe shifted (a deletion addressed by lines
 * and columns may also have been clamped to a shorter line).
 */
export function sameInserts(changes: readonly TextEdit[], ours: readonly TextEdit[]): boolean {
  const a = mergeTouching(changes).map((e) => e.insert).sort();
  const b = mergeTouching(ours).map((e) => e.insert).sort();
  return a.length === b.length && a.every((k, i) => k === b[i]);
}
