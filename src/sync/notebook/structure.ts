/**
 * Bringing an editor's list of cells to the model's order, editor-agnostic (the VS Code binding,
 * src/editor/notebooks.ts, applies the steps as NotebookEdits): the fewest cells leave their place.
 * Cells the editor shows that are in the model, in the model's relative order and of the model's
 * kind, stay (one heaviest such run); every other editor cell is deleted (bottom first), then every
 * model cell the editor lacks is inserted (top first). Applied in that order, each step's index is
 * right for the list as the steps before it left it.
 *
 * An editor can only delete and insert cells (VS Code's API has no move): a collaborator's move is
 * carried out by redrawing cells, either the moved one or those it passed. A cell the person is in
 * (`own`: typing in it, or it has the focus) weighs as much as OWN_CELL_WEIGHT others, so that the
 * cells around it are redrawn rather than it (its caret, its undo, keys in flight stay), unless that
 * takes more than OWN_CELL_WEIGHT redraws.
 */
import { longestIncreasing } from './apply';
import type { CellKind } from './ipynb';

/** How many other cells may be redrawn to leave one of the person's own cells in place. */
export const OWN_CELL_WEIGHT = 50;

export interface ShownCell {
  /** The model cell it shows; undefined for a cell the binding does not know (none after a sync). */
  id: string | undefined;
  kind: CellKind;
  /** The person is in this cell (its caret, its focus): kept in place if the plan can. */
  own?: boolean;
}

export type StructureStep = { op: 'delete'; index: number } | { op: 'insert'; index: number; id: string };

export function planStructure(shown: readonly ShownCell[], model: ReadonlyArray<{ id: string; kind: CellKind }>): StructureStep[] {
  const at = new Map(model.map((c, i) => [c.id, i]));
  const candidates: number[] = [];
  shown.forEach((c, i) => {
    const m = c.id === undefined ? undefined : at.get(c.id);
    if (m !== undefined && model[m].kind === c.kind && !candidates.some((k) => shown[k].id === c.id)) candidates.push(i);
  });
  const values = candidates.map((i) => at.get(shown[i].id!)!);
  const weights = candidates.map((i) => (shown[i].own ? OWN_CELL_WEIGHT : 1));
  const run = weights.some((w) => w > 1) ? heaviestIncreasing(values, weights, model.length) : longestIncreasing(values);
  const stay = new Set(run.map((k) => candidates[k]));
  const steps: StructureStep[] = [];
  for (let i = shown.length - 1; i >= 0; i--) if (!stay.has(i)) steps.push({ op: 'delete', index: i });
  const kept = new Set([...stay].map((i) => shown[i].id));
  model.forEach((c, i) => {
    if (!kept.has(c.id)) steps.push({ op: 'insert', index: i, id: c.id });
  });
  return steps;
}

/** Where a cell the editor shows after `prevId` (undefined: at the top) goes among the model's live cells. */
export function indexAfter(model: ReadonlyArray<{ id: string }>, prevId: string | undefined, self?: string): number {
  const others = self === undefined ? model : model.filter((c) => c.id !== self);
  if (prevId === undefined) return 0;
  const k = others.findIndex((c) => c.id === prevId);
  return k < 0 ? others.length : k + 1;
}

/**
 * Indices into `values` (distinct, each below `bound`) of one strictly increasing subsequence with
 * the greatest sum of `weights` (O(n log n), a Fenwick tree of the best run ending below each value).
 */
export function heaviestIncreasing(values: readonly number[], weights: readonly number[], bound: number): number[] {
  const treeWeight = new Array<number>(bound + 1).fill(0);
  const treeEnd = new Array<number>(bound + 1).fill(-1);
  const best = new Array<number>(values.length).fill(0);
  const prev = new Array<number>(values.length).fill(-1);
  let top = -1;
  for (let i = 0; i < values.length; i++) {
    // The heaviest run ending at a value below this one.
    let w = 0;
    let end = -1;
    for (let k = values[i]; k > 0; k -= k & -k) {
      if (treeWeight[k] > w) (w = treeWeight[k]), (end = treeEnd[k]);
    }
    best[i] = w + weights[i];
    prev[i] = end;
    for (let k = values[i] + 1; k <= bound; k += k & -k) {
      if (best[i] > treeWeight[k]) (treeWeight[k] = best[i]), (treeEnd[k] = i);
    }
    if (top < 0 || best[i] > best[top]) top = i;
  }
  const out: number[] = [];
  for (let i = top; i >= 0; i = prev[i]) out.push(i);
  return out.reverse();
}
