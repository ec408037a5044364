/**
 * A notebook file changed on disk, as the mirror takes it (docs/PROTOCOL.md §6.6, version 3): the
 * change from what the mirror last read or wrote there (`known.text`) to the file now is applied to
 * the shared model (apply.ts), so what others did meanwhile stays. A file that no longer parses as a
 * notebook (half written, a merge conflict) is not taken and not written over: its last valid version
 * stays shared until the file is a notebook again, and the person is told once.
 */
import type { Known } from '../disk-state';
import { contentHash } from '../hash';
import { applyNotebookChange } from './apply';
import { notebookText, readNotebook } from './first-state';
import type { Notebook } from './ipynb';
import type { NotebookModel } from './model';

export type NotebookIntake =
  /** Taken into the model; `known` is what the mirror records, `behind`: the model holds more (write it). */
  | { taken: true; known: Known; behind: boolean }
  /** Not a notebook: nothing taken, the record stays (so the file is not written over unseen). */
  | { taken: false; why: string };

export function takeNotebookFromDisk(model: NotebookModel, known: Known | undefined, text: string, bytes: Uint8Array): NotebookIntake {
  const next = readNotebook(text);
  if (!next) return { taken: false, why: 'it is no longer a valid notebook (nbformat 4)' };
  const shared = notebookText(model);
  if (shared !== text) {
    // From what this mirror last saw; without a record (or one that is no notebook), from the model:
    // then every difference is this disk's change.
    const base = (known?.text !== undefined ? readNotebook(known.text) : undefined) ?? model.toNotebook();
    applyNotebookChange(model, base, keepIds(base, next), 'disk');
  }
  return { taken: true, known: { hash: contentHash(bytes), size: bytes.byteLength, text }, behind: notebookText(model) !== text };
}

/**
 * A notebook without cell ids in its file (nbformat before 4.5) gets ids derived from each cell's
 * place and source (ipynb.ts), so a cell edited on disk would read as a new cell replacing the old
 * one. A cell the file does not name, at the place of a base cell it no longer has, of the same kind,
 * is that cell edited: it keeps its id.
 */
export function keepIds(base: Notebook, next: Notebook): Notebook {
  if (next.nbformatMinor >= 5) return next;
  const nextIds = new Set(next.cells.map((c) => c.id));
  const baseIds = new Set(base.cells.map((c) => c.id));
  const cells = next.cells.map((c, i) => {
    const was = base.cells[i];
    if (baseIds.has(c.id) || !was || nextIds.has(was.id) || was.kind !== c.kind) return c;
    nextIds.add(was.id);
    return { ...c, id: was.id };
  });
  return { ...next, cells };
}

/**
 * Whether a file holds the model's cells (the same ids, kinds and sources, in order), whatever its
 * formatting: VS Code's notebook editor saves the cells in a form of its own, so a notebook it moved
 * on disk is recognised as the one that left its old name by its cells, not by its bytes.
 */
export function holdsCells(text: string, model: NotebookModel): boolean {
  const file = readNotebook(text);
  const cells = model.cells();
  if (!file || file.cells.length !== cells.length) return false;
  return file.cells.every((c, i) => c.id === cells[i].id && c.kind === cells[i].kind && c.source === cells[i].source);
}
