/**
 * Whom a peer without the index asks for it (src/sync/index-ask.ts): one member first, the others
 * once the index is whole, or at once when the member asked leaves or stalls.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IndexAsker } from '../../src/sync/index-ask';

test('with the index, every member is asked as it joins', () => {
  const asked: string[] = [];
  const a = new IndexAsker((p) => asked.push(p), true);
  a.joined('x');
  a.joined('y');
  assert.deepEqual(asked, ['x', 'y']);
  a.close();
});

test('without it, the first member is asked, the others once the index is whole', () => {
  const asked: string[] = [];
  const a = new IndexAsker((p) => asked.push(p), false);
  a.joined('x');
  a.joined('y');
  a.joined('z');
  a.left('z');
  assert.deepEqual(asked, ['x']);
  a.indexReady();
  assert.deepEqual(asked, ['x', 'y']);
  a.joined('w');
  assert.deepEqual(asked, ['x', 'y', 'w'], 'and every member after');
  a.close();
});

test('the member asked leaving, or sending nothing for a while, has the others asked at once', async () => {
  const asked: string[] = [];
  const a = new IndexAsker((p) => asked.push(p), false);
  a.joined('x');
  a.joined('y');
  a.left('x');
  assert.deepEqual(asked, ['x', 'y']);
  a.close();

  let now = 0;
  const stalled: string[] = [];
  const b = new IndexAsker((p) => stalled.push(p), false, 20, () => now);
  b.joined('x');
  b.joined('y');
  now = 15;
  b.heard('x');
  now = 30;
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(stalled, ['x'], 'x sent part of it 15 ms ago');
  b.heard('y'); // not the member asked: no sign of x
  now = 40;
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(stalled, ['x', 'x', 'y'], 'every member, x again');
  b.close();
});

test('a step 1 lost while the member stays (a duplicate connection dropped under it) is sent again, every silence, until the index is whole', async () => {
  let now = 0;
  const asked: string[] = [];
  const a = new IndexAsker((p) => asked.push(p), false, 20, () => now);
  a.joined('x');
  now = 25;
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(asked, ['x', 'x']);
  now = 50;
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(asked, ['x', 'x', 'x']);
  a.heard('x');
  a.indexReady();
  now = 100;
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(asked, ['x', 'x', 'x'], 'nothing more once the index is whole');
  a.close();
});
