/**
 * The sync protocol at its edges: messages larger than a session frame, a peer that abuses parts or
 * turns a valid index hostile later, the joiner's progress, the same-path rule's corner cases and the
 * order of events a disk mirror follows. Over the in-process transport, which refuses frames over the
 * session's 12 MiB limit just as a real Session does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { SharedWorkspace } from '../../src/sync/workspace';
import { CHUNK_SIZE, INDEX_DOC, MessageType, PART_SIZE, decodeMessage, encodeBlob, frames, syncEncoder } from '../../src/sync/protocol';
import { MAX_DATA_FRAME } from '../../src/session/wire';
import { conflictPath } from '../../src/sync/paths';
import type { FileEntry } from '../../src/sync/api';
import { MemoryTransport, link } from '../helpers/memory-transport';
import { waitFor } from '../helpers/testnet';

function peer(name: string, mode: 'share' | 'join' = 'join', caps?: { maxFiles?: number }) {
  const transport = new MemoryTransport(name);
  const ws = new SharedWorkspace({ transport, mode, caps });
  return { transport, ws };
}

/** A peer that speaks the protocol by hand: it edits its own copy of an index and sends the updates. */
class HandPeer {
  readonly transport: MemoryTransport;
  readonly doc = new Y.Doc();
  readonly files = this.doc.getMap<Y.Map<unknown>>('files');

  constructor(name: string) {
    this.transport = new MemoryTransport(name);
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === 'remote') return;
      for (const p of this.transport.peers()) this.transport.send(p.id, syncMessage(INDEX_DOC, 2, update));
    });
    // It applies what it hears about the index, to see what the other side wrote.
    this.transport.on('message', (_peer, data) => {
      const m = decodeMessage(data);
      if (m.type !== MessageType.Sync || m.doc !== INDEX_DOC) return;
      if (decoding.readVarUint(m.decoder) === 0) return;
      Y.applyUpdate(this.doc, decoding.readVarUint8Array(m.decoder), 'remote');
    });
  }

  add(id: string, fields: Record<string, unknown>): void {
    this.doc.transact(() => {
      const m = new Y.Map<unknown>();
      for (const [k, v] of Object.entries(fields)) m.set(k, v);
      this.files.set(id, m);
    });
  }
}

function syncMessage(doc: string, kind: number, payload: Uint8Array): Uint8Array {
  const e = syncEncoder(doc);
  encoding.writeVarUint(e, kind);
  encoding.writeVarUint8Array(e, payload);
  return encoding.toUint8Array(e);
}

const id = (n: number | string) => String(n).padStart(32, '0');
const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

test('an index larger than a session frame reaches a joiner in parts, and so does a large text', { timeout: 300_000 }, async () => {
  const a = peer('a', 'share');
  const b = peer('b');
  try {
    // Long names make an index of 18,000 files larger than one 12 MiB frame.
    const dir = ['a'.repeat(200), 'b'.repeat(200), 'c'.repeat(200)].join('/');
    for (let i = 0; i < 18_000; i++) a.ws.createText(`${dir}/file ${i}.txt`, '', 'disk');
    assert.ok(Y.encodeStateAsUpdate(a.ws.index).byteLength > MAX_DATA_FRAME, 'the index is larger than one frame');
    // A 3.5 MB text with some history.
    const big = a.ws.createText('big.txt', 'ünïcödé line\n'.repeat(250_000), 'disk');
    (await a.ws.text(big.id)).insert(0, 'edited\n');

    link(a.transport, b.transport);
    await b.ws.whenIndexReady();
    assert.equal(b.ws.files().length, 18_001);
    assert.equal((await b.ws.text(big.id)).toString(), (await a.ws.text(big.id)).toString());
    assert.equal(a.transport.oversized, 0, 'no frame was refused');
    assert.ok(a.transport.largestFrame <= PART_SIZE + 16, `largest frame ${a.transport.largestFrame}`);
  } finally {
    a.ws.close();
    b.ws.close();
  }
});

