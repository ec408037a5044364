/**
 * Notices shown in bursts (sync/notice-bursts.ts): a few are shown each, many as the first ones and a
 * count of the rest; nothing is dropped uncounted, and a late notice starts a burst of its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NoticeBursts } from '../../src/sync/notice-bursts';
import { waitFor } from '../helpers/testnet';

test('a few notices are shown each; a burst of many as the first ones and a count of the rest', async () => {
  const shown: Array<{ shown: string[]; more: number }> = [];
  const bursts = new NoticeBursts((s, more) => shown.push({ shown: [...s], more }), 3, 20);
  bursts.add('a');
  bursts.add('b');
  await waitFor(() => shown.length === 1, 'the first burst');
  assert.deepEqual(shown[0], { shown: ['a', 'b'], more: 0 });
  for (let i = 0; i < 300; i++) bursts.add(`copy ${i}`);
  await waitFor(() => shown.length === 2, 'the second burst');
  assert.deepEqual(shown[1], { shown: ['copy 0', 'copy 1'], more: 298 });
  bursts.add('late');
  bursts.dispose(); // shown at once, not lost with the timer
  assert.deepEqual(shown[2], { shown: ['late'], more: 0 });
  bursts.dispose();
  assert.equal(shown.length, 3, 'nothing shown twice');
});

test('notices that keep coming (a join tells them over seconds) are one burst, up to its longest', async () => {
  const shown: Array<{ shown: string[]; more: number }> = [];
  const bursts = new NoticeBursts((s, more) => shown.push({ shown: [...s], more }), 3, 100, 400);
  for (let i = 0; i < 10; i++) {
    bursts.add(`copy ${i}`);
    await new Promise((r) => setTimeout(r, 10)); // well within the quiet time
  }
  await waitFor(() => shown.length === 1, 'the burst');
  assert.deepEqual(shown[0], { shown: ['copy 0', 'copy 1'], more: 8 });
  // A stream that never pauses is still shown, at the longest, and counted whole.
  const start = Date.now();
  let n = 0;
  while (Date.now() - start < 1000) {
    bursts.add(`stream ${n++}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  bursts.dispose();
  assert.ok(shown.length >= 3, `a never-ending stream shown as it goes: ${shown.length} bursts`);
  assert.equal(shown.slice(1).reduce((sum, b) => sum + b.shown.length + b.more, 0), n, 'every notice shown or counted');
});
