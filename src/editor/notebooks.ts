/**
 * Binds every open notebook of the shared folder (VS Code's built-in `.ipynb` support, notebook type
 * `jupyter-notebook`) to its shared model (src/sync/notebook/): each cell's text document to the
 * cell's Y.Text through the same BufferBinding as a file (keystroke by keystroke, local-only undo),
 * cells added, deleted, moved or changed in kind here into the model, and the model's order brought to
 * the editor (structure.ts plans it; here it becomes NotebookEdits). A cell's outputs and execution
 * count go to the model when they change here (last writer wins); a collaborator's reach this editor
 * with their cell. The editor owns the file while the notebook is open (the mirror leaves it alone) and
 * saves it after collaborators' changes, as for a text file.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type * as Y from 'yjs';
import { DisposableStore, toDisposable } from '../session/disposable';
import type { Logger } from '../session/log';
import type { BufferBinding } from '../sync/buffer-binding';
import type { FileEntry } from '../sync/api';
import type { NotebookModel } from '../sync/notebook/model';
import type { TextEdit } from '../sync/textdiff';
import { NotebookBinding } from './notebook-binding';

export interface NotebookHost {
  readonly root: string;
  readonly workspace: {
    byPath(path: string): FileEntry | undefined;
    notebook(id: string): Promise<NotebookModel>;
    on(event: 'file-added' | 'file-renamed', listener: () => void): unknown;
    off(event: 'file-added' | 'file-renamed', listener: () => void): unknown;
  };
  setEditorOwned?(relPath: string, owned: boolean): void;
  readOnly?(): boolean;
  /** What a cell held when its notebook was last clean, if known (clean-notebooks.ts). */
  cleanCellText?(cell: vscode.NotebookCell): string | undefined;
}

/** A bound cell's text document, as the model knows it. */
export interface SharedCell {
  relPath: string;
  cellId: string;
  text: Y.Text;
}

/** How often open notebooks are checked against their shared models (structure and cells' texts). */
const CHECK_MS = 3000;

export class NotebookBindings implements vscode.Disposable {
  private readonly bound = new Map<vscode.NotebookDocument, NotebookBinding>();
  private readonly cells = new Map<vscode.TextDocument, BufferBinding>();
  private readonly owned = new DisposableStore();
  private closed = false;
  /** Cells' documents bound once: bound again, they hold collaborators' text their clean text lacks. */
  private readonly everBound = new WeakSet<vscode.TextDocument>();
  /** Notebooks whose cells were found apart from their model with nothing under way (it should stay 0). */
  private divergences = 0;

  constructor(
    private readonly host: NotebookHost,
    private readonly logger: Logger,
  ) {
    [
      vscode.workspace.onDidOpenNotebookDocument((n) => void this.bind(n)),
      vscode.workspace.onDidCloseNotebookDocument((n) => this.unbind(n)),
      vscode.workspace.onDidChangeNotebookDocument((e) => this.bound.get(e.notebook)?.onEditorChange(e)),
      vscode.workspace.onDidSaveNotebookDocument((n) => this.bound.get(n)?.saved()),
      vscode.workspace.onDidChangeTextDocument((e) => this.onCellText(e)),
      vscode.workspace.onWillRenameFiles((e) => e.files.forEach((f) => this.beforeMove(f.oldUri))),
    ].forEach((d) => this.owned.add(d));
    // A notebook opened before its entry had this path (a new file, or one renamed here: VS Code may
    // open the moved notebook before the index has the new name) is bound once the entry has it.
    const onAdded = () => this.bindAll();
    host.workspace.on('file-added', onAdded);
    host.workspace.on('file-renamed', onAdded);
    this.owned.add(toDisposable(() => (host.workspace.off('file-added', onAdded), host.workspace.off('file-renamed', onAdded))));
    // The divergence check of open notebooks (documents.ts has the one of open files): a cell's text
    // apart from its shared text is merged (BufferBinding.verify), cells apart from the model's are
    // brought to it and counted.
    const timer = setInterval(() => this.check(), CHECK_MS);
    this.owned.add(toDisposable(() => clearInterval(timer)));
    this.bindAll();
  }

  /** What the checks found: texts of the cells bound now merged with their shared text, notebooks found apart from their model. */
  consistency(): { repairs: number; divergences: number } {
    let repairs = 0;
    for (const b of this.cells.values()) repairs += b.repairs;
    return { repairs, divergences: this.divergences };
  }

  /** See NotebookBinding.injectFault (tests). */
  injectFault(relPath: string, kind: 'throw' | 'skip', count: number): boolean {
    const b = [...this.bound.values()].find((x) => x.relPath === relPath);
    b?.injectFault(kind, count);
    return !!b;
  }

  private check(): void {
    for (const b of this.bound.values()) if (b.checkStructure()) this.divergences++;
    for (const b of this.cells.values()) b.verify();
  }

  /** The binding of an open notebook's cell document (tests and diagnostics). */
  cellBinding(document: vscode.TextDocument): BufferBinding | undefined {
    return this.cells.get(document);
  }