test('parts that interleave with other messages, nest, or split a small message cut their sender off', async () => {
  const big = new Uint8Array(PART_SIZE * 2 + 10);
  big[0] = MessageType.Awareness; // any content: the receiver must refuse before or at decoding
  const parts = frames(big);
  assert.equal(parts.length, 3);
  const small = frames(new Uint8Array(PART_SIZE + 1)); // two parts
  const cases: Array<[string, Uint8Array[], RegExp]> = [
    ['interleaved', [parts[0], syncMessage(INDEX_DOC, 0, Y.encodeStateVector(new Y.Doc()))], /between the parts/],
    ['nested', frames(Uint8Array.from([...frames(new Uint8Array(PART_SIZE + 5))[0], ...new Uint8Array(PART_SIZE)])), /part/],
    ['split without need', [partOf(new Uint8Array(10), false)], /without need/],
    ['bad flag', [Uint8Array.of(MessageType.Part, 7, 1, 0)], /bad part flag/],
    ['oversized part', [partOf(new Uint8Array(PART_SIZE + 1), true)], /max/],
  ];
  assert.equal(small.length, 2);
  for (const [what, messages, reason] of cases) {
    const victim = peer('victim', 'share');
    const attacker = new MemoryTransport('attacker');
    link(victim.transport, attacker);
    for (const m of messages) attacker.send(victim.transport.self.id, m);
    await waitFor(() => victim.transport.disconnected.length === 1, `cut off (${what})`);
    assert.match(victim.transport.disconnected[0].reason, reason, what);
    victim.ws.close();
  }
});

function partOf(data: Uint8Array, more: boolean): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.Part);
  encoding.writeVarUint(e, more ? 1 : 0);
  encoding.writeVarUint8Array(e, data);
  return encoding.toUint8Array(e);
}

test('an index entry turned unsafe by a later update is refused, and honest updates still apply after', async () => {
  const victim = peer('victim', 'share');
  const hand = new HandPeer('hand');
  link(victim.transport, hand.transport);
  hand.add(id(1), { path: 'fine.txt', kind: 'binary', size: 1, hash: '' });
  hand.add(id(2), { path: 'other.txt', kind: 'binary', size: 1, hash: '' });
  await waitFor(() => victim.ws.files().length === 2, 'valid entries arrive');
  // An overwrite of an existing key: the update alone does not say which key it sets.
  hand.doc.transact(() => hand.files.get(id(1))!.set('path', '../../escape.txt'));
  await waitFor(() => victim.transport.disconnected.length === 1, 'cut off for the rename');
  assert.match(victim.transport.disconnected[0].reason, /unsafe path/);
  assert.deepEqual(victim.ws.files().map((f) => f.path).sort(), ['fine.txt', 'other.txt']);

  // Another peer's honest changes (including a rename of the same entry) are still checked and applied.
  const honest = peer('honest');
  link(victim.transport, honest.transport);
  await honest.ws.whenIndexReady();
  honest.ws.rename(id(1), 'renamed.txt', 'disk');
  honest.ws.createText('new.txt', 'x', 'disk');
  await waitFor(() => victim.ws.byPath('renamed.txt') !== undefined && victim.ws.byPath('new.txt') !== undefined, 'honest changes');
  assert.equal(victim.transport.disconnected.length, 1);
  victim.ws.close();
  honest.ws.close();
});

test('the file cap counts live files; deleted entries have their own, larger cap', async () => {
  const victim = peer('victim', 'share', { maxFiles: 3 });
  const hand = new HandPeer('hand');
  link(victim.transport, hand.transport);
  // Six entries of which three are live: within the caps.
  for (let i = 0; i < 6; i++) hand.add(id(i), { path: `f${i}.txt`, kind: 'binary', size: 1, hash: '', ...(i < 3 ? { deleted: '0' } : {}) });
  await waitFor(() => victim.ws.files().length === 3, 'three live files');
  assert.equal(victim.transport.disconnected.length, 0);
  // Tombstones beyond four times the file cap are refused.
  hand.doc.transact(() => {
    for (let i = 6; i < 20; i++) {
      const m = new Y.Map<unknown>();
      for (const [k, v] of Object.entries({ path: `g${i}.txt`, kind: 'binary', size: 1, hash: '', deleted: '0' })) m.set(k, v);
      hand.files.set(id(i), m);
    }
  });
  await waitFor(() => victim.transport.disconnected.length === 1, 'cut off over the entry cap');
  assert.match(victim.transport.disconnected[0].reason, /including deleted/);
  assert.equal(victim.ws.files().length, 3);
  victim.ws.close();
});

