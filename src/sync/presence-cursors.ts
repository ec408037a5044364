/**
 * Where collaborators' cursors are: their published selections (Yjs relative positions, untrusted)
 * resolved to offsets in a shared text this peer holds — a text file's, or one notebook cell's source
 * (PROTOCOL.md §6.1, `file.cell`). A position counts only if it resolves into that very text: one that
 * names another cell, or another type of the document, draws nothing. No `vscode` here: the editor
 * glue (src/editor/presence.ts) draws what this finds.
 */
import * as Y from 'yjs';
import type { FileEntry } from './api';
import type { PresenceState } from './awareness';
import type { NotebookModel } from './notebook/model';

export interface DrawnCursor {
  clientId: number;
  name: string;
  colour: string;
  /** Offsets in the text; anchor === head for a bare cursor. */
  anchor: number;
  head: number;
}

/** What this needs of a workspace. */
export interface CursorSources {
  byId(id: string): FileEntry | undefined;
  loadedText(id: string): Y.Text | undefined;
  loadedNotebook(id: string): NotebookModel | undefined;
}

/**
 * The key of a place cursors are drawn in: a file's path, or a notebook's path and a cell id. A path
 * never holds a NUL, so no file's key is a cell's.
 */
export function placeKey(path: string, cell?: string): string {
  return cell === undefined ? path : `${path}\0${cell}`;
}

/** The shared text a state's selections are in (the path this peer knows for the file), if held here. */
function placeOf(state: PresenceState, sources: CursorSources): { key: string; text: Y.Text } | undefined {
  const file = state.file;
  if (!file) return undefined;
  // The path this peer knows for the file id, never the one the other peer wrote.
  const entry = sources.byId(file.id);
  if (!entry) return undefined;
  if (entry.kind === 'notebook') {
    // A notebook's selections are in a cell's text; a state without a cell (an older peer, or no
    // cell's text active) draws nothing.
    const text = file.cell === undefined ? undefined : sources.loadedNotebook(file.id)?.source(file.cell);
    return text && { key: placeKey(entry.path, file.cell), text };
  }
  if (file.cell !== undefined) return undefined; // a cell in a file that is no notebook here
  const text = sources.loadedText(file.id);
  return text && { key: placeKey(entry.path), text };
}

/** Every collaborator's cursors, by place key (placeKey), in the order of their states. */
export function resolveCursors(others: Map<number, PresenceState>, sources: CursorSources): Map<string, DrawnCursor[]> {
  const out = new Map<string, DrawnCursor[]>();
  others.forEach((state, clientId) => {
    if (!state.user || !state.selections?.length) return;
    const place = placeOf(state, sources);
    if (!place) return;
    for (const sel of state.selections) {
      const anchor = offsetIn(sel.anchor, place.text);
      const head = offsetIn(sel.head, place.text);
      if (anchor === undefined || head === undefined) continue;
      const list = out.get(place.key) ?? [];
      list.push({ clientId, name: state.user.name, colour: state.user.colour, anchor, head });
      out.set(place.key, list);
    }
  });
  return out;
}

/** A relative position's offset in `text`, or undefined when malformed or in another type. */
export function offsetIn(json: unknown, text: Y.Text): number | undefined {
  if (!text.doc) return undefined;
  try {
    const abs = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(json), text.doc);
    return abs && abs.type === text ? abs.index : undefined;
  } catch {
    return undefined; // a peer's malformed position draws nothing
  }
}

/** A position to publish: `offset` in `text`, as Y.RelativePosition JSON. */
export function positionAt(text: Y.Text, offset: number): unknown {
  return Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, offset));
}
