/**
 * The text fetcher's decisions (src/sync/fetcher.ts), driven through its host interface: whom it asks,
 * in what order, when it moves on and when it gives up. The wire behind it is tested over real sessions
 * in sync-liveness.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TextFetcher } from '../../src/sync/fetcher';
import { waitFor } from '../helpers/testnet';

function setup(peers: string[], options = { window: 64, timeoutMs: 600_000 }) {
  const asked: Array<[peer: string, id: string]> = [];
  const exhausted: string[] = [];
  const ready = new Set<string>();
  const holdsPart = new Set<string>();
  const fetcher = new TextFetcher(
    {
      peers: () => peers,
      isReady: (id) => ready.has(id),
      request: (peer, id) => asked.push([peer, id]),
      holdsPart: (id) => holdsPart.has(id),
      exhausted: (id) => exhausted.push(id),
    },
    options,
  );
  return { fetcher, asked, exhausted, ready, peers, holdsPart };
}

test('asks the member the entry came from first, then each other member once, then gives up', () => {
  const { fetcher, asked, exhausted, holdsPart } = setup(['p1', 'p2', 'p3']);
  holdsPart.add('doc'); // else the members passed over for asking us would be given their deadline
  fetcher.want('doc', false, 'p2');
  assert.deepEqual(asked, [['p2', 'doc']]);
  fetcher.askedBy('p2', 'doc'); // p2 is waiting for it too
  fetcher.askedBy(asked[1][0], 'doc');
  fetcher.peerLeft(asked[2][0]);
  assert.deepEqual(asked.map(([p]) => p).sort(), ['p1', 'p2', 'p3']);
  assert.deepEqual(exhausted, ['doc']);
  fetcher.close();
});

test('a step 1 from a member we are not waiting on for that text changes nothing', () => {
  const { fetcher, asked } = setup(['p1', 'p2']);
  fetcher.want('doc', false, 'p1');
  fetcher.askedBy('p2', 'doc');
  fetcher.askedBy('p1', 'other');
  assert.deepEqual(asked, [['p1', 'doc']]);
  fetcher.close();
});

test('a silent member is passed over after the timeout', async () => {
  const { fetcher, asked } = setup(['p1', 'p2'], { window: 64, timeoutMs: 20 });
  fetcher.want('doc', false, 'p1');
  await waitFor(() => asked.length === 2, 'the second member asked', 5_000);
  assert.deepEqual(asked, [['p1', 'doc'], ['p2', 'doc']]);
  fetcher.close();
});

test('a text nobody could send is asked for again, from everyone, when a member joins', () => {
  const { fetcher, asked, exhausted, peers } = setup(['p1']);
  fetcher.want('doc');
  fetcher.peerLeft('p1'); // (still listed: it is asked of no one twice)
  assert.deepEqual(exhausted, ['doc']);
  peers.push('p2');
  fetcher.peerJoined('p2');
  assert.deepEqual(asked.at(-1), ['p2', 'doc']);
  fetcher.peerLeft('p2');
  peers.pop();
  assert.deepEqual(exhausted, ['doc', 'doc']);
  fetcher.close();
});

test('at most `window` requests at a time; an arrival frees a slot; urgent texts go first', () => {
  const { fetcher, asked, ready } = setup(['p1'], { window: 2, timeoutMs: 600_000 });
  for (const id of ['a', 'b', 'c', 'd']) fetcher.want(id);
  assert.deepEqual(asked.map(([, id]) => id), ['a', 'b']);
  fetcher.want('d', true);
  ready.add('a');
  fetcher.done('a');
  assert.deepEqual(asked.map(([, id]) => id), ['a', 'b', 'd']);
  assert.equal(fetcher.pending, 3);
  fetcher.close();
});

test('with nobody connected, requests wait for a member instead of giving up', () => {
  const { fetcher, asked, exhausted, peers } = setup([]);
  fetcher.want('doc');
  assert.deepEqual(asked, []);
  assert.deepEqual(exhausted, []);
  peers.push('p1');
  fetcher.peerJoined('p1');
  assert.deepEqual(asked, [['p1', 'doc']]);
  fetcher.close();
});

test('a member that asked us while we waited on it: with part of the text here, no more waiting; with none, its deadline is awaited', async () => {
  const part = setup(['p1'], { window: 64, timeoutMs: 600_000 });
  part.holdsPart.add('doc');
  part.fetcher.want('doc');
  part.fetcher.askedBy('p1', 'doc');
  assert.deepEqual(part.exhausted, ['doc']);
  part.fetcher.close();

  const none = setup(['p1'], { window: 64, timeoutMs: 30 });
  none.fetcher.want('doc');
  none.fetcher.askedBy('p1', 'doc'); // it may only have been syncing on connecting, and answer
  assert.deepEqual(none.exhausted, []);
  await waitFor(() => none.exhausted.length === 1, 'given up after its deadline', 5_000);
  none.fetcher.close();
});
