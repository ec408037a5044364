/**
 * A notebook binding's runs (src/editor/reconcile-runs.ts): a run that fails or stops before the
 * editor shows the model is tried again, a bounded number of times; requests share a queued run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_RETRIES, ReconcileRuns } from '../../src/editor/reconcile-runs';

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), what);
}

test('a run that throws is tried again until one brings the editor to the model', async () => {
  let calls = 0;
  const warnings: string[] = [];
  const runs = new ReconcileRuns(async () => {
    if (++calls <= 2) throw new Error(`refused ${calls}`);
    return true;
  }, (w) => warnings.push(w), 1);
  runs.soon();
  await until(() => calls === 3 && runs.settled, 'three runs, then settled');
  assert.deepEqual(warnings, ['refused 1', 'refused 2']);
  runs.dispose();
});

test('a run that stopped before the editor showed the model is tried again', async () => {
  let calls = 0;
  const runs = new ReconcileRuns(async () => ++calls >= 3, () => {}, 1);
  runs.soon();
  await until(() => calls === 3 && runs.settled, 'three runs, then settled');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(calls, 3, 'no run after one that succeeded');
  runs.dispose();
});

test('the tries are bounded, with a warning; the next request tries again', async () => {
  let calls = 0;
  const warnings: string[] = [];
  const runs = new ReconcileRuns(async () => (calls++, false), (w) => warnings.push(w), 1);
  runs.soon();
  await until(() => warnings.length === 1 && runs.settled, 'gave up');
  assert.equal(calls, MAX_RETRIES + 1);
  assert.match(warnings[0], /still differ/);
  runs.soon();
  await until(() => calls === 2 * (MAX_RETRIES + 1) && runs.settled, 'a new request tries again as many times');
  runs.dispose();
});

test('requests while one is queued share it; a step given first runs before it', async () => {
  const order: string[] = [];
  let release!: () => void;
  const runs = new ReconcileRuns(async () => {
    order.push('run');
    if (order.length === 1) await new Promise<void>((r) => (release = r));
    return true;
  }, () => {}, 1);
  runs.soon();
  await until(() => order.length === 1, 'the first run started');
  runs.soon(async () => void order.push('first'));
  runs.soon();
  runs.soon();
  assert.equal(runs.settled, false);
  release();
  await until(() => runs.settled, 'settled');
  assert.deepEqual(order, ['run', 'first', 'run']);
  runs.dispose();
});

test('after dispose nothing runs, and a waiting try is cancelled', async () => {
  let calls = 0;
  const runs = new ReconcileRuns(async () => (calls++, false), () => {}, 20);
  runs.soon();
  await until(() => calls === 1, 'one run');
  runs.dispose();
  await new Promise((r) => setTimeout(r, 100));
  runs.soon();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(calls, 1);
});
