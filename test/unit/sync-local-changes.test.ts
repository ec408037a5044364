/**
 * What a peer writes into the index on its own account (src/sync/local-changes.ts), over a real
 * index document, file view and text registry: new texts carry their content and are sent whole,
 * taken or unsafe paths are refused before anything is written, a delete records what it had seen,
 * and a local edit marks the entry `edited` once (never a remote one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { silentLogger } from '../../src/session/log';
import { binaryEntry, entryMap } from '../../src/sync/entries';
import { FileView } from '../../src/sync/file-view';
import { contentHash } from '../../src/sync/hash';
import { collectChangedIds } from '../../src/sync/index-guard';
import { LocalChanges } from '../../src/sync/local-changes';
import { RemoteOrigin } from '../../src/sync/outbox';
import { TextDocs } from '../../src/sync/texts';

function setup() {
  const index = new Y.Doc();
  const entries = index.getMap<Y.Map<unknown>>('files');
  const view = new FileView(entries, silentLogger);
  // What SharedWorkspace does: the view follows every index transaction.
  index.on('afterTransaction', (tx: Y.Transaction) => {
    const ids = new Set<string>();
    collectChangedIds(tx, entries as Y.Map<unknown>, ids);
    if (ids.size) view.update(ids);
  });
  const sent = new Map<string, Uint8Array>();
  const ready: string[] = [];
  let indexReady = true;
  const texts: TextDocs = new TextDocs({
    newDoc: (name) => new Y.Doc({ guid: name }),
    transaction: () => {},
    changed: (id, tx) => local.markEdited(id, tx.origin),
  });
  const local: LocalChanges = new LocalChanges({
    index,
    entries,
    guard: { apply: (update, origin) => Y.applyUpdate(index, update, origin) },
    view,
    texts,
    indexReady: () => indexReady,
    textReady: (id) => { texts.markReady(id); ready.push(id); }, // what the text loader does first
    sendWhole: (id, doc) => sent.set(id, Y.encodeStateAsUpdate(doc)),
  });
  return { index, entries, view, texts, local, sent, ready, setIndexReady: (v: boolean) => (indexReady = v) };
}

test('a new text is sent whole with its content before its entry names it', () => {
  const { local, sent, ready, view } = setup();
  const e = local.createText('src/a.ts', 'héllo', 'editor');
  assert.deepEqual({ path: e.path, kind: e.kind, size: e.size, hash: e.hash }, { path: 'src/a.ts', kind: 'text', size: 6, hash: contentHash(Buffer.from('héllo')) });
  const copy = new Y.Doc();
  Y.applyUpdate(copy, sent.get(e.id)!);
  assert.equal(copy.getText('content').toString(), 'héllo');
  assert.deepEqual(ready, [e.id]);
  assert.equal(view.byPath('src/a.ts')?.id, e.id);
});

test('a taken or unsafe path is refused and nothing is written', () => {
  const { local, entries } = setup();
  local.createText('a.txt', 'one', 'editor');
  assert.throws(() => local.createText('a.txt', 'two', 'editor'), /a\.txt already exists/);
  assert.throws(() => local.createLazyText('../escape', 3, contentHash(Buffer.from('abc')), 'disk'), /"\.\." segment/);
  assert.throws(() => local.createText('/etc/passwd', 'x', 'editor'), /absolute/);
  assert.equal(entries.size, 1);
});

test('a rename onto a live file or of an unknown file is refused; a free path is taken', () => {
  const { local, view } = setup();
  const a = local.createText('a.txt', 'a', 'editor');
  const b = local.createText('b.txt', 'b', 'editor');
  assert.throws(() => local.rename(a.id, 'b.txt', 'editor'), /b\.txt already exists/);
  assert.throws(() => local.rename('nope', 'c.txt', 'editor'), /no file nope/);
  assert.equal(view.byId(a.id)?.path, 'a.txt');
  local.rename(a.id, 'dir/c.txt', 'editor');
  assert.equal(view.byPath('dir/c.txt')?.id, a.id);
  assert.equal(view.byPath('a.txt'), undefined);
  assert.equal(view.byId(b.id)?.path, 'b.txt');
});

test('a delete records what it had seen: a text its state vector, one never held here "*", a binary its versions', () => {
  const { local, entries, texts, index, view } = setup();
  const loaded = local.createText('loaded.txt', 'abc', 'editor');
  const lazy = local.createLazyText('lazy.txt', 3, contentHash(Buffer.from('abc')), 'disk');
  // Made elsewhere and never fetched here.
  index.transact(() => entries.set('remote', entryMap({ path: 'remote.txt', kind: 'text', size: 1, hash: contentHash(Buffer.from('r')) })), new RemoteOrigin('peer'));
  index.transact(() => entries.set('bin', binaryEntry('b.bin', { hash: contentHash(Buffer.from('x')), size: 1, chunks: [], base: null })), 'disk');
  local.remove(loaded.id, 'editor');
  local.remove(lazy.id, 'editor');
  local.remove('remote', 'editor');
  local.remove('bin', 'editor');
  assert.equal(entries.get(loaded.id)?.get('deleted'), Buffer.from(Y.encodeStateVector(texts.get(loaded.id)!.doc)).toString('base64'));
  assert.equal(entries.get(lazy.id)?.get('deleted'), Buffer.from(texts.bytesStateVector(lazy.id)!).toString('base64'));
  assert.equal(entries.get('remote')?.get('deleted'), '*');
  assert.equal(entries.get('bin')?.get('deleted'), '1');
  assert.equal(view.size, 0);
  local.remove('never-existed', 'editor'); // no entry: nothing to do
});

test('the first local edit marks the entry edited; remote edits and edits before the index do not', () => {
  const { local, entries, texts, setIndexReady } = setup();
  const e = local.createText('a.txt', 'abc', 'editor');
  const text = texts.get(e.id)!.doc.getText('content');
  assert.equal(entries.get(e.id)?.get('edited'), undefined, 'its first state is no edit');
  text.doc!.transact(() => text.insert(0, 'remote '), new RemoteOrigin('peer'));
  assert.equal(entries.get(e.id)?.get('edited'), undefined);
  setIndexReady(false);
  text.insert(0, 'early ');
  assert.equal(entries.get(e.id)?.get('edited'), undefined);
  setIndexReady(true);
  let marks = 0;
  entries.get(e.id)!.observe(() => marks++);
  text.insert(0, 'x');
  text.insert(0, 'y');
  assert.equal(entries.get(e.id)?.get('edited'), true);
  assert.equal(marks, 1, 'marked once');
});
