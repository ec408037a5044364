/**
 * compose, rebase and mapBack against the plain definition: applying the edits to real texts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compose, mapBack, rebase } from '../../src/sync/edit-algebra';
import { applyEdits, type TextEdit } from '../../src/sync/textdiff';

function seeded(seed: number): (n: number) => number {
  let s = seed;
  return (n) => ((s = (s * 1103515245 + 12345) & 0x7fffffff) % n);
}

/** Random non-overlapping edits on `text`, inserting letters from `alphabet`. */
function randomEdits(rand: (n: number) => number, text: string, alphabet: string): TextEdit[] {
  const edits: TextEdit[] = [];
  let at = 0;
  for (let n = rand(4); n > 0 && at <= text.length; n--) {
    const offset = at + rand(text.length - at + 1);
    const deleteCount = rand(3) === 0 ? rand(Math.min(4, text.length - offset) + 1) : 0;
    const insert = rand(4) === 0 && deleteCount > 0 ? '' : alphabet[rand(alphabet.length)].repeat(1 + rand(3));
    edits.push({ offset, deleteCount, insert });
    at = offset + deleteCount + 1;
  }
  return edits;
}

test('compose: the edits of two steps as one', () => {
  const rand = seeded(7);
  for (let i = 0; i < 3000; i++) {
    const t0 = 'abcdefghij'.slice(0, rand(11));
    const first = randomEdits(rand, t0, 'XY');
    const t1 = applyEdits(t0, first);
    const second = randomEdits(rand, t1, 'PQ');
    const t2 = applyEdits(t1, second);
    assert.equal(applyEdits(t0, compose(first, second)), t2, JSON.stringify({ t0, first, second }));
  }
});

test('rebase: both orders meet, nothing either side inserted is lost, the local insertion goes first', () => {
  const rand = seeded(11);
  for (let i = 0; i < 3000; i++) {
    const base = 'abcdefghij'.slice(0, rand(11));
    const local = randomEdits(rand, base, 'L');
    const pending = randomEdits(rand, base, 'R');
    const r = rebase(local, pending);
    const viaShared = applyEdits(applyEdits(base, pending), r.local);
    const viaBuffer = applyEdits(applyEdits(base, local), r.pending);
    const ctx = JSON.stringify({ base, local, pending });
    assert.equal(viaShared, viaBuffer, ctx);
    const count = (s: string, c: string) => [...s].filter((x) => x === c).length;
    const inserted = (edits: TextEdit[], c: string) => edits.reduce((n, e) => n + count(e.insert, c), 0);
    assert.equal(count(viaShared, 'L'), inserted(local, 'L'), ctx);
    assert.equal(count(viaShared, 'R'), inserted(pending, 'R'), ctx);
  }
  // Both insert at 3: the local text first.
  const r = rebase([{ offset: 3, deleteCount: 0, insert: 'mine' }], [{ offset: 3, deleteCount: 0, insert: 'theirs' }]);
  assert.equal(applyEdits(applyEdits('abcdef', [{ offset: 3, deleteCount: 0, insert: 'theirs' }]), r.local), 'abcminetheirsdef');
});

test('mapBack: offsets after edits back to offsets before them', () => {
  const edits: TextEdit[] = [{ offset: 2, deleteCount: 0, insert: 'XX' }, { offset: 5, deleteCount: 2, insert: 'y' }];
  // 'abcdefgh' -> 'abXXcdeyh'
  assert.deepEqual([0, 2, 3, 4, 5, 7, 8, 9].map((o) => mapBack(edits, o)), [0, 2, 2, 2, 3, 5, 7, 8]);
});
