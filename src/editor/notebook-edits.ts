/**
 * The structure edits a notebook binding applies to VS Code's notebook (a model cell inserted, an
 * editor cell deleted), one at a time, and how it knows them again when VS Code reports them.
 *
 * A NotebookEdit addresses a cell by index, and VS Code applies it to the notebook as it is when the
 * edit arrives, with no check of the version the index was read from (the extension host passes no
 * notebook version with an edit). A cell the person inserts, deletes or moves in that instant shifts
 * the index onto another cell. So a deletion is sent together with a mark on the cell it removes (a
 * key in VS Code's cell metadata, set by the same edit, at the same index): the removal VS Code
 * reports with that mark is this binding's, whichever cell it hit, and every removal without it is
 * the person's. A cell removed by a shifted index is still in the model and is put back; the person's
 * delete in the same instant stays a delete. An insert is known by the model id it carries.
 */
import * as vscode from 'vscode';
import type { CellView } from '../sync/notebook/model';
import type { StructureStep } from '../sync/notebook/structure';
import { cellData, metadataId } from './notebook-cells';

/** The key of VS Code's cell metadata that marks a removal as this binding's (never saved: the ipynb serializer writes known keys only). */
const MARK = 'hyperpairRemoval';
/** How long to wait for VS Code to report an applied edit before planning the next step anyway. */
const REPORT_MS = 1000;

let marks = 0;

export class NotebookEdits {
  /** The removal sent and not reported yet: its mark, and the cell it was meant for. */
  private pending: { mark: string; meant: vscode.NotebookCell | undefined } | undefined;
  /** Resolves the wait for the report of the edit in flight. */
  private onReport: ((e: vscode.NotebookDocumentChangeEvent) => boolean) | undefined;

  constructor(private readonly notebook: vscode.NotebookDocument) {}

  /**
   * Applies one planned step and waits until VS Code reports it (or a second passes). Returns false
   * if VS Code refused it (the index no longer exists: the next plan is made on the notebook as it is).
   */
  async apply(step: StructureStep, model: readonly CellView[]): Promise<boolean> {
    const edit = new vscode.WorkspaceEdit();
    let reported: (e: vscode.NotebookDocumentChangeEvent) => boolean;
    if (step.op === 'delete') {
      const mark = `${process.pid}.${++marks}`;
      this.pending = { mark, meant: this.notebook.cellAt(step.index) };
      // VS Code applies the metadata edit before the removal at the same index (edits of one index:
      // the others first, then the replacement), so the mark is on the cell removed.
      edit.set(this.notebook.uri, [
        vscode.NotebookEdit.updateCellMetadata(step.index, { [MARK]: mark }),
        vscode.NotebookEdit.deleteCells(new vscode.NotebookRange(step.index, step.index + 1)),
      ]);
      reported = (e) => e.contentChanges.some((c) => c.removedCells.some((cell) => markOf(cell) === mark));
    } else {
      const cell = model.find((c) => c.id === step.id)!;
      edit.set(this.notebook.uri, [vscode.NotebookEdit.insertCells(step.index, [cellData(cell, this.notebook)])]);
      reported = (e) => e.contentChanges.some((c) => c.addedCells.some((added) => metadataId(added) === step.id));
    }
    let timer: NodeJS.Timeout | undefined;
    const seen = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, REPORT_MS);
      this.onReport = (e) => {
        if (!reported(e)) return false;
        clearTimeout(timer);
        resolve();
        return true;
      };
    });
    const selected = this.selectedCells();
    let ok = false;
    try {
      ok = await vscode.workspace.applyEdit(edit);
    } catch {
      ok = false; // an index past the end (the person deleted cells meanwhile) is refused
    }
    if (ok) await seen; // the next step is planned on the notebook as this edit left it
    clearTimeout(timer);
    this.onReport = undefined;
    if (!ok) this.pending = undefined;
    if (ok) this.keepSelections(selected);
    return ok;
  }

  /** The cells selected in each editor of this notebook, and the ranges that selected them. */
  private selectedCells(): Array<{ editor: vscode.NotebookEditor; ranges: readonly vscode.NotebookRange[]; cells: vscode.NotebookCell[] }> {
    return vscode.window.visibleNotebookEditors
      .filter((editor) => editor.notebook === this.notebook)
      .map((editor) => ({ editor, ranges: editor.selections, cells: editor.selections.flatMap((r) => this.notebook.getCells(r)) }));
  }

  /**
   * VS Code keeps a selection's indices, not its cells, when cells are inserted or removed before it:
   * after this binding's edit the person's selected cell would be another (and Delete would delete
   * that one). The selection is put back on the cells it was on, unless the person or VS Code moved
   * it meanwhile.
   */
  private keepSelections(before: ReturnType<NotebookEdits['selectedCells']>): void {
    for (const { editor, ranges, cells } of before) {
      const now = editor.selections;
      if (now.length !== ranges.length || now.some((r, k) => r.start !== ranges[k].start || r.end !== ranges[k].end)) continue;
      const next = toRanges(cells.map((c) => c.index).filter((i) => i >= 0));
      if (next.length && (next.length !== now.length || next.some((r, k) => r.start !== now[k].start || r.end !== now[k].end))) editor.selections = next;
    }
  }

  /** Called with every change VS Code reports for the notebook, before the binding reads it. */
  changed(e: vscode.NotebookDocumentChangeEvent): void {
    if (this.onReport?.(e)) this.onReport = undefined;
  }

  /**
   * Whether a removal VS Code reports is this binding's own (see the top of this file): 'meant' (the
   * cell it was sent for), 'shifted' (another cell its index fell on), or false (the person's).
   */
  ownRemoval(cell: vscode.NotebookCell): 'meant' | 'shifted' | false {
    const pending = this.pending;
    if (!pending || markOf(cell) !== pending.mark) return false;
    this.pending = undefined;
    return pending.meant === cell ? 'meant' : 'shifted';
  }
}

/** Runs of consecutive indices as ranges, in order. */
function toRanges(indices: number[]): vscode.NotebookRange[] {
  const out: vscode.NotebookRange[] = [];
  for (const i of [...new Set(indices)].sort((x, y) => x - y)) {
    const last = out[out.length - 1];
    if (last && last.end === i) out[out.length - 1] = new vscode.NotebookRange(last.start, i + 1);
    else out.push(new vscode.NotebookRange(i, i + 1));
  }
  return out;
}

function markOf(cell: vscode.NotebookCell): string | undefined {
  const mark = (cell.metadata as Record<string, unknown>)[MARK];
  return typeof mark === 'string' ? mark : undefined;
}