  /**
   * The shared cell a cell's text document shows, while it is bound: its notebook's path, the model's
   * cell id and the cell's shared text (presence publishes carets in it).
   */
  sharedCell(document: vscode.TextDocument): SharedCell | undefined {
    const text = this.cells.get(document)?.ytext;
    if (!text) return undefined;
    for (const [notebook, b] of this.bound) {
      const cell = notebook.getCells().find((c) => c.document === document);
      const id = cell && b.cellIdOf(cell);
      if (id !== undefined) return { relPath: b.relPath, cellId: id, text };
    }
    return undefined;
  }

  /** The model cell an editor cell shows (or showed, if it has left its notebook since), while its notebook is bound. */
  cellIdOf(cell: vscode.NotebookCell): string | undefined {
    return this.bound.get(cell.notebook)?.cellIdOf(cell);
  }

  /** Whether the open notebook at this path has no structure edit of its binding running or queued (tests). */
  settled(relPath: string): boolean {
    for (const b of this.bound.values()) if (b.relPath === relPath && !b.settled) return false;
    return true;
  }

  /** The open notebook bound under this path, if any. */
  boundAt(relPath: string): vscode.NotebookDocument | undefined {
    for (const [notebook, b] of this.bound) if (b.relPath === relPath) return notebook;
    return undefined;
  }

  /** Stops sharing an open notebook (its file was renamed away: the editor follows it, see notebook-follow.ts). */
  release(notebook: vscode.NotebookDocument): void {
    this.unbind(notebook);
  }

  /** Open notebooks bound now, by path. */
  boundPaths(): string[] {
    return [...this.bound.values()].map((b) => b.relPath);
  }

  dispose(): void {
    this.closed = true;
    for (const n of [...this.bound.keys()]) this.unbind(n);
    this.owned.dispose();
  }

  private bindAll(): void {
    for (const n of vscode.workspace.notebookDocuments) void this.bind(n);
  }

  private relativePath(uri: vscode.Uri): string | undefined {
    if (uri.scheme !== 'file') return undefined;
    const rel = path.relative(this.host.root, uri.fsPath);
    if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
    return rel.split(path.sep).join('/');
  }

  private readonly pending = new Set<vscode.NotebookDocument>();

  private async bind(notebook: vscode.NotebookDocument): Promise<void> {
    if (this.closed || this.bound.has(notebook) || this.pending.has(notebook) || notebook.isClosed) return;
    if (notebook.notebookType !== 'jupyter-notebook') return;
    const relPath = this.relativePath(notebook.uri);
    const entry = relPath ? this.host.workspace.byPath(relPath) : undefined;
    if (!relPath || entry?.kind !== 'notebook') return;
    this.pending.add(notebook);
    try {
      const model = await this.host.workspace.notebook(entry.id);
      if (this.closed || notebook.isClosed || this.bound.has(notebook)) return;
      const host = { readOnly: () => this.host.readOnly?.() ?? false, baseOf: (cell: vscode.NotebookCell) => this.baseOf(cell) };
      const b = new NotebookBinding(notebook, relPath, model, this.cells, host, this.logger);
      this.bound.set(notebook, b);
      this.host.setEditorOwned?.(relPath, true);
      this.logger.debug(`bound notebook ${relPath}`);
      b.start();
    } catch (err) {
      this.logger.warn(`could not bind notebook ${relPath}: ${(err as Error).message}`);
    } finally {
      this.pending.delete(notebook);
    }
  }

  /** The text a cell's unsaved changes are made from, the first time its document is bound. */
  private baseOf(cell: vscode.NotebookCell): string | undefined {
    if (this.everBound.has(cell.document)) return undefined;
    this.everBound.add(cell.document);
    const base = this.host.cleanCellText?.(cell);
    return base === cell.document.getText() ? undefined : base;
  }

  private unbind(notebook: vscode.NotebookDocument): void {
    const b = this.bound.get(notebook);
    if (!b) return;
    b.dispose();
    this.bound.delete(notebook);
    this.host.setEditorOwned?.(b.relPath, false);
    // Its cells' texts are free: another open copy of the notebook (the one a rename opened, in
    // whichever order VS Code reports the two) binds them now.
    for (const other of this.bound.values()) other.bindCells();
  }

  /** VS Code is moving a file or folder: bound notebooks in it save no more (NotebookBinding.moving). */
  private beforeMove(from: vscode.Uri): void {
    const prefix = from.toString();
    for (const [notebook, b] of this.bound) {
      const uri = notebook.uri.toString();
      if (uri === prefix || uri.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)) b.moving();
    }
  }

  private onCellText(e: vscode.TextDocumentChangeEvent): void {
    const binding = this.cells.get(e.document);
    if (!binding) return;
    const changes: TextEdit[] = e.contentChanges.map((c) => ({ offset: c.rangeOffset, deleteCount: c.rangeLength, insert: c.text }));
    binding.onBufferChange(changes, e.document.version, false);
  }
}

