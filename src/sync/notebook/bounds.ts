/**
 * Bounds on a notebook document from peers (docs/PROTOCOL.md §6.2, version 3), checked after each
 * update like a text's length: a sender past them is disconnected. Cells are counted with their
 * tombstones (each holds its text), and their sources together may hold as much as one text.
 */
import * as Y from 'yjs';
import { isNotebookDoc } from './first-state';

/** Cells a notebook document may hold, deleted ones included. */
export const MAX_NOTEBOOK_CELLS = 10_000;

/** Why a notebook document is over its bounds, or undefined (also for a document that is no notebook). */
export function notebookProblem(doc: Y.Doc, maxChars: number): string | undefined {
  if (!isNotebookDoc(doc)) return undefined;
  const cells = doc.getMap<unknown>('cells');
  if (cells.size > MAX_NOTEBOOK_CELLS) return `notebook document with more than ${MAX_NOTEBOOK_CELLS} cells`;
  let chars = 0;
  for (const cell of cells.values()) {
    const source = cell instanceof Y.Map ? cell.get('source') : undefined;
    if (source instanceof Y.Text) chars += source.length;
  }
  return chars > maxChars ? `notebook document over ${maxChars} characters` : undefined;
}
