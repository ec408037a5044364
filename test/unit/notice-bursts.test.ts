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
