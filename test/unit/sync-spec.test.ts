/**
 * Pins the statements of docs/PROTOCOL.md §6.1–§6.2 that issue 15 asked to write down: how a file is
 * created (id format, the text's step 2 before the index update), the shapes of index entries and
 * binary versions, what a text's `size`/`hash` mean and what the caps count, a sync message for an id
 * in no index, the full awareness state (others' included, relayed), and the headless peer's presence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import { readPresence } from '../../src/sync/awareness';
import { contentHash } from '../../src/sync/hash';
import { INDEX_DOC, MessageType, decodeMessage } from '../../src/sync/protocol';
import { SharedWorkspace } from '../../src/sync/workspace';
import { MemoryTransport, link } from '../helpers/memory-transport';
import { usePeers } from '../helpers/peers';
import { indexUpdate, syncMessage } from '../helpers/sync-messages';
import { waitFor } from '../helpers/testnet';
import { tempDir, writeTree } from '../helpers/tree';

const { start } = usePeers();

function peer(name: string, mode: 'share' | 'join' = 'join') {
  const transport = new MemoryTransport(name);
  return { transport, ws: new SharedWorkspace({ transport, mode }) };
}

/** Every sync message a transport sends, as [document, kind]. */
function recordSync(t: MemoryTransport): Array<[string, number, Uint8Array]> {
  const seen: Array<[string, number, Uint8Array]> = [];
  const send = t.send.bind(t);
  t.send = (to, data) => {
    const m = decodeMessage(data);
    if (m.type === MessageType.Sync) seen.push([m.doc, decoding.readVarUint(m.decoder), decoding.readVarUint8Array(m.decoder)]);
    return send(to, data);
  };
  return seen;
}

/** A sharer and a joiner linked; the sharer then creates `notes.md`, recording what it sends. */
async function createdOnA() {
  const a = peer('a', 'share');
  const b = peer('b');
  link(a.transport, b.transport);
  await b.ws.whenIndexReady();
  const sent = recordSync(a.transport);
  const f = a.ws.createText('notes.md', 'héllo', 'editor');
  return { a, b, sent, f };
}

test('§6.1 creating a text: a 32-hex id, the whole text as step 2 before the index update; size and hash stay those at creation', async () => {
  const { a, b, sent, f } = await createdOnA();
  assert.match(f.id, /^[0-9a-f]{32}$/);
  const first = sent.findIndex(([doc]) => doc === f.id);
  const named = sent.findIndex(([doc, kind]) => doc === INDEX_DOC && kind === 2);
  assert.equal(sent[first][1], 1, 'the text goes as a step 2');
  assert.ok(first < named, 'the text before the index update that names it');
  await waitFor(() => b.ws.byId(f.id) !== undefined, 'the entry on b');
  assert.equal(b.ws.loadedText(f.id)?.toString(), 'héllo', 'complete on arrival');
  // Nested Y.Maps, size and hash of the content at creation.
  const entry = b.ws.index.getMap('files').get(f.id);
  assert.ok(entry instanceof Y.Map);
  assert.equal(entry.get('size'), 6);
  const created = { size: f.size, hash: f.hash };
  (await a.ws.text(f.id)).insert(0, 'a much longer text now; ');
  await waitFor(() => b.ws.loadedText(f.id)?.toString().startsWith('a much') === true, 'the edit on b');
  assert.deepEqual({ size: b.ws.byId(f.id)!.size, hash: b.ws.byId(f.id)!.hash }, created, 'size and hash at creation');
  // Still the name of the first state's bytes (what texts-get fetches while `edited` is unset); the
  // edit is told by `edited`, set by the peer that made it, not by a new hash.
  assert.equal(created.hash, contentHash(Buffer.from('héllo')));
  await waitFor(() => entry.get('edited') === true, 'edited set on b');
  a.ws.close();
  b.ws.close();
});