test('progress counts what is here; whenComplete waits for texts and fetched binaries', async () => {
  const a = peer('a', 'share');
  for (let i = 0; i < 40; i++) a.ws.createText(`t${i}.txt`, `text ${i}`, 'disk');
  const bin = a.ws.createBinary('b.bin', bytes(300_000), 'disk');
  assert.deepEqual(a.ws.progress(), { indexReady: true, files: 41, totalFiles: 41, bytes: a.ws.progress().totalBytes, totalBytes: a.ws.progress().totalBytes, complete: true });
  const b = peer('b');
  assert.equal(b.ws.progress().indexReady, false);
  assert.equal(b.ws.progress().complete, false);
  const seen: number[] = [];
  b.ws.on('progress', (p) => seen.push(p.files));
  let completed = false;
  const done = b.ws.whenComplete().then(() => (completed = true));
  link(a.transport, b.transport);
  await waitFor(() => b.ws.progress().files === 40, 'texts arrive by themselves');
  assert.equal(b.ws.progress().totalFiles, 41);
  assert.equal(completed, false, 'the binary is not here yet');
  assert.deepEqual(Buffer.from(await b.ws.binary(bin.id)), Buffer.from(bytes(300_000)));
  await done;
  const p = b.ws.progress();
  assert.equal(p.files, 41);
  assert.equal(p.bytes, p.totalBytes);
  assert.equal(p.totalBytes, a.ws.progress().totalBytes);
  assert.ok(seen.length >= 41 && seen[seen.length - 1] === 41);
  // A new file makes the workspace incomplete until its content is here.
  a.ws.createText('late.txt', 'late', 'disk');
  await waitFor(() => b.ws.progress().totalFiles === 42, 'the new entry');
  await b.ws.whenComplete();
  assert.equal(b.ws.loadedText(b.ws.byPath('late.txt')!.id)?.toString(), 'late');
  a.ws.close();
  b.ws.close();
});

test('a conflict name that is itself taken falls back to the full id; every path stays unique', async () => {
  const victim = peer('victim', 'share');
  const hand = new HandPeer('hand');
  link(victim.transport, hand.transport);
  const loser = 'f'.repeat(32);
  hand.add(id(1), { path: 'a.txt', kind: 'binary', size: 1, hash: '' });
  hand.add(id(2), { path: conflictPath('a.txt', loser.slice(0, 6)), kind: 'binary', size: 1, hash: '' });
  hand.add(loser, { path: 'a.txt', kind: 'binary', size: 1, hash: '' });
  await waitFor(() => victim.ws.files().length === 3, 'three files');
  const paths = victim.ws.files().map((f) => f.path);
  assert.equal(new Set(paths).size, 3, `unique paths: ${paths.join(', ')}`);
  assert.equal(victim.ws.byPath('a.txt')?.id, id(1));
  assert.equal(victim.ws.byPath(conflictPath('a.txt', loser))?.id, loser);
  for (const f of victim.ws.files()) assert.equal(victim.ws.byPath(f.path)?.id, f.id);
  // The fix is written into the index, and every peer that receives it agrees.
  await waitFor(() => hand.files.get(loser)?.get('path') === conflictPath('a.txt', loser), 'the fix reaches the other peer');
  victim.ws.close();
});

test('when a file loses its path to another, the mirror hears of the move before the arrival', async () => {
  const a = peer('a', 'share');
  const b = peer('b', 'share');
  const events: Record<string, string[]> = { a: [], b: [] };
  for (const [name, p] of [['a', a], ['b', b]] as const) {
    p.ws.on('file-added', (e: FileEntry) => events[name].push(`added ${e.path}`));
    p.ws.on('file-renamed', (e: FileEntry, old: string) => events[name].push(`renamed ${old} -> ${e.path}`));
    p.ws.on('file-removed', (e: FileEntry) => events[name].push(`removed ${e.path}`));
  }
  a.ws.createText('same.txt', 'from a', 'disk');
  b.ws.createText('same.txt', 'from b', 'disk');
  link(a.transport, b.transport);
  await waitFor(() => a.ws.files().length === 2 && b.ws.files().length === 2, 'both files on both');
  // The peer whose own file lost sees it move aside before the winner arrives on its path.
  const loserSide = events.a.some((e) => e.startsWith('renamed')) ? events.a : events.b;
  const moved = loserSide.findIndex((e) => e.startsWith('renamed same.txt -> same (conflict '));
  const arrived = loserSide.lastIndexOf('added same.txt');
  assert.ok(moved >= 0 && arrived > moved, loserSide.join('; '));
  a.ws.close();
  b.ws.close();
});

