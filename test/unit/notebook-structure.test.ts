/**
 * The editor-agnostic parts of the notebook binding (issue 18): the plan that brings an editor's
 * cells to the model's order (structure.ts), checked by applying it, and cell outputs between
 * nbformat and an editor's output items (outputs.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CellKind, JsonObject } from '../../src/sync/notebook/ipynb';
import { fromEditorOutput, toEditorOutput } from '../../src/sync/notebook/outputs';
import { heaviestIncreasing, indexAfter, OWN_CELL_WEIGHT, planStructure, type ShownCell } from '../../src/sync/notebook/structure';

function apply(shown: ShownCell[], model: Array<{ id: string; kind: CellKind }>): ShownCell[] {
  const out = [...shown];
  for (const step of planStructure(shown, model)) {
    assert.ok(step.index >= 0 && step.index <= out.length, `index ${step.index} within ${out.length}`);
    if (step.op === 'delete') out.splice(step.index, 1);
    else out.splice(step.index, 0, { id: step.id, kind: model.find((c) => c.id === step.id)!.kind });
  }
  return out;
}

test('the plan brings any editor list to the model order, keeping the longest run in order in place', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const kinds: CellKind[] = ['code', 'markdown', 'raw'];
  for (let round = 0; round < 500; round++) {
    const pool = Array.from({ length: 1 + Math.floor(random() * 10) }, (_, i) => ({ id: `c${i}`, kind: kinds[Math.floor(random() * 3)] }));
    const model = pool.filter(() => random() < 0.7).sort(() => random() - 0.5);
    const shown: ShownCell[] = pool
      .filter(() => random() < 0.7)
      .map((c) => ({ id: random() < 0.1 ? undefined : c.id, kind: random() < 0.1 ? kinds[Math.floor(random() * 3)] : c.kind, own: random() < 0.2 }))
      .sort(() => random() - 0.5);
    const result = apply(shown, model);
    assert.deepEqual(result.map((c) => c.id), model.map((c) => c.id));
    assert.deepEqual(result.map((c) => c.kind), model.map((c) => c.kind));
  }
  // One cell moved to the end: one delete, one insert; the others stay.
  const model = ['a', 'b', 'c', 'd'].map((id) => ({ id, kind: 'code' as const }));
  const shown = ['d', 'a', 'b', 'c'].map((id) => ({ id, kind: 'code' as const }));
  assert.deepEqual(planStructure(shown, model), [{ op: 'delete', index: 0 }, { op: 'insert', index: 3, id: 'd' }]);
  assert.deepEqual(planStructure(model, model), []);
});

/** The editor cells (by their place in `shown`) a plan removes: every cell it deletes, whoever it is. */
function redrawn(shown: ShownCell[], model: Array<{ id: string; kind: CellKind }>): string[] {
  const cells = shown.map((c) => c.id ?? '?');
  const out: string[] = [];
  for (const step of planStructure(shown, model)) {
    if (step.op === 'delete') out.push(...cells.splice(step.index, 1));
    else cells.splice(step.index, 0, `new ${step.id}`);
  }
  return out.sort();
}

test('a collaborator\'s move redraws the cells around the person\'s own cell, not it (unless that takes too many)', () => {
  const code = (ids: string[], own?: string): ShownCell[] => ids.map((id) => ({ id, kind: 'code', own: id === own }));
  const model = (ids: string[]) => code(ids).map(({ id, kind }) => ({ id: id!, kind }));
  // The cell below the person's moved up past it: without the person in it, either may be redrawn;
  // with the person in T, the moved cell is.
  assert.deepEqual(redrawn(code(['a', 'T', 'm', 'd'], 'T'), model(['a', 'm', 'T', 'd'])), ['m']);
  assert.deepEqual(redrawn(code(['a', 'T', 'm', 'd'], 'm'), model(['a', 'm', 'T', 'd'])), ['T']);
  // The person's own cell moved to the end: the cells it passed are redrawn.
  assert.deepEqual(redrawn(code(['T', 'a', 'b', 'c'], 'T'), model(['a', 'b', 'c', 'T'])), ['a', 'b', 'c']);
  assert.deepEqual(redrawn(code(['T', 'a', 'b', 'c']), model(['a', 'b', 'c', 'T'])), ['T']);
  // Moved past more cells than it weighs: the person's cell is redrawn (the fewest redraws).
  const many = Array.from({ length: OWN_CELL_WEIGHT + 1 }, (_, i) => `c${i}`);
  assert.deepEqual(redrawn(code(['T', ...many], 'T'), model([...many, 'T'])), ['T']);
  const fewer = many.slice(1);
  assert.deepEqual(redrawn(code(['T', ...fewer], 'T'), model([...fewer, 'T'])), [...fewer].sort());
});

test('the heaviest increasing run is as heavy as the heaviest one found by trying every subset', () => {
  let seed = 11;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let round = 0; round < 300; round++) {
    const n = Math.floor(random() * 9);
    const values = Array.from({ length: n }, (_, i) => i).sort(() => random() - 0.5);
    const weights = values.map(() => (random() < 0.3 ? 5 : 1));
    const run = heaviestIncreasing(values, weights, n);
    for (let k = 1; k < run.length; k++) assert.ok(run[k - 1] < run[k] && values[run[k - 1]] < values[run[k]], `increasing: ${run}`);
    let best = 0;
    for (let mask = 0; mask < 1 << n; mask++) {
      const picked = values.map((_, i) => i).filter((i) => mask & (1 << i));
      if (picked.every((i, k) => k === 0 || values[picked[k - 1]] < values[i])) best = Math.max(best, picked.reduce((sum, i) => sum + weights[i], 0));
    }
    assert.equal(run.reduce((sum, i) => sum + weights[i], 0), best, `${values} ${weights}`);
  }
});

test('a cell placed after another lands right after it among the model\'s cells', () => {
  const model = ['a', 'b', 'c'].map((id) => ({ id }));
  assert.equal(indexAfter(model, undefined), 0);
  assert.equal(indexAfter(model, 'b'), 2);
  assert.equal(indexAfter(model, 'a', 'c'), 1);
  assert.equal(indexAfter(model, 'c', 'a'), 2);
  assert.equal(indexAfter(model, 'gone'), 3);
});

test('outputs of every nbformat type come back the same through an editor\'s output items', () => {
  const outputs: JsonObject[] = [
    { output_type: 'stream', name: 'stdout', text: 'hello\nworld\n' },
    { output_type: 'stream', name: 'stderr', text: 'warning\n' },
    { output_type: 'error', ename: 'ValueError', evalue: 'bad', traceback: ['line 1', 'line 2'] },
    { output_type: 'execute_result', data: { 'text/plain': '42', 'application/json': { a: 1 } }, metadata: {}, execution_count: 3 },
    { output_type: 'display_data', data: { 'image/png': Buffer.from('png bytes').toString('base64'), 'text/html': '<b>x</b>' }, metadata: { isolated: true } },
  ];
  for (const o of outputs) assert.deepEqual(fromEditorOutput(toEditorOutput(o)), o);
  // nbformat's lists of lines read as one string.
  assert.deepEqual(fromEditorOutput(toEditorOutput({ output_type: 'stream', name: 'stdout', text: ['a\n', 'b'] })), { output_type: 'stream', name: 'stdout', text: 'a\nb' });
});
