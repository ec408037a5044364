/**
 * A large index travels as the updates that made it (docs/PROTOCOL.md §6.2, index-log.ts) and is
 * applied a slice of the event loop at a time (index-intake.ts): a newcomer to a 30,000-file session
 * otherwise checks and applies one 6 MB step 2 in one turn, its extension host frozen for seconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import { entryMap, newId } from '../../src/sync/entries';
import { IndexIntake } from '../../src/sync/index-intake';
import { CHUNKED_FROM, IndexLog, type IndexAnswer } from '../../src/sync/index-log';
import { INDEX_DOC, ProtocolError, decodeMessage, MessageType } from '../../src/sync/protocol';
import { SharedWorkspace } from '../../src/sync/workspace';
import type { PeerInfo } from '../../src/session/transport';
import { MemoryTransport, link } from '../helpers/memory-transport';
import { waitFor } from '../helpers/testnet';

/** Entries `from`…`to` of an index, `per` entries a transaction (as the sharer's scan makes them). */
function fill(doc: Y.Doc, from: number, to: number, per: number): void {
  const files = doc.getMap<Y.Map<unknown>>('files');
  for (let b = from; b < to; b += per) {
    doc.transact(() => {
      for (let i = b; i < Math.min(to, b + per); i++) files.set(newId(), entryMap({ path: `src/d${i % 40}/f${i}.ts`, kind: 'text', size: i, hash: 'ab'.repeat(32) }));
    });
  }
}

const entries = (doc: Y.Doc) => doc.getMap('files').toJSON();

const all = (answer: IndexAnswer) => [...answer.updates, answer.step2];
const sizeOf = (updates: Uint8Array[]) => updates.reduce((n, u) => n + u.byteLength, 0);

test('the log of a large index, applied in order, is the index; a peer holding part of it gets only what it lacks, and every deletion', () => {
  const doc = new Y.Doc();
  const log = new IndexLog(doc);
  fill(doc, 0, 1000, 100);
  const half = new Y.Doc();
  Y.applyUpdate(half, Y.encodeStateAsUpdate(doc));
  fill(doc, 1000, 3000, 100);
  const files = doc.getMap<Y.Map<unknown>>('files');
  files.forEach((m, id) => id < '1' && m.set('path', `moved/${id}`)); // changes after the fact
  // A deletion alone (no new structs) of files the part already holds, in a chunk of its own (an
  // answer seals the chunk open before it): the part lacks no struct of it, so it is not sent.
  log.since(Y.encodeStateVector(doc));
  const gone = [...half.getMap('files').keys()].slice(0, 3);
  doc.transact(() => gone.forEach((id) => files.delete(id)));
  assert.ok(log.bytes >= CHUNKED_FROM, `a log of ${log.bytes} bytes`);

  const chunks = all(log.since(Y.encodeStateVector(new Y.Doc()))!);
  assert.ok(chunks.length > 5, `${chunks.length} chunks`);
  const copy = new Y.Doc();
  for (const c of chunks) Y.applyUpdate(copy, c);
  assert.deepEqual(entries(copy), entries(doc));

  const rest = all(log.since(Y.encodeStateVector(half))!);
  assert.ok(rest.length > 2 && rest.length < chunks.length, `${rest.length} of ${chunks.length} updates`);
  assert.ok(sizeOf(rest) < sizeOf(chunks) * 0.8, `${sizeOf(rest)} of ${sizeOf(chunks)} bytes`);
  for (const u of rest) Y.applyUpdate(half, u);
  assert.deepEqual(entries(half), entries(doc));
  for (const id of gone) assert.equal(half.getMap('files').has(id), false, 'the deletion reached the part');

  // A peer that lacks nothing gets no update, and a step 2 that changes nothing.
  const none = log.since(Y.encodeStateVector(doc))!;
  assert.equal(none.updates.length, 0);
  const before = Y.encodeStateAsUpdate(copy);
  Y.applyUpdate(copy, none.step2);
  assert.deepEqual(Y.encodeStateAsUpdate(copy), before);
});

