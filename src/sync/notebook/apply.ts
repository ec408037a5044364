/**
 * A notebook file changed on disk (Jupyter, a script, git): the change is what turns the notebook as
 * this peer last read or wrote it (`base`) into the file's new content (`next`), and that change — not
 * the new file as a whole — is applied to the shared model. So whatever the others did since `base`
 * stays: their cells, moves and typing are not reverted by a tool that never saw them.
 */
import * as Y from 'yjs';
import { rebase } from '../edit-algebra';
import { diffEdits, type TextEdit } from '../textdiff';
import type { Notebook, NotebookCell } from './ipynb';
import type { NotebookModel } from './model';

export function applyNotebookChange(model: NotebookModel, base: Notebook, next: Notebook, origin?: unknown): void {
  const before = new Map(base.cells.map((c) => [c.id, c]));
  const after = new Map(next.cells.map((c) => [c.id, c]));
  model.doc.transact(() => {
    if (JSON.stringify(base.metadata) !== JSON.stringify(next.metadata)) model.setNotebookMetadata(next.metadata, origin);
    for (const c of base.cells) if (!after.has(c.id)) model.deleteCell(c.id, origin);
    for (const c of next.cells) {
      const old = before.get(c.id);
      if (old) updateCell(model, old, c, origin);
    }
    placeCells(model, base, next, origin);
  }, origin);
}

function updateCell(model: NotebookModel, old: NotebookCell, c: NotebookCell, origin: unknown): void {
  if (old.kind !== c.kind) model.setKind(c.id, c.kind, origin);
  if (JSON.stringify(old.metadata) !== JSON.stringify(c.metadata)) model.setCellMetadata(c.id, c.metadata, origin);
  if (JSON.stringify(old.outputs) !== JSON.stringify(c.outputs) || old.executionCount !== c.executionCount) {
    model.setOutputs(c.id, c.outputs, c.executionCount, origin);
  }
  const text = model.source(c.id);
  if (text && old.source !== c.source) applyRebased(text, diffEdits(old.source, c.source), diffEdits(old.source, text.toString()));
}

/** Applies edits made to the base text onto the Y.Text, which may have moved on since the base. */
function applyRebased(text: Y.Text, edits: TextEdit[], since: TextEdit[]): void {
  const { local } = rebase(edits, since);
  for (const e of [...local].sort((a, b) => b.offset - a.offset)) {
    if (e.deleteCount) text.delete(e.offset, e.deleteCount);
    if (e.insert) text.insert(e.offset, e.insert);
  }
}

/**
 * New cells go after the cell that precedes them in the file; a kept cell is moved only if the file
 * changed its order relative to the other kept cells (those outside the longest run that kept its
 * order), so a reordering nobody made is never written into the model.
 */
function placeCells(model: NotebookModel, base: Notebook, next: Notebook, origin: unknown): void {
  const baseIndex = new Map(base.cells.map((c, i) => [c.id, i]));
  const kept = next.cells.filter((c) => baseIndex.has(c.id));
  const stay = longestIncreasing(kept.map((c) => baseIndex.get(c.id) as number)).map((i) => kept[i].id);
  const fixed = new Set(stay);
  const placed: string[] = [];
  for (const c of next.cells) {
    if (!fixed.has(c.id)) {
      const live = model.cells().filter((x) => x.id !== c.id);
      // After the nearest cell above it in the file that is still in the model (others may have
      // deleted some since).
      let at = 0;
      for (let i = placed.length - 1; i >= 0; i--) {
        const k = live.findIndex((x) => x.id === placed[i]);
        if (k >= 0) {
          at = k + 1;
          break;
        }
      }
      if (baseIndex.has(c.id)) model.moveCell(c.id, at, origin);
      else model.insertCell(at, c, origin);
    }
    placed.push(c.id);
  }
}

/** Indices into `values` of one longest strictly increasing subsequence (O(n log n)). */
export function longestIncreasing(values: number[]): number[] {
  const tails: number[] = [];
  const prev = new Array<number>(values.length).fill(-1);
  for (let i = 0; i < values.length; i++) {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (values[tails[mid]] < values[i]) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prev[i] = tails[lo - 1];
    tails[lo] = i;
  }
  const out: number[] = [];
  for (let i = tails.length ? tails[tails.length - 1] : -1; i >= 0; i = prev[i]) out.push(i);
  return out.reverse();
}