test('§6.1 binary versions: a Y.Array of plain JSON objects, the first with base null, each next with the hash it replaced', async () => {
  const a = peer('a', 'share');
  const b = peer('b');
  link(a.transport, b.transport);
  const f = a.ws.createBinary('pic.bin', Uint8Array.of(0, 1, 2), 'disk');
  a.ws.updateBinary(f.id, Uint8Array.of(0, 1, 2, 3), 'disk');
  await waitFor(() => b.ws.byId(f.id)?.size === 4, 'the second version on b');
  const versions = (b.ws.index.getMap('files').get(f.id) as Y.Map<unknown>).get('versions');
  assert.ok(versions instanceof Y.Array);
  const [v1, v2] = versions.toArray() as Array<Record<string, unknown>>;
  assert.equal(Object.getPrototypeOf(v1), Object.prototype, 'a plain object, not a Y.Map');
  assert.equal(v1.base, null);
  assert.equal(v2.base, v1.hash);
  assert.equal(b.ws.byId(f.id)?.hash, v2.hash, 'a binary entry follows its current version');
  a.ws.close();
  b.ws.close();
});

test('§6.2 the total cap counts binaries; a text\'s size (at creation) is no measure of it', async () => {
  const victim = new MemoryTransport('victim');
  const ws = new SharedWorkspace({ transport: victim, mode: 'share', caps: { maxTotalBytes: 1000 } });
  const other = new MemoryTransport('other');
  link(victim, other);
  const texts = Object.fromEntries([1, 2].map((i) => [String(i).padStart(32, '0'), { path: `t${i}.txt`, kind: 'text', size: 900, hash: '' }]));
  other.send(victim.self.id, indexUpdate(texts));
  await waitFor(() => ws.files().length === 2, 'two texts of 900 bytes at creation');
  const bins = Object.fromEntries([3, 4].map((i) => [String(i).padStart(32, '0'), { path: `b${i}.bin`, kind: 'binary', size: 900, hash: '' }]));
  other.send(victim.self.id, indexUpdate(bins));
  await waitFor(() => victim.disconnected.length === 1, 'cut off over the total cap');
  assert.match(victim.disconnected[0].reason, /total cap/);
  ws.close();
});

test('§6.1 a peer\'s own sharing limit counts texts no more than the peers\' cap does: a text\'s index size is the one at creation', async () => {
  const dir = tempDir();
  writeTree(dir, { 'big.txt': 'x'.repeat(900) });
  const p = await start({ mode: 'share', dir, name: 'a', caps: { maxTotalBytes: 1000 } });
  // One batch: a binary over the total (counted) and a text that only the text's size would refuse.
  writeTree(dir, { 'over.bin': new Uint8Array(1200), 'more.txt': 'y'.repeat(200) });
  await waitFor(() => p.workspace.byPath('more.txt') !== undefined, 'the new text shared');
  assert.equal(p.workspace.byPath('over.bin'), undefined, 'the binary over the total is not shared');
});

test('§6.2 a sync message for a well-formed id in no index: held; a step 1 is answered once complete; the entry finds it complete', async () => {
  const b = peer('b', 'share');
  const h = new MemoryTransport('h');
  const got = recordSync(b.transport);
  link(b.transport, h);
  const id = 'c'.repeat(32);
  const early = new Y.Doc();
  early.getText('content').insert(0, 'early');
  h.send(b.transport.self.id, syncMessage(id, 0, Uint8Array.of(0)));
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r)); // the in-process link delivers on setImmediate
  assert.equal(got.filter(([doc, kind]) => doc === id && kind === 1).length, 0, 'no answer while incomplete');
  h.send(b.transport.self.id, syncMessage(id, 1, Y.encodeStateAsUpdate(early)));
  await waitFor(() => got.some(([doc, kind]) => doc === id && kind === 1), 'the remembered step 1 answered');
  h.send(b.transport.self.id, indexUpdate({ [id]: { path: 'early.txt', kind: 'text', size: 5, hash: '' } }));
  await waitFor(() => b.ws.byPath('early.txt') !== undefined, 'the entry');
  assert.equal(b.ws.loadedText(id)?.toString(), 'early');
  assert.equal(h.disconnected.length + b.transport.disconnected.length, 0);
  b.ws.close();
});

