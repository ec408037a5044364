/**
 * The index guard (src/sync/index-guard.ts), on real Yjs documents: a peer's index update is read
 * before the index takes it, so a refused one leaves the real index as it was, and checking goes on
 * correctly after a refusal; caps count live files, entries with tombstones, and only binaries
 * towards the total, and judge what an update can do at most (a deletion undone brings a file back).
 * index-guard-fuzz.test.ts checks it against the former design (an exact copy) at volume.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { collectChangedIds, DEFAULT_CAPS, ENTRY_CAP_FACTOR, IndexGuard, type WorkspaceCaps } from '../../src/sync/index-guard';
import { baseFileId, buildBase } from '../../src/sync/index-bases';
import { ProtocolError } from '../../src/sync/protocol';

const CAPS: WorkspaceCaps = { maxFiles: 3, maxFileBytes: 1000, maxTotalBytes: 1500 };
let next = 0;
const newId = (): string => (next++).toString(16).padStart(32, '0');

/** A peer's index and the update its change makes, to be checked against `real`. */
function peerUpdate(real: Y.Doc, change: (files: Y.Map<unknown>) => void): Uint8Array {
  const peer = new Y.Doc();
  Y.applyUpdate(peer, Y.encodeStateAsUpdate(real));
  const before = Y.encodeStateVector(peer);
  peer.transact(() => change(peer.getMap('files')));
  return Y.encodeStateAsUpdate(peer, before);
}

function entry(path: string, kind: string, size: number, deleted = false): Y.Map<unknown> {
  const m = new Y.Map<unknown>();
  m.set('path', path);
  m.set('kind', kind);
  m.set('size', size);
  if (deleted) m.set('deleted', true);
  return m;
}

/** Checks the update; on success applies it to the real index, as the receiver does. */
function receive(guard: IndexGuard, real: Y.Doc, update: Uint8Array): void {
  guard.check(update);
  Y.applyUpdate(real, update);
}

test('a refused update leaves the real index untouched, and the next update is still judged on what the index holds', () => {
  const real = new Y.Doc();
  const guard = new IndexGuard(real, CAPS);
  receive(guard, real, peerUpdate(real, (f) => f.set(newId(), entry('a.txt', 'text', 10))));
  const unsafe = peerUpdate(real, (f) => f.set(newId(), entry('../escape.txt', 'text', 10)));
  assert.throws(() => guard.check(unsafe), (err: Error) => err instanceof ProtocolError && /unsafe path/.test(err.message));
  assert.throws(() => guard.check(peerUpdate(real, (f) => f.set(newId(), entry('b.bin', 'socket', 10)))), /bad file kind/);
  assert.throws(() => guard.check(peerUpdate(real, (f) => f.set('not-an-id', entry('c.txt', 'text', 10)))), /malformed index entry/);
  assert.throws(() => guard.check(peerUpdate(real, (f) => f.set(newId(), entry('d.bin', 'binary', 1001)))), /over the size cap/);
  assert.deepEqual([...real.getMap('files').values()].map((m) => (m as Y.Map<unknown>).get('path')), ['a.txt']);
  // After the refusals: two more files fit (cap 3), a third does not.
  receive(guard, real, peerUpdate(real, (f) => f.set(newId(), entry('b.txt', 'text', 10))));
  receive(guard, real, peerUpdate(real, (f) => f.set(newId(), entry('c.txt', 'text', 10))));
  assert.throws(() => guard.check(peerUpdate(real, (f) => f.set(newId(), entry('d.txt', 'text', 10)))), /lists 4 files \(max 3\)/);
  guard.destroy();
});

