/**
 * Content-addressed chunks (src/sync/blobs.ts) between real BlobStores over an in-process transport,
 * each peer's messages decoded as the receiver does: a content is put together from a member's
 * chunks and verified, then held in memory; a chunk is served from the disk reader only when it
 * matches its hash; a member that lacks a chunk says so and the next is asked, the one that named it
 * first; a chunk nobody has is reported and fetched when someone who has it joins; a member leaving
 * mid-request hands the request on; wrong or unasked data is refused; close rejects what is pending.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../../src/session/log';
import { BlobStore, chunk } from '../../src/sync/blobs';
import { contentHash } from '../../src/sync/hash';
import { CHUNK_SIZE, MessageType, decodeMessage } from '../../src/sync/protocol';
import { MemoryTransport, link, unlink } from '../helpers/memory-transport';

interface Peer {
  name: string;
  transport: MemoryTransport;
  store: BlobStore;
  /** Chunk requests this peer received: "from:hash8". */
  asked: string[];
  /** While false, requests are heard but never answered (a stalled member). */
  answers: boolean;
}

const peers: Peer[] = [];

function peer(name: string): Peer {
  const transport = new MemoryTransport(name);
  const store = new BlobStore(transport, silentLogger);
  const p: Peer = { name, transport, store, asked: [], answers: true };
  const nameOf = (id: string) => peers.find((x) => x.transport.self.id === id)?.name ?? id;
  transport.on('message', (from: { id: string }, data: Uint8Array) => {
    const m = decodeMessage(data);
    if (m.type === MessageType.BlobGet) {
      p.asked.push(`${nameOf(from.id)}:${m.hash.slice(0, 8)}`);
      if (p.answers) store.serve(from.id, m.hash);
    } else if (m.type === MessageType.BlobData) assert.equal(store.receive(from.id, m.hash, m.data), true);
    else if (m.type === MessageType.BlobMissing) store.missing(from.id, m.hash);
  });
  transport.on('peer-join', () => store.peerJoined());
  transport.on('peer-leave', (left: { id: string }) => store.peerLeft(left.id));
  peers.push(p);
  return p;
}

test.afterEach(() => {
  for (const p of peers.splice(0)) p.store.close();
});

/** A content of `n` chunks (the last one short). */
function content(n: number) {
  return chunk(randomBytes(CHUNK_SIZE * (n - 1) + 1000));
}

test('a content is put together from the chunks a member holds, verified, and held here after', async () => {
  const [a, b] = [peer('a'), peer('b')];
  const { info, parts } = content(3);
  a.store.remember(parts);
  link(a.transport, b.transport);
  const bytes = await b.store.assemble(info);
  assert.equal(contentHash(bytes), info.hash);
  assert.equal(a.asked.length, 3);
  await b.store.assemble(info);
  assert.equal(a.asked.length, 3, 'the second time, every chunk came from memory');
});

test('a chunk not in memory is read from disk, and served only if it matches its hash', async () => {
  const [a, b] = [peer('a'), peer('b')];
  const good = content(1);
  const bad = content(1);
  const [goodHash] = good.info.chunks;
  const [badHash] = bad.info.chunks;
  // The "disk" holds the right bytes for one, and bytes that changed since for the other.
  a.store.reader = async (hash) => (hash === goodHash ? good.parts.get(goodHash) : randomBytes(10));
  link(a.transport, b.transport);
  assert.equal(contentHash(await b.store.get(goodHash)), goodHash);
  const exhausted = b.store.whenExhausted(badHash);
  const pending = b.store.get(badHash);
  pending.catch(() => {}); // rejected on close
  await exhausted;
  assert.deepEqual(a.asked, [`b:${goodHash.slice(0, 8)}`, `b:${badHash.slice(0, 8)}`]);
});

