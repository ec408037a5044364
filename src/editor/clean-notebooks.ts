/**
 * The text each cell of an open notebook had when the notebook was last clean (as opened or saved):
 * the base from which a cell's unsaved changes are the person's, as clean-texts.ts keeps for files.
 * A notebook someone typed in before Hyperpair bound it (before they started a session, or a notebook
 * restored unsaved by VS Code's hot exit) keeps that typing when it is bound: each cell's changes are
 * merged into the shared cell (BufferBindingOptions.base), not replaced by it.
 *
 * A notebook first seen outside a session was last clean as its file on disk (no session writes it):
 * that is read, once, and its cells known by the id VS Code's ipynb support keeps in their metadata.
 * Not its dirty flag: VS Code tells the extension host that a notebook it restored unsaved (hot exit)
 * is clean (`isDirty` false while its tab shows it unsaved: the two-editor test), so that flag is used
 * nowhere here. A notebook first seen during a session is taken as clean as it opens.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { parseIpynb } from '../sync/notebook/ipynb';
import { metadataId } from './notebook-cells';

export class CleanNotebooks implements vscode.Disposable {
  /** By the cell's text document, which stays the cell's while it moves. */
  private readonly texts = new WeakMap<vscode.TextDocument, string>();
  private readonly read = new WeakSet<vscode.NotebookDocument>();
  private readonly subscriptions: vscode.Disposable[];

  /** @param outsideSession whether no session runs now (then no session writes the files). */
  constructor(private readonly outsideSession: () => boolean) {
    for (const notebook of vscode.workspace.notebookDocuments) this.note(notebook);
    this.subscriptions = [
      vscode.workspace.onDidOpenNotebookDocument((n) => this.note(n)),
      vscode.workspace.onDidSaveNotebookDocument((n) => this.noteCells(n)),
    ];
  }

  /** The text `cell` had when its notebook was last clean, if known. */
  baseOf(cell: vscode.NotebookCell): string | undefined {
    return this.texts.get(cell.document);
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
  }

  private note(notebook: vscode.NotebookDocument): void {
    if (notebook.uri.scheme !== 'file' || notebook.isClosed) return;
    if (!this.outsideSession()) this.noteCells(notebook);
    else if (!this.read.has(notebook)) void this.readSaved(notebook);
  }

  private noteCells(notebook: vscode.NotebookDocument): void {
    if (notebook.uri.scheme === 'file') for (const cell of notebook.getCells()) this.texts.set(cell.document, cell.document.getText());
  }

  /** A notebook's file, outside a session: each cell's text, by id, as last saved. */
  private async readSaved(notebook: vscode.NotebookDocument): Promise<void> {
    this.read.add(notebook);
    let saved: Map<string, string>;
    try {
      const nb = parseIpynb(await fs.promises.readFile(notebook.uri.fsPath, 'utf8'));
      saved = new Map(nb.cells.map((c) => [c.id, c.source]));
    } catch {
      return; // not a notebook on disk (any more): no base, as before
    }
    if (notebook.isClosed) return;
    for (const cell of notebook.getCells()) {
      const id = metadataId(cell);
      const text = id === undefined ? undefined : saved.get(id);
      if (text !== undefined && !this.texts.has(cell.document)) this.texts.set(cell.document, text);
    }
  }
}
