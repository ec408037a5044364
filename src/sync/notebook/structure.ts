/**
 * Bringing an editor's list of cells to the model's order, editor-agnostic (the VS Code binding,
 * src/editor/notebooks.ts, applies the steps as NotebookEdits): the fewest cells leave their place.
 * Cells the editor shows that are in the model, in the model's relative order and of the model's
 * kind, stay (one longest such run); every other editor cell is deleted (bottom first), then every
 * model cell the editor lacks is inserted (top first). Applied in that order, each step's index is
 * right for the list as the steps before it left it.
 */
import { longestIncreasing } from './apply';
import type { CellKind } from './ipynb';

export interface ShownCell {
  /** The model cell it shows; undefined for a cell the binding does not know (none after a sync). */
  id: string | undefined;
  kind: CellKind;
}

export type StructureStep = { op: 'delete'; index: number } | { op: 'insert'; index: number; id: string };

export function planStructure(shown: readonly ShownCell[], model: ReadonlyArray<{ id: string; kind: CellKind }>): StructureStep[] {
  const at = new Map(model.map((c, i) => [c.id, i]));
  const candidates: number[] = [];
  shown.forEach((c, i) => {
    const m = c.id === undefined ? undefined : at.get(c.id);
    if (m !== undefined && model[m].kind === c.kind && !candidates.some((k) => shown[k].id === c.id)) candidates.push(i);
  });
  const stay = new Set(longestIncreasing(candidates.map((i) => at.get(shown[i].id!)!)).map((k) => candidates[k]));
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