test('§6.2 documents for ids in no index count against the file cap: one more cuts the sender off', async () => {
  const victim = new MemoryTransport('victim');
  const ws = new SharedWorkspace({ transport: victim, mode: 'share', caps: { maxFiles: 3 } });
  try {
    const h = new MemoryTransport('h');
    link(victim, h);
    const doc = new Y.Doc();
    doc.getText('content').insert(0, 'x');
    const id = (i: number) => String(i).padStart(32, 'd');
    const step2 = (i: number) => h.send(victim.self.id, syncMessage(id(i), 1, Y.encodeStateAsUpdate(doc)));
    for (let i = 0; i < 3; i++) step2(i);
    await waitFor(() => [0, 1, 2].every((i) => ws.loadedText(id(i))?.toString() === 'x'), 'three held', 10_000);
    assert.equal(victim.disconnected.length, 0, 'within the cap');
    step2(3);
    await waitFor(() => victim.disconnected.length === 1, 'cut off at the fourth', 10_000);
    assert.match(victim.disconnected[0].reason, /more documents than the file cap/);
    assert.equal(ws.loadedText(id(3)), undefined, 'the fourth is not held');
  } finally {
    ws.close();
  }
});

test('§6.2 the full awareness state holds the others\' states, and updates are relayed (A—B—C, then D joins B)', async () => {
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => peer(n));
  link(a.transport, b.transport);
  link(b.transport, c.transport);
  a.ws.awareness.setLocalStateField('user', { id: a.transport.self.id, name: 'Ada', colour: '#112233' });
  const names = (w: SharedWorkspace) => [...w.awareness.getStates().values()].map((s) => readPresence(s)?.user?.name).filter(Boolean);
  await waitFor(() => names(c.ws).includes('Ada'), 'A\'s state relayed to C');
  link(b.transport, d.transport);
  await waitFor(() => names(d.ws).includes('Ada'), 'A\'s state in B\'s full state, sent to D');
  a.ws.awareness.setLocalStateField('user', { id: a.transport.self.id, name: 'Ada L', colour: '#112233' });
  await waitFor(() => names(c.ws).includes('Ada L') && names(d.ws).includes('Ada L'), 'a change relayed');
  for (const p of [a, b, c, d]) p.ws.close();
});

test('§6.1 the headless peer publishes user {id, name, colour}', async () => {
  const dir = tempDir();
  writeTree(dir, { 'a.txt': 'a\n' });
  const p0 = await start({ mode: 'share', dir, name: 'headless one' });
  const p1 = await start({ mode: 'join', code: p0.code, dir: path.join(tempDir(), 'b'), name: 'two' });
  await waitFor(() => p1.presence.others().size > 0, 'p0\'s presence on p1', 60_000);
  const [state] = [...p1.presence.others().values()];
  assert.equal(state.user?.id, p0.session.self.id);
  assert.equal(state.user?.name, 'headless one');
  assert.match(state.user?.colour ?? '', /^#[0-9a-f]{6}$/);
  assert.equal(state.verified, true);
  assert.equal(state.file, null);
});

test('§6.1 (version 2) a text starts from its first state: client 0 inserts the content; the creator\'s step 2 is exactly that update', async () => {
  const { a, b, sent, f } = await createdOnA();
  const step2 = sent.find(([doc, kind]) => doc === f.id && kind === 1);
  assert.equal(Buffer.from(step2![2]).toString('hex'), '010100000401' + '07' + Buffer.from('content').toString('hex') + '06' + Buffer.from('héllo').toString('hex') + '00');
  // The first edit marks the entry `edited`, once.
  const entry = () => b.ws.index.getMap<Y.Map<unknown>>('files').get(f.id);
  assert.equal(entry()?.get('edited'), undefined);
  (await b.ws.text(f.id)).insert(0, '!');
  await waitFor(() => entry()?.get('edited') === true && a.ws.loadedText(f.id)?.toString() === '!héllo', 'the edit and its mark on a');
  a.ws.close();
  b.ws.close();
});