test('the total cap counts live binaries only; deleted entries count towards the entry cap', () => {
  const real = new Y.Doc();
  const guard = new IndexGuard(real, CAPS);
  receive(guard, real, peerUpdate(real, (f) => f.set(newId(), entry('big.txt', 'text', 1000))));
  receive(guard, real, peerUpdate(real, (f) => f.set(newId(), entry('one.bin', 'binary', 900))));
  assert.throws(() => guard.check(peerUpdate(real, (f) => f.set(newId(), entry('two.bin', 'binary', 700)))), /over the total cap/);
  // Deleting the first binary frees its bytes.
  const [binId] = [...real.getMap<Y.Map<unknown>>('files').entries()].find(([, m]) => m.get('path') === 'one.bin')!;
  receive(guard, real, peerUpdate(real, (f) => (f.get(binId) as Y.Map<unknown>).set('deleted', true)));
  receive(guard, real, peerUpdate(real, (f) => f.set(newId(), entry('two.bin', 'binary', 700))));
  // Tombstones are bounded too: 4 × the file cap entries in all.
  const tombstones = peerUpdate(real, (f) => {
    for (let i = 0; i < 10; i++) f.set(newId(), entry(`gone-${i}.txt`, 'text', 1, true));
  });
  assert.throws(() => guard.check(tombstones), /entries including deleted ones \(max 12\)/);
  guard.destroy();
});

test('collectChangedIds names the entry of a change made deep inside it', () => {
  const doc = new Y.Doc();
  const files = doc.getMap<unknown>('files');
  const id = newId();
  const m = entry('a.bin', 'binary', 1);
  const versions = new Y.Array<unknown>();
  doc.transact(() => {
    m.set('versions', versions);
    files.set(id, m);
  });
  const seen = new Set<string>();
  doc.on('afterTransaction', (tx: Y.Transaction) => collectChangedIds(tx, files, seen));
  versions.push([{ hash: 'h', size: 1 }]);
  assert.deepEqual([...seen], [id]);
});

test('a rename that arrives before the entry it renames is no fault: the entry lacks its path until the new one is in; a bad path is still refused', () => {
  const author = new Y.Doc();
  const files = author.getMap<Y.Map<unknown>>('files');
  const updates: Uint8Array[] = [];
  author.on('update', (u: Uint8Array) => updates.push(u));
  const id = newId();
  author.transact(() => files.set(id, entry('a.txt', 'text', 1)));
  author.transact(() => files.set(newId(), entry('b.txt', 'text', 1))); // between: the rename waits on it
  author.transact(() => files.get(id)!.set('path', 'renamed.txt'));
  const [created, between, renamed] = updates;

  const real = new Y.Doc();
  const guard = new IndexGuard(real, CAPS);
  receive(guard, real, renamed); // forwarded ahead of the answer that holds the entry
  receive(guard, real, created); // the old path deleted at once; the new one waits for `between`
  assert.equal((real.getMap<Y.Map<unknown>>('files').get(id)?.get('path')), undefined);
  receive(guard, real, between);
  assert.equal(real.getMap<Y.Map<unknown>>('files').get(id)?.get('path'), 'renamed.txt');

  const unsafe = peerUpdate(real, (f) => (f.get(id) as Y.Map<unknown>).set('path', '../outside.txt'));
  assert.throws(() => guard.check(unsafe), (err: Error) => err instanceof ProtocolError && /unsafe path/.test(err.message));
});

test('this peer\'s own base is judged for what it completes: a member\'s bad rename of a base entry, held until the base is in, is refused with it; with nothing held, the base is taken', () => {
  const base = buildBase(0, [{ path: 'a.txt', size: 1, hash: 'ab'.repeat(32) }]);
  const id = baseFileId('a.txt');
  const renameTo = (to: string): Uint8Array => {
    const member = new Y.Doc();
    Y.applyUpdate(member, base);
    return peerUpdate(member, (f) => (f.get(id) as Y.Map<unknown>).set('path', to));
  };
  const caps = { ...CAPS, maxFiles: 10 };

  const real = new Y.Doc();
  const guard = new IndexGuard(real, caps);
  guard.apply(renameTo('../outside.txt'), 'member'); // held: the entry it renames is not in yet
  assert.notEqual(real.store.pendingStructs, null);
  assert.throws(() => guard.apply(base, 'own base', true), (err: Error) => err instanceof ProtocolError && /unsafe path/.test(err.message));
  assert.equal(real.getMap('files').size, 0, 'refused whole: the index is untouched');

  const clean = new Y.Doc();
  const cleanGuard = new IndexGuard(clean, caps);
  cleanGuard.apply(renameTo('b.txt'), 'member');
  cleanGuard.apply(base, 'own base', true); // completes a good rename
  assert.equal(clean.getMap<Y.Map<unknown>>('files').get(id)?.get('path'), 'b.txt');
  const fresh = new Y.Doc();
  const freshGuard = new IndexGuard(fresh, caps);
  freshGuard.apply(base, 'own base', true); // nothing held: taken as it is
  assert.deepEqual(fresh.getMap<Y.Map<unknown>>('files').get(id)?.toJSON(), { path: 'a.txt', kind: 'text', size: 1, hash: 'ab'.repeat(32) });
  assert.deepEqual(freshGuard.counts(), { files: 1, entries: 1, binaryBytes: 0 });
});

