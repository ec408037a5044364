/**
 * The editor-agnostic parts of the notebook binding (issue 18): the plan that brings an editor's
 * cells to the model's order (structure.ts), checked by applying it, and cell outputs between
 * nbformat and an editor's output items (outputs.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CellKind, JsonObject } from '../../src/sync/notebook/ipynb';
import { fromEditorOutput, toEditorOutput } from '../../src/sync/notebook/outputs';
import { indexAfter, planStructure, type ShownCell } from '../../src/sync/notebook/structure';

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
      .map((c) => ({ id: random() < 0.1 ? undefined : c.id, kind: random() < 0.1 ? kinds[Math.floor(random() * 3)] : c.kind }))
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
