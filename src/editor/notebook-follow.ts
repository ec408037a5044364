/**
 * An open notebook follows a collaborator's rename (issue 18), as an open text file does
 * (follow-files.ts): the mirror moves the file, the notebook opens under its new name in each column
 * it had a tab, with the same cells selected and the caret in the cell where it was, and the old tab
 * closes. Every cell's text lives in the shared model, so nothing is handed over but the view: the old
 * notebook shares every keystroke until the new one is shown, then lets go of the cells' texts, which
 * the new one binds at once (notebooks.ts).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FileEntry } from '../sync/api';
import type { Logger } from '../session/log';
import { pruneEmptyDirs } from '../sync/fsutil';
import { typingPause, type FollowHost } from './follow-files';

/** How long the mirror may take to move a notebook whose open editor follows it. */
const MOVE_ARRIVES_MS = 10_000;
/** How long the person has not typed in the notebook's cells before its tab is switched. */
const TYPING_PAUSE_MS = 700;

/** What this needs of the open notebooks' bindings (notebooks.ts). */
export interface BoundNotebooks {
  boundAt(relPath: string): vscode.NotebookDocument | undefined;
  release(notebook: vscode.NotebookDocument): void;
}

export interface NotebookFollowParts {
  host: FollowHost;
  notebooks: BoundNotebooks;
  logger: Logger;
  uri(relPath: string): vscode.Uri;
  /** The new path is the editor's until the new notebook's binding has it (FileFollower's claim). */
  claim(relPath: string): void;
  /** The old name stays the editor's a while after its tab closed (its last save there is no change). */
  leaveAloneAWhile(relPath: string): void;
  appears(abs: string, ms: number): Promise<boolean>;
}

/** The notebook tabs showing `uri`, in every group. */
function notebookTabs(uri: vscode.Uri): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((g) => g.tabs.filter((t) => t.input instanceof vscode.TabInputNotebook && t.input.uri.toString() === uri.toString()));
}

/** Where the person is in a notebook: the column, the selected cells, the caret in a cell's text. */
interface NotebookView {
  column: vscode.ViewColumn | undefined;
  selections: readonly vscode.NotebookRange[];
  /** The caret's cell, its selections, and the cell's text they refer to. */
  caret: { cell: number; selections: readonly vscode.Selection[]; text: string } | undefined;
}

function viewOf(notebook: vscode.NotebookDocument): NotebookView | undefined {
  const editor = vscode.window.activeNotebookEditor;
  if (editor?.notebook !== notebook) return undefined;
  const text = vscode.window.activeTextEditor;
  const cell = text && notebook.getCells().find((c) => c.document === text.document);
  return { column: editor.viewColumn, selections: editor.selections, caret: cell && text ? { cell: cell.index, selections: text.selections, text: text.document.getText() } : undefined };
}

/** Follows a collaborator's rename of a notebook open here (FileFollower queues it like a text's). */
export async function followNotebook(o: NotebookFollowParts, entry: FileEntry, oldPath: string, who: string): Promise<void> {
  const { host, notebooks } = o;
  const old = notebooks.boundAt(oldPath);
  const oldTabs = old ? notebookTabs(old.uri) : [];
  if (!old || !oldTabs.length) {
    // Nothing shows it: the mirror moves the file, and whoever opens it next gets the new name.
    if (old) notebooks.release(old);
    return host.editorMoveDone(oldPath, entry.path, false);
  }
  // Where the person is, before the file moves (VS Code may take the focus from a cell's text when
  // it sees the file gone); read again at the switch.
  const early = viewOf(old);
  // The mirror moves the file and writes it from the shared cells; the old name is left to the
  // editor (its tab may still save there before it closes).
  host.leaveAlone(oldPath, true);
  host.editorMoveDone(oldPath, entry.path, false);
  const to = o.uri(entry.path);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([host.mirrorIdle(), new Promise((r) => (timer = setTimeout(r, MOVE_ARRIVES_MS)))]);
  clearTimeout(timer);
  if (!(await o.appears(to.fsPath, MOVE_ARRIVES_MS))) {
    o.logger.warn(`${oldPath} was renamed to ${entry.path}, which has not appeared on disk; the editor keeps the old notebook`);
    notebooks.release(old);
    host.leaveAlone(oldPath, false);
    host.tell(`${who} renamed ${oldPath} to ${entry.path}; your open notebook no longer saves to the session.`);
    return;
  }
  o.claim(entry.path);
  // Opened (and bound: its cells' texts wait for the old notebook to let go of them) before the
  // switch, which waits for a pause in the person's typing; the old notebook shares it meanwhile.
  const moved = await vscode.workspace.openNotebookDocument(to);
  await typingPause((d) => d.uri.scheme === 'vscode-notebook-cell' && d.uri.path === old.uri.path, TYPING_PAUSE_MS, MOVE_ARRIVES_MS);
  const late = viewOf(old);
  // A caret read early counts only if the cell still holds the text it was in (putCaret checks).
  const view = late ? { ...late, caret: late.caret ?? early?.caret } : early;
  for (const column of new Set(oldTabs.map((t) => t.group.viewColumn))) {
    if (column !== view?.column) await vscode.window.showNotebookDocument(moved, { viewColumn: column, preserveFocus: true, preview: false });
  }
  if (view) await vscode.window.showNotebookDocument(moved, { viewColumn: view.column, preserveFocus: false, preview: false, selections: view.selections });
  notebooks.release(old); // the new notebook binds every cell's text now
  const caret = view?.caret ? await putCaret(o, moved, view.column, view.caret) : undefined;
  await closeOld(o, old, oldPath);
  void caret?.hold(); // meanwhile the person may type on: it ends then
  o.logger.info(`${who} renamed ${oldPath} to ${entry.path}; the open notebook moved with it`);
  host.tell(`${who} renamed ${oldPath} to ${entry.path}; your notebook follows it.`);
}