test('an update of a chunk\'s size by itself (an index base) is a chunk of its own, its bytes as emitted; the small ones around it are merged', () => {
  const doc = new Y.Doc();
  const log = new IndexLog(doc);
  const emitted: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => emitted.push(u));
  fill(doc, 0, 20, 1); // small ones, merged into one chunk
  fill(doc, 20, 420, 400); // a base's size
  fill(doc, 420, 440, 1);
  fill(doc, 440, 840, 400);
  const large = emitted.filter((u) => u.byteLength >= 16 * 1024);
  assert.equal(large.length, 2, 'two updates of a chunk\'s size');
  const chunks = all(log.since(Y.encodeStateVector(new Y.Doc()))!);
  // To a peer holding nothing, the chunks in order (the last one as the step 2).
  const logged = chunks;
  assert.equal(logged.length, 4, `${logged.length} chunks: the small ones, a large one, the small ones, a large one`);
  assert.deepEqual([logged[1], logged[3]].map((c) => Buffer.from(c)), large.map((u) => Buffer.from(u)), 'the large ones as emitted, not merged');
  const copy = new Y.Doc();
  for (const c of chunks) Y.applyUpdate(copy, c);
  assert.deepEqual(entries(copy), entries(doc));
});

test('the answer cut a slice at a time (sinceSliced) is since()\'s for a peer holding part of every chunk; what the index emits meanwhile reaches it as an update', async () => {
  const doc = new Y.Doc();
  const log = new IndexLog(doc);
  // Each transaction by a client of its own, half of each held by the part: every chunk is cut down.
  const part = new Y.Doc();
  for (let b = 0; b < 40; b++) {
    const writer = new Y.Doc();
    Y.applyUpdate(writer, Y.encodeStateAsUpdate(doc));
    fill(writer, b * 200, b * 200 + 100, 100);
    Y.applyUpdate(part, Y.encodeStateAsUpdate(writer, Y.encodeStateVector(doc)));
    fill(writer, b * 200 + 100, b * 200 + 200, 100);
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(writer));
  }
  const sv = Y.encodeStateVector(part);
  const expected = log.since(sv)!;
  assert.ok(expected.updates.length >= 10, `${expected.updates.length} updates`);

  const answered = log.sinceSliced(sv);
  // A change while the answer is cut: not in it, sent as any update is.
  const live: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => live.push(u));
  await new Promise((resolve) => setImmediate(resolve));
  fill(doc, 9000, 9010, 10);
  const answer = (await answered)!;
  assert.deepEqual(answer.updates.map((u) => Buffer.from(u).toString('hex')), expected.updates.map((u) => Buffer.from(u).toString('hex')), 'the same updates as since()');
  for (const u of [...all(answer), ...live]) Y.applyUpdate(part, u);
  assert.deepEqual(entries(part), entries(doc));
});

test('a small index, or one the log did not see from its start, goes as one step 2', () => {
  const small = new Y.Doc();
  const log = new IndexLog(small);
  fill(small, 0, 100, 10);
  assert.equal(log.since(Uint8Array.of(0)), undefined);

  const late = new Y.Doc();
  fill(late, 0, 10, 10);
  const lateLog = new IndexLog(late);
  fill(late, 10, 3000, 100);
  assert.equal(lateLog.since(Uint8Array.of(0)), undefined);
});

test('a log grown past its bound is dropped: the index goes as one step 2 again, and nothing more is kept', () => {
  const doc = new Y.Doc();
  const log = new IndexLog(doc, 300 * 1024);
  fill(doc, 0, 1000, 100);
  assert.ok(log.since(Uint8Array.of(0))!.updates.length > 0);
  fill(doc, 1000, 3000, 100);
  assert.equal(log.since(Uint8Array.of(0)), undefined);
  assert.equal(log.bytes, 0);
  fill(doc, 3000, 3100, 100);
  assert.equal(log.bytes, 0);
});

const peer = (id: string): PeerInfo => ({ id, name: id, colour: '#123456' });
const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

