/**
 * compose, rebase and mapBack against the plain definition: applying the edits to real texts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compose, mapBack, readerAfter, rebase, trimNoOps } from '../../src/sync/edit-algebra';
import { widenAtCarets } from '../../src/sync/keep-carets';
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

test('trimNoOps drops an undo followed by its redo, also a redo in pieces, keeps real changes, and never splits a CRLF', () => {
  const text = 'ab(B0)cd';
  const read = (o: number, n: number) => text.slice(o, o + n);
  // Undo deleted (B0), redo put it back as new text after the deleted run, a peer typed "1]" before.
  const undoRedo: TextEdit[] = [{ offset: 2, deleteCount: 4, insert: '1]' }, { offset: 6, deleteCount: 0, insert: '(B0)' }];
  assert.deepEqual(trimNoOps(undoRedo, read), [{ offset: 2, deleteCount: 0, insert: '1]' }]);
  assert.equal(applyEdits(text, trimNoOps(undoRedo, read)), applyEdits(text, undoRedo));
  const real: TextEdit[] = [{ offset: 2, deleteCount: 4, insert: '' }, { offset: 6, deleteCount: 0, insert: 'X' }];
  assert.deepEqual(trimNoOps(real, read), real);
  // Yjs redid "{B0}" in two pieces, with a peer's "}" before and "[A3]" between them (seed 1160):
  // the buffer's "{" and "B0}" stand for the redone ones, and only the peer's text is left to insert.
  const word = 'x{B0}y';
  const split: TextEdit[] = [{ offset: 1, deleteCount: 4, insert: '' }, { offset: 5, deleteCount: 0, insert: '}{[A3]B0}' }];
  const kept = trimNoOps(split, (o, n) => word.slice(o, o + n));
  assert.deepEqual(kept, [{ offset: 1, deleteCount: 0, insert: '}' }, { offset: 2, deleteCount: 0, insert: '[A3]' }]);
  assert.equal(applyEdits(word, kept), applyEdits(word, split));
  const crlf = 'a\r\nb';
  const edits: TextEdit[] = [{ offset: 1, deleteCount: 2, insert: '' }, { offset: 3, deleteCount: 0, insert: 'x\n' }];
  const trimmed = trimNoOps(edits, (o, n) => crlf.slice(o, o + n));
  assert.equal(applyEdits(crlf, trimmed), applyEdits(crlf, edits));
  for (const e of trimmed) assert.ok(!(crlf[e.offset - 1] === '\r' && crlf[e.offset] === '\n'), 'no edit between CR and LF');
});

test('readerAfter reads the text after edits from the text before them', () => {
  const before = 'hello brave world';
  const edits: TextEdit[] = [{ offset: 0, deleteCount: 1, insert: 'J' }, { offset: 6, deleteCount: 6, insert: 'new ' }];
  const after = applyEdits(before, edits);
  const read = readerAfter(edits, (o, n) => before.slice(o, o + n));
  for (let o = 0; o <= after.length; o++) for (let n = 0; o + n <= after.length; n++) assert.equal(read(o, n), after.slice(o, o + n));
});

test('widenAtCarets widens an insertion at a caret over the next unit, with the same effect', () => {
  const text = 'ab\r\ncd😀';
  const read = (o: number, n: number) => text.slice(o, o + n);
  const at = (offset: number): TextEdit[] => [{ offset, deleteCount: 0, insert: 'X' }];
  assert.deepEqual(widenAtCarets(at(1), [1], text.length, read), [{ offset: 1, deleteCount: 1, insert: 'Xb' }]);
  assert.deepEqual(widenAtCarets(at(2), [2], text.length, read), [{ offset: 2, deleteCount: 2, insert: 'X\r\n' }]);
  assert.deepEqual(widenAtCarets(at(6), [6], text.length, read), [{ offset: 6, deleteCount: 2, insert: 'X😀' }]);
  assert.deepEqual(widenAtCarets(at(8), [8], text.length, read), at(8), 'nothing after the end to widen over');
  assert.deepEqual(widenAtCarets(at(1), [3], text.length, read), at(1), 'no caret there');
  for (const o of [1, 2, 6]) assert.equal(applyEdits(text, widenAtCarets(at(o), [o], text.length, read)), applyEdits(text, at(o)));
});
