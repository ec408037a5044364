/**
 * One open notebook bound to its shared model (notebooks.ts keeps one per open notebook): the
 * person's structure changes (cells added, deleted, moved, changed in kind), cell metadata, outputs
 * and counts into the model; the model's order and metadata into the editor as NotebookEdits
 * (structure.ts plans them, notebook-edits.ts applies them and knows them again); each cell's text bound to the cell's Y.Text by a BufferBinding.
 */
import * as vscode from 'vscode';
import * as Y from 'yjs';
import type { Logger } from '../session/log';
import { BufferBinding, isBound } from '../sync/buffer-binding';
import type { CellView, NotebookModel } from '../sync/notebook/model';
import { fromEditorOutput } from '../sync/notebook/outputs';
import { indexAfter, planStructure } from '../sync/notebook/structure';
import { cellMetadata, cellsInUse, executionCountOf, kindOf, metadataId, metadataUpdates, showsOtherOutputs } from './notebook-cells';
import { NotebookEdits } from './notebook-edits';
import { ReconcileRuns } from './reconcile-runs';
import { VsCodeBuffer } from './vscode-buffer';

/** Model changes made by this binding (the same origin as a cell's typing: the person's own). */
const ORIGIN = 'editor';
/** Rounds of structure edits before a reconcile gives up for now (each is one NotebookEdit). */
const MAX_STEPS = 500;

export interface NotebookBindingHost {
  readOnly?(): boolean;
  /** The text a cell's unsaved changes before binding are made from (undefined: none, or unknown). */
  baseOf?(cell: vscode.NotebookCell): string | undefined;
}

export class NotebookBinding {
  /** The model cell each editor cell shows. */
  private readonly ids = new WeakMap<vscode.NotebookCell, string>();
  /** This binding's own structure edits, and how it tells them from the person's (notebook-edits.ts). */
  private readonly edits: NotebookEdits;
  /** Cells whose outputs a collaborator changed: the editor's cell is replaced to show them. */
  private readonly outputsArrived = new Set<string>();
  /** Depth of this binding's own model changes (their transactions are not brought back here). */
  private local = 0;
  /** The runs that bring the editor's cells to the model's (tried again when one fails). */
  private readonly runs: ReconcileRuns;
  /** The last structure check found the editor apart from the model (see checkStructure). */
  private apartLastCheck = false;
  private disposed = false;
  /** VS Code is moving this notebook's file: a save now would write the old name back (see moving()). */
  private beingMoved = false;
  private userEdited: boolean;
  private saveTimer: NodeJS.Timeout | undefined;
  private readonly onModel = (tx: Y.Transaction): void => {
    if (this.local > 0 || this.disposed) return;
    let structure = false;
    const cellMaps = this.model.doc.getMap('cells');
    for (const [type, keys] of tx.changed) {
      if (!(type instanceof Y.Map)) continue; // a cell's typing: its text binding has it
      structure = true;
      if (type.parent === cellMaps && (keys.has('outputs') || keys.has('executionCount'))) {
        const id = [...cellMaps.entries()].find(([, m]) => m === type)?.[0];
        if (id) this.outputsArrived.add(id);
      }
    }
    if (structure) this.reconcileSoon();
  };

  constructor(
    private readonly notebook: vscode.NotebookDocument,
    readonly relPath: string,
    private readonly model: NotebookModel,
    private readonly cellBindings: Map<vscode.TextDocument, BufferBinding>,
    private readonly host: NotebookBindingHost,
    private readonly logger: Logger,
  ) {
    this.userEdited = notebook.isDirty;
    this.edits = new NotebookEdits(notebook);
    this.runs = new ReconcileRuns(() => this.reconcile(), (why) => this.logger.warn(`notebook ${this.relPath}: ${why}`));
  }

  /**
   * Maps the editor's cells to the model's (by the cell id VS Code's ipynb support keeps in each
   * cell's metadata; in a notebook without ids, by place and kind), adds cells only this editor has
   * (the person's work), binds every cell's text, then brings the editor to the model's order.
   */
  start(): void {
    this.model.doc.on('afterTransaction', this.onModel);
    const live = this.model.cells();
    const known = new Set(live.map((c) => c.id));
    const deleted = new Set(this.model.deletedCells().map((c) => c.id));
    const used = new Set<string>();
    this.notebook.getCells().forEach((cell, i) => {
      const id = metadataId(cell);
      const byPlace = live[i] && !used.has(live[i].id) && live[i].kind === kindOf(cell) && id === undefined ? live[i].id : undefined;
      const match = id !== undefined && known.has(id) && !used.has(id) ? id : byPlace;
      if (match) {
        used.add(match);
        this.ids.set(cell, match);
      } else if (!(id !== undefined && deleted.has(id)) && cell.document.getText() !== '') {
        // Only here (typed before the session, or unsaved): it joins the session where it is.
        this.adopt(cell);
      }
    });
    // Typing in a matched cell before it was bound is merged into the shared cell, not replaced by it.
    for (const cell of this.notebook.getCells()) this.bindCell(cell, this.host.baseOf?.(cell));
    this.reconcileSoon();
  }