test('undoing deletions counts: a file brought back over the file cap, or a binary over the total cap, is refused', () => {
  const real = new Y.Doc();
  const guard = new IndexGuard(real, CAPS);
  const ids = [newId(), newId(), newId(), newId()];
  receive(guard, real, peerUpdate(real, (f) => {
    f.set(ids[0], entry('a.txt', 'text', 1));
    f.set(ids[1], entry('b.txt', 'text', 1));
    f.set(ids[2], entry('c.bin', 'binary', 1000));
    f.set(ids[3], entry('gone.bin', 'binary', 900, true));
  }));
  assert.deepEqual(guard.counts(), { files: 3, entries: 4, binaryBytes: 1000 });
  // What rules.ts does when an edit beats a delete: the `deleted` field removed (a deletion only).
  const restore = peerUpdate(real, (f) => (f.get(ids[3]) as Y.Map<unknown>).delete('deleted'));
  assert.throws(() => guard.check(restore), /lists 4 files \(max 3\)/);
  receive(guard, real, peerUpdate(real, (f) => (f.get(ids[0]) as Y.Map<unknown>).set('deleted', 'x')));
  assert.throws(() => guard.check(restore), /1900 bytes is over the total cap/);
  receive(guard, real, peerUpdate(real, (f) => (f.get(ids[2]) as Y.Map<unknown>).set('size', 500)));
  receive(guard, real, restore);
  assert.deepEqual(guard.counts(), { files: 3, entries: 4, binaryBytes: 1400 });
  guard.destroy();
});

test('the protocol\'s caps (version 5): an index of 100,000 files is taken whole; past 200,000 live files it is refused', () => {
  assert.deepEqual({ maxFiles: DEFAULT_CAPS.maxFiles, entries: DEFAULT_CAPS.maxFiles * ENTRY_CAP_FACTOR }, { maxFiles: 200_000, entries: 800_000 }, 'PROTOCOL §6.2');
  const real = new Y.Doc();
  const guard = new IndexGuard(real, DEFAULT_CAPS);
  // A 100,000-file repository (version 4's cap of 50,000 shared half of it).
  const ids: string[] = [];
  receive(guard, real, peerUpdate(real, (f) => {
    for (let i = 0; i < 100_000; i++) {
      const id = newId();
      ids.push(id);
      f.set(id, entry(`src/f${i}.ts`, 'text', 10));
    }
  }));
  assert.equal(real.getMap('files').size, 100_000);
  // The cap itself, judged on a smaller index with the same rule: one file over is refused.
  const small = new Y.Doc();
  const capped = new IndexGuard(small, { ...DEFAULT_CAPS, maxFiles: 1_000 });
  receive(capped, small, peerUpdate(small, (f) => {
    for (let i = 0; i < 1_000; i++) f.set(newId(), entry(`g${i}.ts`, 'text', 1));
  }));
  assert.throws(() => capped.check(peerUpdate(small, (f) => f.set(newId(), entry('one-more.ts', 'text', 1)))), /lists 1001 files \(max 1000\)/);
  guard.destroy();
  capped.destroy();
});