/** How long the moved notebook's cell may take to get the focus and the text the caret refers to. */
const CARET_WAIT_MS = 3000;

/**
 * The caret back in the cell's text where it was, that cell's editor focused (as before the switch),
 * once the cell shows the text the caret was in: the moved notebook opened from the file, and its
 * binding brings the cell to the shared text a moment later. Returns what keeps it there (`hold`).
 */
async function putCaret(o: NotebookFollowParts, notebook: vscode.NotebookDocument, column: vscode.ViewColumn | undefined, caret: NonNullable<NotebookView['caret']>): Promise<{ hold(): Promise<void> } | undefined> {
  if (caret.cell >= notebook.cellCount) return;
  const document = notebook.cellAt(caret.cell).document;
  for (const deadline = Date.now() + CARET_WAIT_MS; document.getText() !== caret.text; await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > deadline) {
      // Changed meanwhile (the person typed on, or a collaborator): their caret stays where it is.
      o.logger.debug(`the caret stays: cell ${caret.cell} of ${notebook.uri.path} holds ${document.getText().length} characters, not the ${caret.text.length} it was in`);
      return;
    }
  }
  const selections = caret.selections.map((s) => new vscode.Selection(document.validatePosition(s.anchor), document.validatePosition(s.active)));
  // A cell's document shown is that cell's editor in the notebook editor, focused.
  const editor = await vscode.window.showTextDocument(document, { viewColumn: column, preserveFocus: false, preview: false, selection: selections[0] });
  editor.selections = selections;
  return { hold: () => holdCaret(document, caret.text, selections, o.logger) };
}

/**
 * VS Code sets the selection given only on a cell editor already made: one the new notebook editor is
 * still making takes the focus a moment later with the caret at its start, over the one set (seen
 * after the old tab closed, too). Set again while the cell's editor shows it there (VS Code's
 * placement, not a click of the person's: the text is unchanged, nobody typed), for 3 s after it was
 * last set (at most 10 s). The extension host reports a selection set here at once, before VS Code
 * has applied it, so a caret that looks right is no sign that it stays.
 */
async function holdCaret(document: vscode.TextDocument, text: string, selections: vscode.Selection[], logger: Logger): Promise<void> {
  const end = Date.now() + 10_000;
  const stop = (why: string) => logger.debug(`the caret in ${document.uri.toString()} is left: ${why}`);
  for (let deadline = Date.now() + CARET_WAIT_MS; Date.now() < Math.min(deadline, end) && document.getText() === text; await new Promise((r) => setTimeout(r, 50))) {
    const now = vscode.window.activeTextEditor;
    // No text editor, or another cell's (the old notebook's, until its tab closes): the cell's editor
    // still being made. Another file's: the person is elsewhere.
    if (!now || (now.document !== document && now.document.uri.scheme === 'vscode-notebook-cell')) continue;
    if (now.document !== document) return stop(`another editor is active (${now.document.uri.toString()})`);
    if (sameSelections(now.selections, selections)) continue;
    if (!(now.selections.length === 1 && now.selection.isEmpty && now.selection.active.isEqual(new vscode.Position(0, 0)))) return stop('the person moved it'); // the person's own caret
    now.selections = selections;
    deadline = Date.now() + CARET_WAIT_MS;
  }
  stop(document.getText() === text ? 'held' : 'its text changed');
}

function sameSelections(a: readonly vscode.Selection[], b: readonly vscode.Selection[]): boolean {
  return a.length === b.length && a.every((s, i) => s.isEqual(b[i]));
}

/**
 * Closes the old notebook's tabs. A dirty one is saved first (under its old name, which the mirror
 * leaves alone, then removed): its cells are in the shared model, and closing it unsaved would ask
 * the person whether to save.
 */
async function closeOld(o: NotebookFollowParts, old: vscode.NotebookDocument, oldPath: string): Promise<void> {
  try {
    if (old.isDirty && !(await old.save().then((ok) => ok, () => false))) {
      o.logger.warn(`could not close the old tab of ${oldPath} without asking; it stays open, no longer shared`);
      return;
    }
    await vscode.window.tabGroups.close(notebookTabs(old.uri), true).then(undefined, () => false);
    // Written by that save, or left by nothing: the session has these cells under the new name.
    const abs = o.uri(oldPath).fsPath;
    if (!o.host.workspace.byPath(oldPath)) {
      await fs.rm(abs, { force: true });
      await pruneEmptyDirs(o.host.root, path.dirname(abs)); // a folder renamed: the old one goes
    }
  } finally {
    o.leaveAloneAWhile(oldPath);
  }
}
