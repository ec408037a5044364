/**
 * The index guard against an exact oracle, on real Yjs documents: peers edit their copies of an index
 * concurrently (create, rename, delete, restore, new binary versions, links and folders), one of them
 * sometimes writes what a peer must refuse (unsafe paths, bad sizes and kinds, malformed entries),
 * and a receiver takes their updates out of order, merged, and repeated, as members forward them.
 *
 * Checked after every update: the receiver's index never holds a malformed entry (whatever order
 * things came in, and though the guard reads updates without applying them: update-places.ts); the
 * guard refuses whatever the oracle (the update applied to a copy of the index, then every entry it
 * touched checked: the guard's former design) refuses; its counts are the index's. Without the
 * attacker: nothing is refused, and the receiver ends with exactly the peers' index.
 * HYPERPAIR_FUZZ_SEEDS=<n> runs more seeds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { fieldProblem, IndexGuard, type WorkspaceCaps } from '../../src/sync/index-guard';
import { ProtocolError } from '../../src/sync/protocol';
import { seededRandom } from '../helpers/sim-editor';

const CAPS: WorkspaceCaps = { maxFiles: 10_000, maxFileBytes: 1_000_000, maxTotalBytes: 1e12 };
const SEEDS = Number(process.env.HYPERPAIR_FUZZ_SEEDS ?? 40);

/** Why the index holds something no peer may accept, or undefined. */
function indexProblem(doc: Y.Doc): string | undefined {
  for (const [id, m] of doc.getMap<unknown>('files')) {
    if (!/^[0-9a-f]{32}$/.test(id) || !(m instanceof Y.Map)) return `malformed entry ${id}`;
    for (const field of ['path', 'size', 'kind']) {
      const value: unknown = m.get(field);
      const problem = value === undefined ? undefined : fieldProblem(field, value, CAPS);
      if (problem) return `${id}: ${problem}`;
    }
  }
  return undefined;
}

/** The former guard: the update applied to a copy of the index, then every entry checked. */
function oracleRefuses(real: Y.Doc, update: Uint8Array): boolean {
  const copy = new Y.Doc();
  try {
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(real));
    Y.applyUpdate(copy, update);
    return indexProblem(copy) !== undefined;
  } catch {
    return true;
  } finally {
    copy.destroy();
  }
}

const BAD_PATHS = ['../escape.txt', '/etc/passwd', 'a/../../b', 'C:/x', '', 'a//b'];