  saved(): void {
    this.userEdited = false;
  }

  /**
   * VS Code is about to move this notebook's file (the person renamed it here): this binding saves it
   * no more. A save racing the move would write the old name back beside the new one, and the rename
   * would reach the others as a new notebook (the moved one is bound afresh; this one is released).
   */
  moving(): void {
    this.beingMoved = true;
    clearTimeout(this.saveTimer);
  }

  /**
   * Binds the text of every cell not bound yet: a cell whose text another open notebook held (the
   * same notebook under its old name, while an editor follows a rename) is bound once that one lets go.
   */
  bindCells(): void {
    if (this.disposed) return;
    for (const cell of this.notebook.getCells()) this.bindCell(cell);
  }

  /** Whether the editor shows the model's cells as far as this binding knows (no structure edit of its own running or queued). */
  get settled(): boolean {
    return this.runs.settled;
  }

  /**
   * Whether the editor's cells differ from the model's with no run of this binding's queued to bring
   * them there: a divergence (a run that gave up, a bug). If so, a run is queued. Only when two checks
   * in a row find it: an editor change whose event is still on its way is none.
   */
  checkStructure(): boolean {
    if (this.disposed || this.notebook.isClosed || !this.runs.settled) return (this.apartLastCheck = false);
    const shown = this.notebook.getCells().map((c) => ({ id: this.ids.get(c), kind: kindOf(c), own: false }));
    const apart = planStructure(shown, this.model.cells()).length > 0;
    const found = apart && this.apartLastCheck;
    this.apartLastCheck = apart && !found;
    if (found) {
      this.logger.warn(`notebook ${this.relPath}: its cells were found apart from the shared model with nothing under way to bring them there; bringing them now`);
      this.runs.soon();
    }
    return found;
  }

  /** See ReconcileRuns.injectFault (tests). */
  injectFault(kind: 'throw' | 'skip', count: number): void {
    this.runs.injectFault(kind, count);
  }

  /** The model cell an editor cell shows (undefined: not this notebook's, or not mapped yet). */
  cellIdOf(cell: vscode.NotebookCell): string | undefined {
    return cell.notebook === this.notebook ? this.ids.get(cell) : undefined;
  }

  dispose(): void {
    this.disposed = true;
    this.runs.dispose();
    clearTimeout(this.saveTimer);
    this.model.doc.off('afterTransaction', this.onModel);
    for (const cell of this.notebook.getCells()) this.unbindCell(cell.document);
  }

  // ---------------------------------------------------------------- editor → model

  onEditorChange(e: vscode.NotebookDocumentChangeEvent): void {
    if (this.disposed) return;
    this.edits.changed(e);
    const removed = new Set<vscode.NotebookCell>();
    const added: vscode.NotebookCell[] = [];
    for (const change of e.contentChanges) {
      change.removedCells.forEach((c) => removed.add(c));
      added.push(...change.addedCells);
    }
    const moved = new Set(added.filter((c) => removed.has(c)));
    if (this.host.readOnly?.()) {
      // A read-only guest's changes are refused by every member: the model's cells are put back.
      for (const cell of removed) if (!moved.has(cell)) this.unbindCell(cell.document);
      return this.reconcileSoon(); // which maps the cells it inserted itself (mapByMetadata)
    }
    this.mine(() => {
      for (const cell of removed) {
        if (moved.has(cell)) continue;
        this.unbindCell(cell.document);
        const id = this.ids.get(cell);
        // This binding's removal, of the cell meant or of one its index fell on: not the person's
        // delete (the model keeps that cell, and the reconcile below puts it back).
        const own = this.edits.ownRemoval(cell);
        if (own === 'shifted') this.logger.debug(`notebook ${this.relPath}: a removal fell on cell ${id} (the notebook changed as it was sent); it is put back`);
        if (own) continue;
        if (id === undefined) continue;
        // Replaced by a cell of the same id in the same change (a change of kind): not a delete.
        if (added.some((a) => metadataId(a) === id && !moved.has(a))) continue;
        this.model.deleteCell(id, ORIGIN);
        this.userEdited = true;
      }
      for (const cell of [...added].sort((a, b) => a.index - b.index)) {
        if (moved.has(cell)) {
          const id = this.ids.get(cell);
          if (id !== undefined) {
            this.model.moveCell(id, indexAfter(this.model.cells(), this.prevId(cell), id), ORIGIN);
            this.userEdited = true;
          }
          continue;
        }
        this.placeAdded(cell);
        this.bindCell(cell);
      }
      // (A cell removed in the same change, such as the one this binding's removal marked, has none.)
      for (const change of e.cellChanges) if (!removed.has(change.cell) || moved.has(change.cell)) this.cellChanged(change);
    });
    this.reconcileSoon();
  }

