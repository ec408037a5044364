/**
 * A notebook file as the workspace holds it (docs/PROTOCOL.md §6.1, version 3): an `.ipynb` that
 * parses as nbformat 4 is shared as a notebook document (model.ts) named by its file id, carried by
 * the same document sync as texts. Its first state is `NotebookModel.initialState` of the parsed file
 * (client id 0, ids and positions derived from the file), so, as for a text, every peer builds the
 * identical first state from the same bytes and a notebook can travel as bytes until someone needs it.
 */
import * as Y from 'yjs';
import { contentHash } from '../hash';
import { NotebookFormatError, parseIpynb, writeIpynb, type Notebook } from './ipynb';
import { NotebookModel } from './model';

/** Whether a path names a notebook (Jupyter's own test: the extension, in any case). */
export function isNotebookPath(rel: string): boolean {
  return rel.toLowerCase().endsWith('.ipynb');
}

/** The notebook a file's text holds, or undefined when it is no nbformat 4 notebook (then it is shared as text). */
export function readNotebook(text: string): Notebook | undefined {
  try {
    return parseIpynb(text);
  } catch (err) {
    if (err instanceof NotebookFormatError) return undefined;
    throw err;
  }
}

/** Whether a document is a notebook's: its `cells` map exists (made by the model, or by an update naming it). */
export function isNotebookDoc(doc: Y.Doc): boolean {
  return doc.share.has('cells');
}

/** Bytes that must be a notebook's first state: their hash is the entry's and they parse as nbformat 4. */
export function notebookBase(bytes: Uint8Array, hash: string): Notebook | undefined {
  if (contentHash(bytes) !== hash) return undefined;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
  return readNotebook(text);
}

/** Gives a document a notebook's first state (as an update, like a text's: see text-base.ts). */
export function materialiseNotebook(doc: Y.Doc, nb: Notebook, origin: unknown): void {
  Y.applyUpdate(doc, NotebookModel.initialState(nb), origin);
}

/** The file Jupyter would write for the notebook as the model holds it now. */
export function notebookText(model: NotebookModel): string {
  return writeIpynb(model.toNotebook());
}