test('the intake applies in order, a slice of the event loop at a time; a refused update cuts its sender off and drops what it sent after', async () => {
  const applied: string[] = [];
  const turns = new Set<number>();
  let turn = 0;
  const ticking = setInterval(() => turn++, 0);
  const refused: string[] = [];
  const intake = new IndexIntake(
    (p, update) => {
      if (update[0] === 0xff) throw new ProtocolError('refused');
      busy(5);
      turns.add(turn);
      applied.push(`${p.id}${update[0]}`);
    },
    (p) => refused.push(p.id),
  );
  const a = peer('a');
  const b = peer('b');
  for (let i = 0; i < 12; i++) intake.take(i % 2 ? a : b, Uint8Array.of(i), false);
  intake.take(a, Uint8Array.of(0xff), false);
  intake.take(a, Uint8Array.of(50), false);
  intake.take(b, Uint8Array.of(51), false);
  await waitFor(() => applied.length === 13, 'every update from b, and a\'s before the refused one');
  clearInterval(ticking);
  assert.deepEqual(applied, [...Array.from({ length: 12 }, (_, i) => `${i % 2 ? 'a' : 'b'}${i}`), 'b51']);
  assert.deepEqual(refused, ['a']);
  assert.ok(turns.size >= 3, `applied in ${turns.size} turns of the event loop`);
});

test('a newcomer receives a large index as updates and then the step 2, and has every entry', async () => {
  const st = new MemoryTransport('a0');
  const sharer = new SharedWorkspace({ transport: st, mode: 'share' });
  for (let i = 0; i < 2000; i++) sharer.createText(`src/d${i % 40}/f${i}.ts`, `// ${i}\n`, 'disk');
  const kinds: number[] = [];
  const send = st.send.bind(st);
  st.send = (to, data) => {
    const m = decodeMessage(data);
    if (m.type === MessageType.Sync && m.doc === INDEX_DOC) kinds.push(decoding.readVarUint(m.decoder));
    return send(to, data);
  };
  const jt = new MemoryTransport('a1');
  const joiner = new SharedWorkspace({ transport: jt, mode: 'join' });
  let ready = false;
  void joiner.whenIndexReady().then(() => (ready = true));
  let updatesBeforeReady = 0;
  joiner.index.on('update', () => !ready && updatesBeforeReady++);
  // The view takes the entries in slices once the index is whole: never complete with part of them.
  const completeWith: number[] = [];
  joiner.on('progress', (p) => p.complete && completeWith.push(p.totalFiles));
  try {
    link(st, jt);
    await waitFor(() => ready, 'the joiner to have the index'); // a refused chunk would leave it waiting for good
    assert.equal(joiner.files().length, 2000);
    assert.deepEqual(entries(joiner.index), entries(sharer.index));
    const answer = kinds.filter((k) => k !== 0); // step 1 aside
    assert.ok(answer.length > 2, `the index in ${answer.length} messages`);
    assert.deepEqual(answer, [...Array(answer.length - 1).fill(2), 1], 'updates, then one step 2');
    assert.ok(updatesBeforeReady > 2, `${updatesBeforeReady} updates applied before the index was complete`);
    await waitFor(() => completeWith.length > 0, 'the joiner complete (every text arrived)');
    assert.deepEqual([...new Set(completeWith)], [2000]);
  } finally {
    sharer.close();
    joiner.close();
  }
});

