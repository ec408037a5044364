/**
 * ChangeBatch (src/sync/batch.ts) writes one update for a run of transactions through Yjs classes
 * and methods. These tests pin it to Yjs' own updates, so that a Yjs upgrade that changes either
 * shows up here: the same bytes for one transaction, and the same document as Yjs' per-transaction
 * updates for runs of inserts, deletes and remote changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { ChangeBatch, changedAnything } from '../../src/sync/batch';

/** A small deterministic generator, so that a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Records every run of transactions as one batch and, beside it, Yjs' own per-transaction updates. */
function recorder(doc: Y.Doc) {
  const updates: Uint8Array[] = [];
  let batch: ChangeBatch | undefined;
  doc.on('update', (u: Uint8Array) => updates.push(u));
  doc.on('afterTransaction', (tx: Y.Transaction) => {
    if (!changedAnything(tx)) return;
    if (batch) batch.add(tx);
    else batch = new ChangeBatch(doc, tx);
  });
  return {
    updates,
    take(): Uint8Array | undefined {
      const u = batch?.encode();
      batch = undefined;
      return u;
    },
  };
}

function sameState(a: Y.Doc, b: Y.Doc): void {
  assert.equal(a.getText('content').toString(), b.getText('content').toString());
  assert.deepEqual(Y.encodeStateVector(a), Y.encodeStateVector(b));
  assert.ok(Y.equalDeleteSets(Y.createDeleteSetFromStructStore(a.store), Y.createDeleteSetFromStructStore(b.store)));
}

test('one transaction: the same bytes as the update Yjs emits', () => {
  const doc = new Y.Doc();
  doc.clientID = 7;
  const rec = recorder(doc);
  const text = doc.getText('content');
  text.insert(0, 'hello world');
  assert.deepEqual(rec.take(), rec.updates[0]);
  doc.transact(() => {
    text.delete(2, 3);
    text.insert(4, 'XY');
  });
  assert.deepEqual(rec.take(), rec.updates[1]);
  text.delete(0, 1);
  assert.deepEqual(rec.take(), rec.updates[2]);
});

test('a run of transactions: one update that gives the same document as every update of the run', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const random = rng(seed);
    const source = new Y.Doc();
    source.clientID = 10 + seed;
    const viaBatches = new Y.Doc();
    const viaUpdates = new Y.Doc();
    const rec = recorder(source);
    const text = source.getText('content');
    for (let run = 0; run < 30; run++) {
      const transactions = 1 + Math.floor(random() * 40);
      for (let i = 0; i < transactions; i++) {
        source.transact(() => {
          const len = text.length;
          if (len > 0 && random() < 0.35) {
            const at = Math.floor(random() * len);
            text.delete(at, Math.min(len - at, 1 + Math.floor(random() * 5)));
          } else {
            text.insert(Math.floor(random() * (len + 1)), 'abcdefg'.slice(0, 1 + Math.floor(random() * 6)));
          }
        });
      }
      const update = rec.take();
      assert.ok(update);
      Y.applyUpdate(viaBatches, update);
      for (const u of rec.updates.splice(0)) Y.applyUpdate(viaUpdates, u);
      sameState(viaBatches, viaUpdates);
      sameState(viaBatches, source);
    }
  }
});

test('a run mixing local edits and changes applied from another peer carries both', () => {
  const a = new Y.Doc();
  a.clientID = 1;
  const b = new Y.Doc();
  b.clientID = 2;
  b.getText('content').insert(0, 'from b, ');
  const rec = recorder(a);
  a.getText('content').insert(0, 'from a');
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b), 'remote');
  a.getText('content').delete(0, 3);
  const c = new Y.Doc();
  Y.applyUpdate(c, rec.take()!);
  sameState(c, a);
});

test('a transaction that changes nothing makes no update', () => {
  const doc = new Y.Doc();
  const rec = recorder(doc);
  doc.transact(() => {});
  assert.equal(rec.take(), undefined);
  assert.equal(rec.updates.length, 0);
});