  /** A cell that appeared in the editor: one this binding inserted, one whose kind changed, or a new one. */
  private placeAdded(cell: vscode.NotebookCell): void {
    const id = metadataId(cell);
    const live = this.model.cells();
    const inModel = id !== undefined ? live.find((c) => c.id === id) : undefined;
    const shownElsewhere = id !== undefined && this.notebook.getCells().some((c) => c !== cell && this.ids.get(c) === id);
    if (inModel && !shownElsewhere) {
      this.ids.set(cell, inModel.id);
      if (inModel.kind !== kindOf(cell)) {
        this.model.setKind(inModel.id, kindOf(cell), ORIGIN); // the person changed its kind
        this.userEdited = true;
      }
      return;
    }
    if (id !== undefined && !shownElsewhere && this.model.deletedCells().some((c) => c.id === id)) {
      // A cell deleted here and brought back (undo): the model's cell comes back.
      this.model.restoreCell(id, ORIGIN);
      this.model.moveCell(id, indexAfter(this.model.cells(), this.prevId(cell), id), ORIGIN);
      this.ids.set(cell, id);
      this.userEdited = true;
      return;
    }
    this.adopt(cell);
  }

  /** A cell only this editor has joins the model after the cell above it, with a fresh id. */
  private adopt(cell: vscode.NotebookCell): void {
    const md = cellMetadata(cell);
    const id = this.model.insertCell(
      indexAfter(this.model.cells(), this.prevId(cell)),
      { kind: kindOf(cell), source: cell.document.getText(), metadata: md.metadata, outputs: cell.outputs.map((o) => fromEditorOutput(o)), executionCount: executionCountOf(cell) },
      ORIGIN,
    );
    this.ids.set(cell, id);
    this.userEdited = true;
    this.queueIdFix(cell, id);
  }

  private cellChanged(change: vscode.NotebookDocumentCellChange): void {
    const id = this.ids.get(change.cell);
    if (id === undefined) return;
    if (change.metadata) {
      const md = cellMetadata(change.cell);
      this.model.setCellMetadata(id, md.metadata, ORIGIN);
      if (md.id !== undefined && md.id !== id) this.queueIdFix(change.cell, id);
    }
    // The count saved is in the cell's metadata (executionCountOf): a change of it is a metadata change.
    if (change.outputs || change.executionSummary || change.metadata) {
      const outputs = change.cell.outputs.map((o) => fromEditorOutput(o));
      const count = executionCountOf(change.cell);
      const now = this.model.cells().find((c) => c.id === id);
      if (now && (JSON.stringify(now.outputs) !== JSON.stringify(outputs) || now.executionCount !== count)) {
        this.model.setOutputs(id, outputs, count, ORIGIN);
      }
    }
  }

  /**
   * The cell's id in its metadata is the model's, so that VS Code writes the same file as every other
   * peer (VS Code's ipynb support gives a new cell an id of its own; it does so once).
   */
  private queueIdFix(cell: vscode.NotebookCell, id: string): void {
    this.reconcileSoon(async () => {
      if (cell.index < 0 || this.ids.get(cell) !== id || metadataId(cell) === id) return;
      const edit = new vscode.WorkspaceEdit();
      edit.set(this.notebook.uri, [vscode.NotebookEdit.updateCellMetadata(cell.index, { ...cell.metadata, id })]);
      await vscode.workspace.applyEdit(edit);
    });
  }

  // ---------------------------------------------------------------- model → editor

  /** Runs after whatever this binding is applying now; later calls share one run. */
  private reconcileSoon(first?: () => Promise<void>): void {
    this.runs.soon(first);
  }