function run(seed: number, attacker: boolean): { refused: number; delivered: number } {
  const rand = seededRandom(seed);
  const r = (): number => rand(2 ** 32) / 2 ** 32;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const peers = [0, 1, 2].map(() => new Y.Doc());
  const bad = attacker ? peers[2] : undefined;
  const sent: Array<{ update: Uint8Array; bad: boolean }> = [];
  for (const p of peers) p.on('update', (u: Uint8Array) => sent.push({ update: u, bad: p === bad }));
  let nextPath = 0;
  const id = (): string => Array.from({ length: 32 }, () => '0123456789abcdef'[Math.floor(r() * 16)]).join('');

  for (let step = 0; step < 120; step++) {
    const p = pick(peers);
    const files = p.getMap<Y.Map<unknown>>('files');
    const ids = [...files.keys()].filter((k) => files.get(k) instanceof Y.Map);
    const roll = r();
    if (roll < 0.1 && peers.length > 1) {
      const q = pick(peers);
      if (q !== p) Y.applyUpdate(p, Y.encodeStateAsUpdate(q, Y.encodeStateVector(p)));
      continue;
    }
    if (p === bad && roll < 0.3) {
      const m = ids.length ? files.get(pick(ids)) : undefined;
      const which = Math.floor(r() * 6);
      p.transact(() => {
        if (which === 0 && m) m.set('path', pick(BAD_PATHS));
        else if (which === 1 && m) m.set('size', pick([-1, 2 ** 60, 1.5, 'big']));
        else if (which === 2 && m) m.set('kind', 'socket');
        else if (which === 3) files.set('not-an-id', new Y.Map());
        else if (which === 4) (files as Y.Map<unknown>).set(id(), 'a string, not an entry');
        else if (m) m.set('path', new Y.Map());
      });
      continue;
    }
    p.transact(() => {
      const m = ids.length && roll > 0.35 ? files.get(pick(ids))! : undefined;
      if (!m) {
        const e = new Y.Map<unknown>();
        const kind = pick(['text', 'binary', 'notebook']);
        e.set('path', `dir${nextPath % 3}/f${nextPath++}.txt`);
        e.set('kind', kind);
        e.set('size', Math.floor(r() * 1000));
        e.set('hash', 'ab'.repeat(32));
        if (kind === 'binary') {
          const versions = new Y.Array<unknown>();
          e.set('versions', versions);
          versions.push([{ hash: 'cd'.repeat(32), size: 1, chunks: [], base: null }]);
        }
        files.set(id(), e);
        return;
      }
      const what = r();
      if (what < 0.35) m.set('path', `moved/f${nextPath++}.txt`);
      else if (what < 0.55) m.set('deleted', 'x');
      else if (what < 0.7) m.delete('deleted');
      else if (what < 0.85 && m.get('versions') instanceof Y.Array) {
        const size = Math.floor(r() * 5000);
        m.set('size', size);
        (m.get('versions') as Y.Array<unknown>).push([{ hash: 'ef'.repeat(32), size, chunks: [], base: 'cd'.repeat(32) }]);
      } else if (what < 0.9) p.getMap('tree').set(`empty${Math.floor(r() * 5)}`, { kind: 'folder' });
      else if (what < 0.93) files.delete(pick(ids)); // an entry removed whole: its items collected
      else m.set('edited', true);
    });
  }
  for (const a of peers) for (const b of peers) if (a !== b && !(attacker && (a === bad || b === bad))) Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)));

  // Delivery as members forward: out of order within a window, some merged, some twice.
  const queue = [...sent];
  for (let i = 0; i < queue.length; i++) {
    const j = Math.min(queue.length - 1, i + Math.floor(r() * 6));
    [queue[i], queue[j]] = [queue[j], queue[i]];
  }
  const receiver = new Y.Doc();
  const guard = new IndexGuard(receiver, CAPS);
  let refused = 0;
  let delivered = 0;
  for (let i = 0; i < queue.length; ) {
    const n = r() < 0.2 ? 1 + Math.floor(r() * 3) : 1;
    const batch = queue.slice(i, i + n);
    i += n;
    const update = batch.length > 1 ? Y.mergeUpdates(batch.map((b) => b.update)) : batch[0].update;
    const expectRefusal = oracleRefuses(receiver, update);
    let threw = false;
    try {
      guard.apply(update, 'peer');
    } catch (err) {
      assert.ok(err instanceof ProtocolError, String(err));
      threw = true;
      refused++;
    }
    delivered++;
    if (expectRefusal) assert.ok(threw, `seed ${seed}: the oracle refuses update ${delivered}, the guard took it`);
    if (!attacker) assert.equal(threw, false, `seed ${seed}: an honest update was refused`);
    assert.equal(indexProblem(receiver), undefined, `seed ${seed}: after update ${delivered}`);
    if (r() < 0.1 && !threw) guard.apply(update, 'peer'); // the same again: changes nothing
  }
  assertCounts(guard, receiver, seed);
  if (!attacker) {
    assert.deepEqual(receiver.getMap('files').toJSON(), peers[0].getMap('files').toJSON(), `seed ${seed}: the receiver ends with the peers' index`);
    assert.deepEqual(receiver.getMap('tree').toJSON(), peers[0].getMap('tree').toJSON());
  }
  guard.destroy();
  return { refused, delivered };
}

/** The guard's counts match a recount of the index. */
function assertCounts(guard: IndexGuard, doc: Y.Doc, seed: number): void {
  const files = doc.getMap<unknown>('files');
  let live = 0;
  let bytes = 0;
  for (const m of files.values()) {
    if (!(m instanceof Y.Map) || m.get('deleted')) continue;
    live++;
    if (m.get('kind') === 'binary' && typeof m.get('size') === 'number') bytes += m.get('size') as number;
  }
  assert.deepEqual(guard.counts(), { files: live, entries: [...files.keys()].length, binaryBytes: bytes }, `seed ${seed}: counts`);
}

test('honest peers out of order: nothing refused, the receiver ends with their index, counts exact', () => {
  let delivered = 0;
  for (let seed = 1; seed <= SEEDS; seed++) delivered += run(seed, false).delivered;
  assert.ok(delivered > SEEDS * 50, `${delivered} updates delivered`);
});

test('with a peer writing what must be refused: the index never holds it, and the guard refuses all the oracle does', () => {
  let refused = 0;
  for (let seed = 1; seed <= SEEDS; seed++) refused += run(1000 + seed, true).refused;
  assert.ok(refused > SEEDS, `${refused} updates refused`);
});