test('a member that lacks a chunk says so and the next is asked; the member that named it is asked first', async () => {
  const [a, b, c] = [peer('a'), peer('b'), peer('c')];
  const { info, parts } = content(1);
  const [h] = info.chunks;
  c.store.remember(parts);
  link(a.transport, b.transport);
  link(c.transport, b.transport);
  b.store.prefer([h], a.transport.self.id); // a named it (and has not fetched it yet)
  assert.equal(contentHash(await b.store.get(h)), h);
  assert.deepEqual([a.asked, c.asked], [[`b:${h.slice(0, 8)}`], [`b:${h.slice(0, 8)}`]]);

  // The other way round: the hint names c, which has it, so a is never asked.
  const next = content(1);
  const [h2] = next.info.chunks;
  c.store.remember(next.parts);
  b.store.prefer([h2], c.transport.self.id);
  await b.store.get(h2);
  assert.deepEqual(a.asked, [`b:${h.slice(0, 8)}`]);
});

test('a chunk nobody has is reported once every member was asked, and fetched when someone who has it joins', async () => {
  const [a, b, c] = [peer('a'), peer('b'), peer('c')];
  const { info, parts } = content(1);
  const [h] = info.chunks;
  link(a.transport, b.transport);
  const exhausted = b.store.whenExhausted(h);
  const got = b.store.get(h);
  await exhausted;
  c.store.remember(parts);
  link(c.transport, b.transport);
  assert.equal(contentHash(await got), h);
  assert.deepEqual(c.asked, [`b:${h.slice(0, 8)}`]);
});

test('a member that leaves while asked hands the request on to another', async () => {
  const [a, b, c] = [peer('a'), peer('b'), peer('c')];
  const { info, parts } = content(1);
  const [h] = info.chunks;
  a.store.remember(parts);
  c.store.remember(parts);
  a.answers = false;
  link(a.transport, b.transport);
  link(c.transport, b.transport);
  b.store.prefer([h], a.transport.self.id);
  const got = b.store.get(h);
  while (a.asked.length === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(c.asked, []);
  unlink(a.transport, b.transport);
  assert.equal(contentHash(await got), h);
  assert.deepEqual(c.asked, [`b:${h.slice(0, 8)}`]);
});

test('a chunk that was not asked for, or does not match its hash, or comes from another member, is refused', async () => {
  const [a, b, c] = [peer('a'), peer('b'), peer('c')];
  const { info, parts } = content(1);
  const [h] = info.chunks;
  const data = parts.get(h)!;
  assert.equal(b.store.receive(a.transport.self.id, h, data), false, 'not asked for');
  a.answers = false;
  link(a.transport, b.transport);
  const got = b.store.get(h);
  got.catch(() => {});
  while (a.asked.length === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(b.store.receive(c.transport.self.id, h, data), false, 'from a member not asked');
  assert.equal(b.store.receive(a.transport.self.id, h, randomBytes(data.byteLength)), false, 'wrong bytes');
  assert.equal(b.store.receive(a.transport.self.id, h, data), true);
  assert.equal(contentHash(await got), h);
});

test('close rejects every fetch still waiting', async () => {
  const [a, b] = [peer('a'), peer('b')];
  a.answers = false;
  link(a.transport, b.transport);
  const { info } = content(1);
  const got = b.store.get(info.chunks[0]);
  b.store.close();
  await assert.rejects(got, /closed/);
});

test('with a disk to read from, memory keeps only the newest few MB of chunks; the rest are served from the disk', async () => {
  const [a, b] = [peer('a'), peer('b')];
  // The "disk": every chunk this peer ever remembered (a mirror's files hold every current version).
  const disk = new Map<string, Uint8Array>();
  let reads = 0;
  a.store.reader = async (hash) => (reads++, disk.get(hash));
  const contents = Array.from({ length: 12 }, () => content(Math.ceil((1024 * 1024) / CHUNK_SIZE) + 1));
  for (const c of contents) {
    for (const [h, data] of c.parts) disk.set(h, data);
    a.store.remember(c.parts);
  }
  link(a.transport, b.transport);
  // The oldest content (12 MB ago) is no longer in memory: read from the disk, verified.
  const first = await b.store.assemble(contents[0].info);
  assert.equal(contentHash(first), contents[0].info.hash);
  assert.equal(reads, contents[0].info.chunks.length, 'the oldest chunks came from the disk');
  // The newest is still in memory.
  await b.store.assemble(contents[11].info);
  assert.equal(reads, contents[0].info.chunks.length, 'the newest chunks came from memory');
});
