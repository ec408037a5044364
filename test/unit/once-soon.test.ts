/** A function run once on a later turn however often it is asked for (src/session/once-soon.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterIo, endOfTask, OnceSoon } from '../../src/session/once-soon';

test('a burst of requests is one run, on the turn chosen; a request during a run is another', async () => {
  const order: string[] = [];
  let again = true;
  const io = new OnceSoon(() => order.push('io'), afterIo);
  const task = new OnceSoon(() => {
    order.push('task');
    if (again) (again = false), task.request();
  }, endOfTask);
  for (let i = 0; i < 5; i++) io.request(), task.request();
  assert.equal(io.queued, true);
  assert.deepEqual(order, [], 'nothing runs in the requesting task');
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['task', 'task', 'io'], 'the end of the task first (twice: once asked again while running), then after I/O once');
  assert.equal(io.queued, false);
});
