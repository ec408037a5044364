/**
 * The agent's notebook handlers (issue 18): open a notebook in VS Code's notebook editor, read its
 * cells, and change it as a person does — typing into a cell's text, inserting, deleting and moving
 * cells with the notebook's own commands on the selected cell, saving.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
import vscode = require('vscode');

let controller: vscode.NotebookController | undefined;

const idOf = (cell: vscode.NotebookCell): string | undefined => {
  const id = (cell.metadata as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
};

type NotebookTestApi = { notebookCellId(c: vscode.NotebookCell): string | undefined; notebookSettled(rel: string): boolean };
const testApi = (): NotebookTestApi | undefined => (vscode.extensions.getExtension('hyperpair.hyperpair')?.exports as { testApi?: NotebookTestApi } | undefined)?.testApi;

/** The model id the Hyperpair extension gave a cell (through its test API, in this extension host). */
const cellIdOf = (cell: vscode.NotebookCell): string | undefined => testApi()?.notebookCellId(cell);
let executions = 0;

export function notebookHandlers(uriOf: (rel: string) => vscode.Uri): Record<string, (...args: never[]) => unknown> {
  const notebookOf = async (rel: string): Promise<vscode.NotebookDocument> => {
    const uri = uriOf(rel).toString();
    return vscode.workspace.notebookDocuments.find((n) => n.uri.toString() === uri) ?? vscode.workspace.openNotebookDocument(uriOf(rel));
  };
  /** The index of the cell with this nbformat id (as VS Code's ipynb keeps it in the cell's metadata). */
  const indexOf = async (rel: string, id: string): Promise<number> => {
    // As a person looks for the cell: a collaborator's change may be redrawing it this instant.
    for (let attempt = 0; attempt < 50; attempt++) {
      const cells = (await notebookOf(rel)).getCells();
      const i = cells.findIndex((c) => (c.metadata as { id?: unknown }).id === id);
      if (i >= 0) return i;
      if (attempt === 49) throw new Error(`no cell ${id} in ${rel}: ${cells.map((c) => String((c.metadata as { id?: unknown }).id)).join(' ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return -1;
  };
  /** Selects (and focuses) one cell in the notebook's editor, shown and active. */
  const select = async (rel: string, index: number): Promise<vscode.NotebookEditor> => {
    const nb = await notebookOf(rel);
    const editor = await vscode.window.showNotebookDocument(nb, { preview: false, selections: [new vscode.NotebookRange(index, index + 1)] });
    editor.selections = [new vscode.NotebookRange(index, index + 1)];
    return editor;
  };
  /**
   * Focuses the cell `id` in the notebook's editor, as a person clicking it does, and waits until
   * VS Code's notebook editor has it focused: the focus is set by index, and a collaborator's cell
   * inserted or removed above it in that instant would shift it onto another cell.
   */
  const focusOn = async (rel: string, id: string): Promise<void> => {
    const nb = await notebookOf(rel);
    for (let attempt = 0; attempt < 50; attempt++) {
      // A person acts on what they see, not in the milliseconds a collaborator's cell is being drawn:
      // VS Code keeps a selection's index while cells arrive above it, and the binding puts it back on
      // its cell only once its edit is reported, so a command sent in between acts on another cell
      // (README, Notebooks, known limits). Wait until the binding has nothing in flight.
      for (let wait = 0; wait < 300 && testApi()?.notebookSettled(rel) === false; wait++) await new Promise((r) => setTimeout(r, 20));
      const editor = await select(rel, await indexOf(rel, id));
      // A round trip to the workbench: what it did before answering (the focus set, cells a
      // collaborator's edit added or removed) has been reported here by then.
      await vscode.workspace.applyEdit(new vscode.WorkspaceEdit());
      // No selection at all (undefined) while the editor's cells are being redrawn: try again.
      const selection = editor.selections[0];
      const at = selection?.start ?? -1;
      const settled = testApi()?.notebookSettled(rel) !== false;
      if (settled && selection && editor.selections.length === 1 && selection.end === at + 1 && at < nb.cellCount && idOf(nb.cellAt(at)) === id) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`could not focus cell ${id} of ${rel}`);
  };
  return {
    openNotebook: async (rel: string) => {
      const nb = await notebookOf(rel);
      await vscode.window.showNotebookDocument(nb, { preview: false });
      return { notebookType: nb.notebookType, cells: nb.cellCount, activeType: vscode.window.activeNotebookEditor?.notebook.notebookType ?? null };
    },
    /** The cells as the notebook editor holds them: kind, language, text, the id VS Code's ipynb keeps. */
    notebookCells: async (rel: string) => {
      const nb = await notebookOf(rel);
      return {
        dirty: nb.isDirty,
        cells: nb.getCells().map((c) => ({
          kind: c.kind === vscode.NotebookCellKind.Markup ? 'markdown' : 'code',
          language: c.document.languageId,
          text: c.document.getText(),
          id: (c.metadata as { id?: unknown }).id ?? null,
          // The shared cell it shows, as the binding maps it (the metadata id can lag behind).
          modelId: cellIdOf(c) ?? null,
        })),
      };
    },
    /** Inserts text into a cell's document at `offset` (1e9: the end), retried as a person would. */
    cellInsert: async (rel: string, index: number, offset: number, text: string) => {
      const nb = await notebookOf(rel);
      for (let attempt = 0; attempt < 100; attempt++) {
        const doc = nb.cellAt(index).document;
        const edit = new vscode.WorkspaceEdit();
        edit.insert(doc.uri, doc.positionAt(offset), text);
        if (await vscode.workspace.applyEdit(edit)) return true;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`could not insert into cell ${index} of ${rel}`);
    },
    /** Puts the keyboard's focus into a cell's text (its editor), for real keystrokes. */
    focusCell: async (rel: string, index: number) => {
      await select(rel, index);
      await vscode.commands.executeCommand('notebook.cell.edit');
      return true;
    },
    /**
     * Puts the caret (a selection from `anchor` to `head`, offsets in the cell's text) into the cell
     * `id`, its text editor focused, as a person clicking into the cell and selecting does.
     */
    selectInCell: async (rel: string, id: string, anchor: number, head: number) => {
      const index = await indexOf(rel, id);
      await select(rel, index);
      await vscode.commands.executeCommand('notebook.cell.edit');
      const document = (await notebookOf(rel)).cellAt(index).document;
      const wanted = new vscode.Selection(document.positionAt(anchor), document.positionAt(head));
      let set = 0;
      for (let attempt = 0; attempt < 100; attempt++) {
        const editor = vscode.window.activeTextEditor;
        if (editor?.document === document) {
          // The cell's editor, taking the focus, may place its caret after this one was set: set
          // again until it stays (twice in a row, a tenth of a second apart).
          if (editor.selection.isEqual(wanted) && ++set >= 2) return true;
          if (!editor.selection.isEqual(wanted)) (set = 0), (editor.selection = wanted);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`cell ${id} of ${rel} did not become the active text editor`);
    },
    /** The cell ids whose text editors are visible (VS Code draws decorations only in those). */
    visibleCells: async (rel: string) => {
      const nb = await notebookOf(rel);
      return vscode.window.visibleTextEditors
        .map((e) => nb.getCells().find((c) => c.document === e.document))
        .filter((c): c is vscode.NotebookCell => c !== undefined)
        .map((c) => (c.metadata as { id?: unknown }).id ?? null);
    },
    /**
     * A new code cell below the cell `id` (the notebook's command, on the focused cell), holding
     * `text`, typed as a person types it.
     */
    insertCellBelow: async (rel: string, id: string, text: string) => {
      const nb = await notebookOf(rel);
      await focusOn(rel, id);
      // The new cell is the one VS Code adds without an nbformat id (a collaborator's cells arrive
      // with theirs; VS Code's ipynb support gives the new one an id a moment later).
      let mine: vscode.NotebookCell | undefined;
      const added = new Promise<void>((resolve) => {
        const sub = vscode.workspace.onDidChangeNotebookDocument((e) => {
          if (e.notebook !== nb) return;
          mine ??= e.contentChanges.flatMap((c) => c.addedCells).find((c) => idOf(c) === undefined);
          if (mine) (sub.dispose(), resolve());
        });
      });
      // The command resolves only once the new cell's editor has the focus, which never happens if
      // the cell is redrawn before its editor is made (a collaborator's structure edit in that
      // instant, see the binding's notebook-edits.ts): a person sees the cell and types into it.
      void vscode.commands.executeCommand('notebook.cell.insertCodeCellBelow');
      await Promise.race([added, new Promise((_, reject) => setTimeout(() => reject(new Error(`no new cell appeared in ${rel}`)), 30_000))]);
      for (let attempt = 0; attempt < 300; attempt++) {
        // Redrawn (the binding put back a cell its own edit removed): the cell showing the same model cell.
        const modelId = mine!.index < 0 ? cellIdOf(mine!) : undefined;
        const cell = mine!.index >= 0 ? mine! : nb.getCells().find((c) => modelId !== undefined && idOf(c) === modelId);
        if (cell) {
          const edit = new vscode.WorkspaceEdit();
          edit.insert(cell.document.uri, new vscode.Position(0, 0), text);
          if (await vscode.workspace.applyEdit(edit)) return true;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`could not type into the new cell of ${rel}`);
    },
    // The cell commands act on the focused cell, as a person's click or key does: VS Code keeps the
    // focus on that cell whatever is inserted or deleted around it meanwhile (an index given as the
    // command's argument would be read against the notebook as it is when the command runs).
    deleteCell: async (rel: string, id: string) => {
      await focusOn(rel, id);
      await vscode.commands.executeCommand('notebook.cell.delete');
      return true;
    },
    moveCell: async (rel: string, id: string, direction: 'up' | 'down') => {
      await focusOn(rel, id);
      await vscode.commands.executeCommand(direction === 'up' ? 'notebook.cell.moveUp' : 'notebook.cell.moveDown');
      return true;
    },
    saveNotebook: async (rel: string) => (await notebookOf(rel)).save(),
    /**
     * The notebook tabs (workspace-relative paths, columns) and the active notebook editor: its path,
     * the selected cell, and the caret (cell index and offsets) if a cell's text has the focus.
     */
    notebookView: () => {
      const rel = (uri: vscode.Uri) => vscode.workspace.asRelativePath(uri, false);
      const tabs = vscode.window.tabGroups.all.flatMap((g) =>
        g.tabs.filter((t) => t.input instanceof vscode.TabInputNotebook).map((t) => ({ path: rel((t.input as vscode.TabInputNotebook).uri), viewColumn: g.viewColumn, active: t.isActive })),
      );
      const editor = vscode.window.activeNotebookEditor;
      const text = vscode.window.activeTextEditor;
      const cell = editor && text && editor.notebook.getCells().find((c) => c.document === text.document);
      return {
        tabs,
        active: editor ? rel(editor.notebook.uri) : null,
        selected: editor?.selections[0]?.start ?? null,
        caret: cell && text ? { cell: cell.index, anchor: text.document.offsetAt(text.selection.anchor), head: text.document.offsetAt(text.selection.active) } : null,
      };
    },
    /**
     * Runs a cell with a stand-in kernel of this test (no Jupyter here): a controller that prints the
     * cell's first line to stdout, as a person running the cell would get outputs and a count.
     */
    runCell: async (rel: string, id: string) => {
      const nb = await notebookOf(rel);
      const index = await indexOf(rel, id);
      if (!controller) {
        const made = vscode.notebooks.createNotebookController('hyperpair-test-kernel', 'jupyter-notebook', 'Hyperpair test kernel');
        made.supportedLanguages = ['python'];
        made.executeHandler = (cells) => {
          for (const cell of cells) {
            const run = made.createNotebookCellExecution(cell);
            run.executionOrder = ++executions;
            run.start(Date.now());
            void run.replaceOutput([new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.stdout(`ran: ${cell.document.lineAt(0).text}\n`)])]);
            run.end(true, Date.now());
          }
        };
        controller = made;
      }
      const editor = await select(rel, index);
      await vscode.commands.executeCommand('notebook.selectKernel', { notebookEditor: editor, id: 'hyperpair-test-kernel', extension: 'hyperpair.hyperpair' });
      await vscode.commands.executeCommand('notebook.cell.execute', { ranges: [{ start: index, end: index + 1 }], document: nb.uri });
      return true;
    },
    /** A cell's outputs as the editor shows them: each output's items as text. */
    cellOutputs: async (rel: string, id: string) => {
      const cell = (await notebookOf(rel)).cellAt(await indexOf(rel, id));
      return { order: cell.executionSummary?.executionOrder ?? null, outputs: cell.outputs.map((o) => o.items.map((i) => new TextDecoder().decode(i.data)).join('')) };
    },
  };
}