test('two newcomers joining while the sharer creates, renames and deletes files end with the same index and view as the sharer', async () => {
  const ts = [0, 1, 2].map((i) => new MemoryTransport(`a${i}`));
  const sharer = new SharedWorkspace({ transport: ts[0], mode: 'share' });
  const made = Array.from({ length: 2000 }, (_, i) => sharer.createText(`src/d${i % 40}/f${i}.ts`, `// ${i}\n`, 'disk'));
  const joiners = [1, 2].map((i) => new SharedWorkspace({ transport: ts[i], mode: 'join' }));
  const all = [sharer, ...joiners];
  const view = (ws: SharedWorkspace) => ws.files().map((f) => `${f.id} ${f.path}`).sort();
  try {
    link(ts[0], ts[1]);
    link(ts[0], ts[2]);
    link(ts[1], ts[2]);
    // While the index travels in chunks and the joiners apply it a slice at a time.
    for (let round = 0; round < 10; round++) {
      for (let k = 0; k < 10; k++) sharer.createText(`new/r${round}/n${k}.md`, `new ${round} ${k}\n`, 'disk');
      for (let k = 0; k < 5; k++) sharer.rename(made[round * 10 + k].id, `moved/r${round}/m${k}.ts`, 'disk');
      for (let k = 5; k < 10; k++) sharer.remove(made[round * 10 + k].id, 'disk');
      await new Promise((r) => setImmediate(r));
    }
    const ready = joiners.map(() => false);
    joiners.forEach((j, i) => void j.whenIndexReady().then(() => (ready[i] = true)));
    // A chunk refused (a rename forwarded ahead of the entry it renames cut the sharer off) leaves a
    // joiner waiting for good.
    await waitFor(() => ready.every(Boolean), 'both joiners to have the index');
    assert.deepEqual(ts.map((t) => t.disconnected), [[], [], []]);
    await waitFor(() => joiners.every((j) => view(j).join('\n') === view(sharer).join('\n')), 'every view the sharer\'s');
    for (const j of joiners) assert.deepEqual(entries(j.index), entries(sharer.index));
    assert.equal(view(sharer).length, 2000 + 100 - 50);
  } finally {
    for (const ws of all) ws.close();
  }
});

/**
 * Every member answers a step 1 with what the asker lacks: a newcomer that asked both members of a
 * session got the whole index from each (index-ask.ts). It asks one; the other, once it holds the
 * index, for what the first lacked.
 */
test('a newcomer joining two members receives the index once, not once from each, and misses nothing either made meanwhile', async () => {
  const ts = [0, 1, 2].map((i) => new MemoryTransport(`b${i}`));
  const sharer = new SharedWorkspace({ transport: ts[0], mode: 'share' });
  for (let i = 0; i < 2000; i++) sharer.createText(`src/d${i % 40}/f${i}.ts`, `// ${i}\n`, 'disk');
  const member = new SharedWorkspace({ transport: ts[1], mode: 'join' });
  const newcomer = new SharedWorkspace({ transport: ts[2], mode: 'join' });
  const all = [sharer, member, newcomer];
  // Index sync bytes (answers: updates and steps 2) sent to the newcomer, by sender.
  const toNewcomer = new Map<string, number>();
  for (const t of ts.slice(0, 2)) {
    const send = t.send.bind(t);
    t.send = (to, data) => {
      const m = decodeMessage(data);
      if (to === ts[2].self.id && m.type === MessageType.Sync && m.doc === INDEX_DOC && decoding.readVarUint(m.decoder) !== 0) {
        toNewcomer.set(t.self.id, (toNewcomer.get(t.self.id) ?? 0) + data.byteLength);
      }
      return send(to, data);
    };
  }
  try {
    link(ts[0], ts[1]);
    await member.whenIndexReady();
    toNewcomer.clear();
    link(ts[2], ts[0]);
    link(ts[2], ts[1]);
    // Both members make a file while the newcomer joins.
    sharer.createText('during/by-sharer.md', 'a\n', 'disk');
    member.createText('during/by-member.md', 'b\n', 'disk');
    await newcomer.whenIndexReady();
    const view = (ws: SharedWorkspace) => ws.files().map((f) => f.path).sort().join('\n');
    await waitFor(() => view(newcomer) === view(sharer) && view(member) === view(sharer), 'every view the same');
    assert.equal(newcomer.files().length, 2002);
    const whole = Y.encodeStateAsUpdate(sharer.index).byteLength;
    const received = [...toNewcomer.values()].reduce((a, b) => a + b, 0);
    assert.ok(received < 1.3 * whole, `the newcomer received ${received} bytes of index answers (${JSON.stringify(Object.fromEntries(toNewcomer))}) for an index of ${whole}`);
  } finally {
    for (const ws of all) ws.close();
  }
});
