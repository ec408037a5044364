/**
 * The divergence detector between two peers: real Yjs documents and real y-protocols awareness,
 * linked in memory. Equal texts at equal state raise nothing; an editor copy that went apart from
 * the shared text is found by the peer, counted once, and handed to repair; peer-supplied digests
 * that are malformed are ignored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { DIGESTS_FIELD, DivergenceDetector, readDigests } from '../../src/sync/divergence';
import { silentLogger } from '../../src/session/log';

const ID = '0123456789abcdef0123456789abcdef';

function peer(shown: { text?: string }) {
  const doc = new Y.Doc();
  const awareness = new Awareness(doc);
  const repaired: string[] = [];
  const detector = new DivergenceDetector(
    awareness,
    () => [{ id: ID, ytext: doc.getText('content'), shown: () => shown.text ?? doc.getText('content').toString() }],
    { logger: silentLogger, repair: (id) => repaired.push(id), quietMs: 0, intervalMs: 60_000 },
  );
  return { doc, awareness, detector, repaired };
}

function link(a: Awareness, b: Awareness): void {
  a.on('update', ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) =>
    applyAwarenessUpdate(b, encodeAwarenessUpdate(a, [...added, ...updated, ...removed]), 'net'),
  );
  b.on('update', ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) =>
    applyAwarenessUpdate(a, encodeAwarenessUpdate(b, [...added, ...updated, ...removed]), 'net'),
  );
}

test('two peers showing the same text at the same state find nothing; a copy gone apart is found, counted once, repaired', () => {
  const shownB: { text?: string } = {};
  const a = peer({});
  const b = peer(shownB);
  link(a.awareness, b.awareness);
  a.doc.getText('content').insert(0, 'shared text');
  Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc));
  try {
    a.detector.check();
    b.detector.check();
    assert.equal(a.detector.divergences + b.detector.divergences, 0);
    // B's editor shows something else than the (equal) shared text.
    shownB.text = 'shared text, typed but never shared';
    b.detector.check();
    a.detector.check();
    assert.equal(a.detector.divergences, 1, 'A noticed that B shows another text at the same state');
    assert.equal(b.detector.divergences, 1, 'B noticed it too');
    assert.deepEqual(b.repaired, [ID]);
    a.detector.check();
    b.detector.check();
    assert.equal(a.detector.divergences + b.detector.divergences, 2, 'one disagreement is counted once');
    // At different states (B has not merged A's latest edit yet) texts may differ: nothing is raised.
    shownB.text = undefined;
    a.doc.getText('content').insert(0, 'more ');
    a.detector.check();
    b.detector.check();
    assert.equal(a.detector.divergences + b.detector.divergences, 2);
  } finally {
    a.detector.dispose();
    b.detector.dispose();
    a.awareness.destroy();
    b.awareness.destroy();
  }
});

test('malformed peer digests are ignored', () => {
  assert.equal(readDigests('x'), undefined);
  assert.deepEqual(readDigests({ [ID]: ['zz', '00'], '../x': ['0123456789abcdef', '0123456789abcdef'] }), []);
  assert.deepEqual(readDigests({ [ID]: ['0123456789abcdef', 'fedcba9876543210'] }), [[ID, ['0123456789abcdef', 'fedcba9876543210']]]);
  assert.equal(DIGESTS_FIELD, 'digests');
});