test('presence from peers is read safely, and a peer inventing awareness states without end is cut off', async () => {
  const { readPresence, presences, publishUser, publishSelections, MAX_AWARENESS_STATES } = await import('../../src/sync/awareness');
  const peerId = 'ab'.repeat(32);
  assert.equal(readPresence(null), undefined);
  assert.equal(readPresence({ user: { id: 'not hex', name: 'x', colour: '#ffffff' } }), undefined);
  assert.deepEqual(readPresence({ user: { id: peerId, name: 'Ann\u0000\u001b[31m' + 'n'.repeat(100), colour: 'red;background:url(x)' }, file: { id: 'zz', path: 'a' } }), {
    user: { id: peerId, name: ('Ann[31m' + 'n'.repeat(100)).slice(0, 64), colour: '#888888' },
    file: null,
  });
  const fileId = id(7);
  const good = { anchor: { type: { client: 1, clock: 2 }, tname: null, item: { client: 3, clock: 4 }, assoc: 0 }, head: { item: null, tname: 'content', assoc: -1 } };
  assert.deepEqual(
    readPresence({ user: { id: peerId, name: 'B', colour: '#ABCDEF' }, file: { id: fileId, path: 'a.ts' }, selections: [good, { anchor: 'x', head: 1 }, ...new Array(100).fill(good)] })?.selections?.length,
    63, // the first 64 are looked at, the malformed one among them is dropped
  );

  const a = peer('a', 'share');
  const b = peer('b');
  link(a.transport, b.transport);
  publishUser(b.ws.awareness, { id: peerId, name: 'B', colour: '#00ff00' });
  publishSelections(b.ws.awareness, { id: fileId, path: 'a.ts' }, [good]);
  await waitFor(() => presences(a.ws.awareness).size === 1, 'b\'s presence at a');
  const seen = [...presences(a.ws.awareness).values()][0];
  assert.equal(seen.user?.name, 'B');
  assert.deepEqual(seen.file, { id: fileId, path: 'a.ts' });
  assert.equal(presences(b.ws.awareness).size, 0, 'one\'s own state is not among the others');

  // A peer that makes up client ids: each update is small, together they are not.
  for (let n = 0; n <= MAX_AWARENESS_STATES; n += 50) {
    const states = new Map<number, unknown>();
    for (let k = n; k < n + 50; k++) states.set(10_000 + k, { user: { id: peerId, name: `x${k}`, colour: '#000000' } });
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, states.size);
    for (const [client, state] of states) {
      encoding.writeVarUint(e, client);
      encoding.writeVarUint(e, 1);
      encoding.writeVarString(e, JSON.stringify(state));
    }
    const message = encoding.createEncoder();
    encoding.writeVarUint(message, MessageType.Awareness);
    encoding.writeVarUint8Array(message, encoding.toUint8Array(e));
    b.transport.send(a.transport.self.id, encoding.toUint8Array(message));
  }
  await waitFor(() => a.transport.disconnected.length === 1, 'cut off for too many states');
  assert.match(a.transport.disconnected[0].reason, /awareness states/);
  a.ws.close();
  b.ws.close();
});

test('a text at the text-size limit may grow as people type: its author is not cut off', { timeout: 120_000 }, async () => {
  const { MAX_TEXT_BYTES } = await import('../../src/sync/classify');
  const a = peer('a', 'share');
  const b = peer('b');
  try {
    const f = a.ws.createText('huge.txt', 'x'.repeat(MAX_TEXT_BYTES), 'disk');
    link(a.transport, b.transport);
    const tb = await b.ws.text(f.id);
    (await a.ws.text(f.id)).insert(0, 'typed past the limit ');
    await waitFor(() => tb.length === MAX_TEXT_BYTES + 21, 'the edit arrives');
    assert.deepEqual([a.transport.disconnected, b.transport.disconnected], [[], []]);
  } finally {
    a.ws.close();
    b.ws.close();
  }
});

test('blob-data is encoded as §6.3 says (varUint type, varString hash, varUint8Array chunk), byte for byte', () => {
  const hash = 'ab'.repeat(32);
  for (const size of [0, 1, 127, 128, CHUNK_SIZE]) {
    const data = new Uint8Array(size).map((_, i) => i % 251);
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, MessageType.BlobData);
    encoding.writeVarString(e, hash);
    encoding.writeVarUint8Array(e, data);
    const bytes = encodeBlob(MessageType.BlobData, hash, data);
    assert.deepEqual(Buffer.from(bytes), Buffer.from(encoding.toUint8Array(e)), `a chunk of ${size} bytes`);
    const m = decodeMessage(bytes);
    assert.ok(m.type === MessageType.BlobData && m.hash === hash && Buffer.from(m.data).equals(Buffer.from(data)));
  }
});