  /** Brings the editor's cells to the model's; true when it shows them (or is gone). */
  private async reconcile(): Promise<boolean> {
    let applied = false;
    let done = false;
    for (let round = 0; round < MAX_STEPS && !this.disposed && !this.notebook.isClosed; round++) {
      const model = this.model.cells();
      this.mapByMetadata(model);
      const byId = new Map(model.map((m) => [m.id, m]));
      const own = cellsInUse(this.notebook, this.cellBindings);
      const shown = this.notebook.getCells().map((c) => {
        const id = this.ids.get(c);
        // A cell a collaborator ran shows their outputs: it is replaced (its text stays shared).
        const redraw = id !== undefined && this.outputsArrived.has(id) && showsOtherOutputs(c, byId.get(id));
        return { id: redraw ? undefined : id, kind: kindOf(c), own: own.has(c) };
      });
      const [step] = planStructure(shown, model);
      if (!step) {
        done = true;
        break;
      }
      this.logger.debug(`notebook ${this.relPath}: ${step.op} at ${step.index}${step.op === 'insert' ? ` (cell ${step.id})` : ''}`);
      if (step.op === 'insert') this.outputsArrived.delete(step.id);
      if (!(await this.edits.apply(step, model))) this.logger.debug(`notebook ${this.relPath}: a structure edit was refused; trying again`);
      applied = true;
    }
    this.outputsArrived.clear();
    applied = (await this.syncMetadata()) || applied;
    if (applied) this.scheduleSave();
    return done || this.disposed || this.notebook.isClosed;
  }

  /** Cells shown without a mapping that name a model cell no other cell shows (an insert whose event is late). */
  private mapByMetadata(model: CellView[]): void {
    const cells = this.notebook.getCells();
    for (const c of cells) {
      const id = metadataId(c);
      if (this.ids.has(c) || id === undefined || !model.some((m) => m.id === id) || cells.some((o) => this.ids.get(o) === id)) continue;
      this.ids.set(c, id);
      this.bindCell(c);
    }
  }

  /** Cell metadata the model has and the editor does not (a collaborator changed it). */
  private async syncMetadata(): Promise<boolean> {
    const byId = new Map(this.model.cells().map((c) => [c.id, c]));
    const edits = metadataUpdates(this.notebook, (cell) => {
      const id = this.ids.get(cell);
      return id === undefined ? undefined : byId.get(id);
    });
    if (!edits.length) return false;
    const edit = new vscode.WorkspaceEdit();
    edit.set(this.notebook.uri, edits);
    return vscode.workspace.applyEdit(edit);
  }

  // ---------------------------------------------------------------- cells' texts

  private bindCell(cell: vscode.NotebookCell, base?: string): void {
    const id = this.ids.get(cell);
    const ytext = id === undefined ? undefined : this.model.source(id);
    if (!ytext || this.cellBindings.has(cell.document) || isBound(ytext)) return;
    const buffer = new VsCodeBuffer(cell.document, () => this.scheduleSave(), () => false, () => this.host.readOnly?.() ?? false);
    const binding = new BufferBinding(ytext, buffer, {
      logger: this.logger,
      name: `${this.relPath}#${id}`,
      onLocalEdit: () => (this.userEdited = true),
      readOnly: () => this.host.readOnly?.() ?? false,
      base,
    });
    this.cellBindings.set(cell.document, binding);
  }

  private unbindCell(document: vscode.TextDocument): void {
    this.cellBindings.get(document)?.dispose();
    this.cellBindings.delete(document);
  }

  /** The model id of the editor cell above this one. */
  private prevId(cell: vscode.NotebookCell): string | undefined {
    for (let i = cell.index - 1; i >= 0; i--) {
      const id = this.ids.get(this.notebook.cellAt(i));
      if (id !== undefined) return id;
    }
    return undefined;
  }

  private mine(fn: () => void): void {
    this.local++;
    try {
      this.model.doc.transact(fn, ORIGIN);
    } finally {
      this.local--;
    }
  }

  /**
   * Collaborators' changes should not leave a clean notebook dirty: they are on every other disk
   * already. A notebook with the person's own unsaved changes stays dirty (they save it).
   */
  private scheduleSave(): void {
    if (this.userEdited || this.beingMoved) return;
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => {
      if (this.disposed || this.beingMoved || this.notebook.isClosed || this.userEdited || !this.notebook.isDirty) return;
      const busy = this.notebook.getCells().some((c) => this.cellBindings.get(c.document)?.settled === false);
      if (busy || !this.runs.settled) return this.scheduleSave();
      void this.notebook.save();
    }, 300);
  }
}
