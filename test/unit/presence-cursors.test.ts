/**
 * Collaborators' cursors in notebook cells (issue 18): PROTOCOL.md §6.1's optional `file.cell` in
 * awareness, read through the sanitiser, and selections resolved into that cell's text only
 * (src/sync/presence-cursors.ts). Two real Yjs documents: positions made on one peer's notebook are
 * resolved on another's, after a JSON round trip as awareness carries them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as Y from 'yjs';
import type { FileEntry } from '../../src/sync/api';
import { readPresence, type PresenceState } from '../../src/sync/awareness';
import { NotebookModel } from '../../src/sync/notebook/model';
import { placeKey, positionAt, resolveCursors, type CursorSources } from '../../src/sync/presence-cursors';
import { sampleNotebook } from '../helpers/notebook';

const USER = { id: 'a'.repeat(64), name: 'Ada', colour: '#112233' };
const NB: FileEntry = { id: '1'.repeat(32), path: 'work/nb.ipynb', kind: 'notebook', size: 0, hash: '' };
const TXT: FileEntry = { id: '2'.repeat(32), path: 'notes.md', kind: 'text', size: 0, hash: '' };

/** Two peers' copies of one notebook (and of one text), in sync as the wire would leave them. */
function twoPeers() {
  const a = new NotebookModel(new Y.Doc());
  a.load(sampleNotebook(3));
  const b = new NotebookModel(new Y.Doc());
  Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc));
  const textA = new Y.Doc().getText('content');
  textA.insert(0, 'hello world');
  const textB = new Y.Doc().getText('content');
  Y.applyUpdate(textB.doc!, Y.encodeStateAsUpdate(textA.doc!));
  const sourcesB: CursorSources = {
    byId: (id) => [NB, TXT].find((e) => e.id === id),
    loadedText: (id) => (id === TXT.id ? textB : undefined),
    loadedNotebook: (id) => (id === NB.id ? b : undefined),
  };
  return { a, b, textA, textB, sourcesB };
}

/** A's awareness state as B reads it: JSON on the wire, then the sanitiser. */
function received(state: Record<string, unknown>): Map<number, PresenceState> {
  const read = readPresence(JSON.parse(JSON.stringify({ user: USER, ...state })));
  assert.ok(read);
  return new Map([[7, read]]);
}

test('§6.1 awareness: `file.cell` is kept when it is a cell id, dropped otherwise; a state without it reads as before', () => {
  const file = { id: NB.id, path: NB.path };
  assert.deepEqual(readPresence({ user: USER, file: { ...file, cell: 'cell1' } })?.file, { ...file, cell: 'cell1' });
  assert.deepEqual(readPresence({ user: USER, file })?.file, file);
  for (const bad of ['', '../x', 'a'.repeat(65), 'sp ace', 7, null, { id: 'x' }]) {
    assert.deepEqual(readPresence({ user: USER, file: { ...file, cell: bad } })?.file, file, JSON.stringify(bad));
  }
});

test('a caret in a notebook cell is drawn in that cell on another peer, at its place, and follows the text', () => {
  const { a, b, sourcesB } = twoPeers();
  const text = a.source('cell1')!;
  const state = { file: { id: NB.id, path: 'their/name.ipynb', cell: 'cell1' }, selections: [{ anchor: positionAt(text, 0), head: positionAt(text, 4) }] };
  let drawn = resolveCursors(received(state), sourcesB);
  // Under the path this peer knows, in that cell only.
  assert.deepEqual([...drawn.keys()], [placeKey(NB.path, 'cell1')]);
  assert.deepEqual(drawn.get(placeKey(NB.path, 'cell1')), [{ clientId: 7, name: 'Ada', colour: '#112233', anchor: 0, head: 4 }]);
  // Text typed before it on B moves it along.
  b.source('cell1')!.insert(0, '>> ');
  drawn = resolveCursors(received(state), sourcesB);
  assert.deepEqual(drawn.get(placeKey(NB.path, 'cell1'))?.map((c) => [c.anchor, c.head]), [[3, 7]]);
  // An empty cell's caret (a position by the text's type, not by an item) resolves too.
  const empty = a.insertCell(1, { kind: 'code', source: '', metadata: {}, outputs: [], executionCount: null });
  Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc, Y.encodeStateVector(b.doc)));
  const caret = positionAt(a.source(empty)!, 0);
  drawn = resolveCursors(received({ file: { id: NB.id, path: NB.path, cell: empty }, selections: [{ anchor: caret, head: caret }] }), sourcesB);
  assert.deepEqual(drawn.get(placeKey(NB.path, empty))?.map((c) => [c.anchor, c.head]), [[0, 0]]);
});

test('positions that are not in the named cell, a notebook state without a cell, and a cell in a text file draw nothing', () => {
  const { a, textA, sourcesB } = twoPeers();
  const inCell0 = { anchor: positionAt(a.source('cell0')!, 1), head: positionAt(a.source('cell0')!, 2) };
  assert.equal(resolveCursors(received({ file: { id: NB.id, path: NB.path, cell: 'cell1' }, selections: [inCell0] }), sourcesB).size, 0, 'another cell\'s position');
  assert.equal(resolveCursors(received({ file: { id: NB.id, path: NB.path }, selections: [inCell0] }), sourcesB).size, 0, 'no cell (an older peer)');
  assert.equal(resolveCursors(received({ file: { id: NB.id, path: NB.path, cell: 'nope' }, selections: [inCell0] }), sourcesB).size, 0, 'a cell this notebook does not have');
  const inText = { anchor: positionAt(textA, 6), head: positionAt(textA, 11) };
  assert.equal(resolveCursors(received({ file: { id: TXT.id, path: TXT.path, cell: 'cell1' }, selections: [inText] }), sourcesB).size, 0, 'a cell in a text file');
  assert.equal(resolveCursors(received({ file: { id: NB.id, path: NB.path, cell: 'cell1' }, selections: [inText] }), sourcesB).size, 0, 'a position of another document');
  // The text file as before: by its path.
  const drawn = resolveCursors(received({ file: { id: TXT.id, path: TXT.path }, selections: [inText] }), sourcesB);
  assert.deepEqual(drawn.get(placeKey(TXT.path))?.map((c) => [c.anchor, c.head]), [[6, 11]]);
});
