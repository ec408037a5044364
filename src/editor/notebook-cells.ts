/**
 * A notebook cell between VS Code and the model: its kind, the nbformat id, metadata and execution
 * count VS Code's built-in ipynb support keeps in the cell's metadata, and the editor's cell made
 * from a model cell (so that VS Code saves the same file as every other peer writes).
 */
import * as vscode from 'vscode';
import type { CellKind, JsonObject } from '../sync/notebook/ipynb';
import type { BufferBinding } from '../sync/buffer-binding';
import type { CellView } from '../sync/notebook/model';
import { fromEditorOutput, toEditorOutput } from '../sync/notebook/outputs';

/** The editor's cell for a model cell: its id, metadata and count where VS Code's ipynb keeps them. */
export function cellData(cell: CellView, notebook: vscode.NotebookDocument): vscode.NotebookCellData {
  const markup = cell.kind === 'markdown';
  const data = new vscode.NotebookCellData(markup ? vscode.NotebookCellKind.Markup : vscode.NotebookCellKind.Code, cell.source, languageOf(cell, notebook));
  const metadata: Record<string, unknown> = { id: cell.id, metadata: cell.metadata };
  if (cell.kind === 'code') metadata.execution_count = cell.executionCount;
  if (cell.attachments) metadata.attachments = cell.attachments;
  data.metadata = metadata;
  data.outputs = cell.outputs.map((o) => {
    const out = toEditorOutput(o);
    return new vscode.NotebookCellOutput(
      out.items.map((i) => new vscode.NotebookCellOutputItem(i.data, i.mime)),
      out.metadata,
    );
  });
  if (cell.executionCount !== null) data.executionSummary = { executionOrder: cell.executionCount };
  return data;
}

function languageOf(cell: CellView, notebook: vscode.NotebookDocument): string {
  if (cell.kind === 'markdown') return 'markdown';
  if (cell.kind === 'raw') return 'raw';
  const own = (cell.metadata.vscode as JsonObject | undefined)?.languageId;
  if (typeof own === 'string') return own;
  const nb = notebook.metadata as { metadata?: { language_info?: { name?: unknown }; kernelspec?: { language?: unknown } } };
  const name = nb.metadata?.language_info?.name ?? nb.metadata?.kernelspec?.language;
  return typeof name === 'string' ? name : 'python';
}

export function kindOf(cell: vscode.NotebookCell): CellKind {
  if (cell.kind === vscode.NotebookCellKind.Markup) return 'markdown';
  return cell.document.languageId === 'raw' ? 'raw' : 'code';
}

/** VS Code's ipynb support keeps a cell's nbformat id, metadata and count in the cell's metadata. */
export function cellMetadata(cell: vscode.NotebookCell): { id: string | undefined; metadata: JsonObject } {
  const md = cell.metadata as { id?: unknown; metadata?: unknown };
  const metadata = typeof md.metadata === 'object' && md.metadata !== null && !Array.isArray(md.metadata) ? (md.metadata as JsonObject) : {};
  return { id: typeof md.id === 'string' ? md.id : undefined, metadata };
}

export function metadataId(cell: vscode.NotebookCell): string | undefined {
  return cellMetadata(cell).id;
}

/**
 * A cell's execution count as VS Code saves it. The ipynb support writes the count its metadata
 * keeps, not the one the cell shows (its execution summary): it sets it when a run ends and clears it
 * when the cell's text is edited afterwards (the text is no longer what ran), while the cell still
 * shows the old count. Read from the summary only for a cell whose metadata has no count at all (one
 * inserted in this editor).
 */
export function executionCountOf(cell: vscode.NotebookCell): number | null {
  const md = cell.metadata as { execution_count?: unknown };
  if ('execution_count' in md) return typeof md.execution_count === 'number' ? md.execution_count : null;
  const order = cell.executionSummary?.executionOrder;
  return typeof order === 'number' ? order : null;
}

/** The count a cell shows (its execution summary), which may differ from the one saved. */
function shownCountOf(cell: vscode.NotebookCell): number | null {
  const order = cell.executionSummary?.executionOrder;
  return typeof order === 'number' ? order : null;
}

/**
 * Whether an editor cell shows other outputs than its model cell has, or another count than a count
 * the model has: then it is redrawn to show the model's (VS Code lets an extension change a cell's
 * outputs only by replacing the cell, or by running it). A count cleared alone is not worth the redraw
 * (the person's caret and undo in the cell): it changes in the cell's metadata (syncMetadata), which is
 * what VS Code saves, and the cell shows its old count, as VS Code's own does after an edit.
 */
export function showsOtherOutputs(cell: vscode.NotebookCell, m: CellView | undefined): boolean {
  if (!m) return false;
  if (JSON.stringify(cell.outputs.map((o) => fromEditorOutput(o))) !== JSON.stringify(m.outputs)) return true;
  return m.executionCount !== null && m.executionCount !== shownCountOf(cell);
}

/** Edits giving each cell the metadata and count of the model cell it shows, where they differ (a collaborator changed them). */
export function metadataUpdates(notebook: vscode.NotebookDocument, modelOf: (cell: vscode.NotebookCell) => CellView | undefined): vscode.NotebookEdit[] {
  const edits: vscode.NotebookEdit[] = [];
  for (const cell of notebook.getCells()) {
    const m = modelOf(cell);
    if (!m) continue;
    // A count a collaborator's editor cleared (their ipynb support does, as the cell is edited
    // after a run) or set without new outputs: the count saved changes, the cell is not redrawn.
    const count = m.kind === 'code' && executionCountOf(cell) !== m.executionCount;
    if (!count && JSON.stringify(cellMetadata(cell).metadata) === JSON.stringify(m.metadata)) continue;
    edits.push(vscode.NotebookEdit.updateCellMetadata(cell.index, { ...cell.metadata, metadata: m.metadata, ...(m.kind === 'code' ? { execution_count: m.executionCount } : {}) }));
  }
  return edits;
}

/**
 * The cells the person is in: the one whose text has the keyboard, ones with typing not yet shared,
 * and the focused cell of each editor of this notebook (a cell just inserted has it). A collaborator's
 * move redraws the cells around these rather than them (planStructure).
 */
export function cellsInUse(notebook: vscode.NotebookDocument, bindings: ReadonlyMap<vscode.TextDocument, BufferBinding>): Set<vscode.NotebookCell> {
  const own = new Set<vscode.NotebookCell>();
  const typing = vscode.window.activeTextEditor?.document;
  for (const cell of notebook.getCells()) {
    if (cell.document === typing || bindings.get(cell.document)?.settled === false) own.add(cell);
  }
  for (const editor of vscode.window.visibleNotebookEditors) {
    // `selection` is undefined while an editor has no selection at all (its cells being redrawn):
    // reading it threw, and the structure stayed unreconciled until the next change.
    const selection = editor.selections[0];
    if (editor.notebook !== notebook || !selection || selection.isEmpty) continue;
    if (selection.start < notebook.cellCount) own.add(notebook.cellAt(selection.start));
  }
  return own;
}
