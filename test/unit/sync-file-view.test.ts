/**
 * The file view on its own (src/sync/file-view.ts): the same-path rule of docs/PROTOCOL.md §6.4
 * (smallest id keeps the path, the other gets a conflict path to write in), what is not exposed, and
 * the chunk index, over a plain Yjs index.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { silentLogger } from '../../src/session/log';
import { binaryEntry, entryMap } from '../../src/sync/entries';
import { FileView } from '../../src/sync/file-view';

const H = (c: string) => c.repeat(64);

function setup() {
  const doc = new Y.Doc();
  const entries = doc.getMap<Y.Map<unknown>>('files');
  return { doc, entries, view: new FileView(entries, silentLogger) };
}

test('two live entries on one path: the smallest id keeps it, the other is exposed at a conflict path to write in', () => {
  const { entries, view } = setup();
  const a = 'a'.repeat(32);
  const b = 'b'.repeat(32);
  entries.set(b, entryMap({ path: 'x/n.md', kind: 'text', size: 1, hash: '' }));
  let u = view.update(new Set([b]));
  assert.equal(view.byPath('x/n.md')?.id, b);
  assert.deepEqual(u.fixes, []);
  entries.set(a, entryMap({ path: 'x/n.md', kind: 'text', size: 2, hash: '' }));
  u = view.update(new Set([a]));
  assert.equal(view.byPath('x/n.md')?.id, a);
  assert.equal(view.byId(b)?.path, 'x/n (conflict bbbbbb).md');
  assert.deepEqual(u.fixes.map((f) => [f.path, f.original]), [['x/n (conflict bbbbbb).md', 'x/n.md']]);
  assert.deepEqual(u.changes.map((c) => [c.old?.path, c.now?.path]).sort(), [
    [undefined, 'x/n.md'],
    ['x/n.md', 'x/n (conflict bbbbbb).md'],
  ].sort());
});

test('deleted, unsafe or kindless entries are not exposed; a delete leaves the view and frees the path', () => {
  const { entries, view } = setup();
  const ids = ['1', '2', '3'].map((c) => c.repeat(32));
  entries.set(ids[0], entryMap({ path: '../evil', kind: 'text', size: 0, hash: '' }));
  entries.set(ids[1], entryMap({ path: 'ok.txt', kind: 'folder' as 'text', size: 0, hash: '' }));
  entries.set(ids[2], entryMap({ path: 'fine.txt', kind: 'text', size: 0, hash: '' }));
  view.update(new Set(ids));
  assert.deepEqual(view.files().map((f) => f.path), ['fine.txt']);
  entries.get(ids[2])!.set('deleted', '*');
  const u = view.update(new Set([ids[2]]));
  assert.equal(view.size, 0);
  assert.equal(view.byPath('fine.txt'), undefined);
  assert.equal(u.changes[0].now, undefined);
});

test('the chunk index follows each binary\'s current version', () => {
  const { entries, view } = setup();
  const id = 'c'.repeat(32);
  entries.set(id, binaryEntry('p.bin', { hash: H('1'), size: 3, chunks: [H('a'), H('b')], base: null }));
  view.update(new Set([id]));
  assert.deepEqual(view.filesWithChunk(H('a')).map((f) => f.id), [id]);
  assert.equal(view.byId(id)?.hash, H('1'));
  (entries.get(id)!.get('versions') as Y.Array<unknown>).push([{ hash: H('2'), size: 4, chunks: [H('b')], base: H('1') }]);
  view.update(new Set([id]));
  assert.deepEqual(view.filesWithChunk(H('a')), []);
  assert.deepEqual(view.filesWithChunk(H('b')).map((f) => f.id), [id]);
  assert.equal(view.byId(id)?.size, 4, 'size and hash of the current version');
});
