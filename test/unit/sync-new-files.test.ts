/**
 * Who sends a new file's text (issue 15, docs/PROTOCOL.md §6.1 "Creating a text file", §6.2): the
 * creator sends it whole to its members before the entry; a member not connected to the creator asks
 * the member whose index update brought the entry, and that one answers at once, or as soon as it
 * holds the text itself. Nobody asks a member that lacks the text and waits for a re-request: the
 * requests here never time out (10 minutes), so a peer that needed one would never finish. A new
 * binary's chunks (§6.3) are asked of the member whose index update named them first.
 * The same over real hyperswarm and real disks: `sync-liveness.test.ts` (eight peers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHUNK_SIZE, INDEX_DOC } from '../../src/sync/protocol';
import { linksKnown, mesh, type MeshPeer } from '../helpers/mesh';
import { waitFor } from '../helpers/testnet';

const NEVER = 600_000;

/** The step 1s a peer sent for `ids`, as [file id, index of the peer asked]. */
function asked(p: MeshPeer, peers: MeshPeer[], ids: Set<string>): Array<[string, number]> {
  return p.sent.filter((s) => s.kind === 0 && ids.has(s.doc)).map((s) => [s.doc, peers.findIndex((q) => q.transport.self.id === s.to)]);
}

/** `creator` writes `n` files; resolves once every peer holds every text complete, with its content. */
async function createEverywhere(peers: MeshPeer[], creator: MeshPeer, n: number): Promise<Set<string>> {
  const made = Array.from({ length: n }, (_, k) => creator.ws.createText(`new/${k}.md`, `file ${k}\n`, 'disk'));
  await waitFor(
    () => peers.every((p) => made.every((f) => p.ws.isTextReady(f.id) && p.ws.loadedText(f.id)?.toString() === `file ${made.indexOf(f)}\n`)),
    'every text complete on every peer',
  );
  return new Set(made.map((f) => f.id));
}

async function ready(peers: MeshPeer[]): Promise<void> {
  await Promise.all(peers.slice(1).map((p) => p.ws.whenIndexReady()));
  await waitFor(() => linksKnown(peers), 'every peer knows every link');
  for (const p of peers) p.sent.length = p.chunks.length = 0;
}

/** `creator` adds a binary of three chunks; every other peer fetches it once its entry is there. */
async function binaryEverywhere(peers: MeshPeer[], creator: MeshPeer): Promise<Uint8Array> {
  const bytes = new Uint8Array(2 * CHUNK_SIZE + 100).map((_, i) => (i * 7) % 251);
  const f = creator.ws.createBinary('new/pic.bin', bytes, 'disk');
  const others = peers.filter((p) => p !== creator);
  await waitFor(() => others.every((p) => p.ws.byId(f.id) !== undefined), 'the entry on every peer');
  const got = await Promise.all(others.map((p) => p.ws.binary(f.id)));
  for (const g of got) assert.deepEqual(Buffer.from(g), Buffer.from(bytes));
  return bytes;
}

test('§6.1 eight peers, four not connected to the creator: those ask the member the entry came from, once, and nobody else asks', async () => {
  // a1 creates; it is linked to a0, a2 and a3 only. a4–a7 are linked to everyone else.
  const peers = mesh(8, { skip: [4, 5, 6, 7].map((i) => [1, i] as [number, number]), docRequestTimeoutMs: NEVER });
  try {
    await ready(peers);
    const ids = await createEverywhere(peers, peers[1], 5);
    for (const i of [0, 2, 3]) assert.deepEqual(asked(peers[i], peers, ids), [], `a${i} had every text before its entry`);
    for (const i of [4, 5, 6, 7]) {
      const requests = asked(peers[i], peers, ids);
      assert.deepEqual(requests.map(([id]) => id).sort(), [...ids].sort(), `a${i} asked once for each new text`);
      for (const [, to] of requests) assert.ok([0, 2, 3].includes(to), `a${i} asked a${to}, which is not connected to the creator`);
    }
  } finally {
    for (const p of peers) p.ws.close();
  }
});

test('§6.2 along a line a0—a1—a2—a3—a4, a file of a1: each peer asks its neighbour towards a1, which answers once it holds the text', async () => {
  const skip: Array<[number, number]> = [];
  for (let i = 0; i < 5; i++) for (let j = i + 2; j < 5; j++) skip.push([i, j]);
  const peers = mesh(5, { skip, docRequestTimeoutMs: NEVER });
  try {
    await ready(peers);
    const ids = await createEverywhere(peers, peers[1], 3);
    for (const i of [0, 2]) assert.deepEqual(asked(peers[i], peers, ids), [], `a${i} is the creator's neighbour`);
    for (const i of [3, 4]) {
      const requests = asked(peers[i], peers, ids);
      assert.deepEqual(requests.map(([id]) => id).sort(), [...ids].sort(), `a${i} asked once for each new text`);
      for (const [, to] of requests) assert.equal(to, i - 1, `a${i} asked its neighbour towards the creator`);
    }
    // The index itself was never asked for again: the entries came as updates.
    for (const p of peers) assert.equal(p.sent.filter((s) => s.kind === 0 && s.doc === INDEX_DOC).length, 0);
  } finally {
    for (const p of peers) p.ws.close();
  }
});

test('§6.3 a new binary in a full mesh of eight: each peer asks the creator (whose index update named the chunks) for each chunk, and nobody answers blob-missing', async () => {
  const peers = mesh(8, { docRequestTimeoutMs: NEVER });
  try {
    await ready(peers);
    const creator = peers[3];
    await binaryEverywhere(peers, creator);
    for (const p of peers) {
      if (p === creator) continue;
      const gets = p.chunks.filter((c) => c.type === 'get');
      assert.equal(gets.length, 3, `${p.transport.self.name} asked once per chunk`);
      for (const g of gets) assert.equal(g.to, creator.transport.self.id, `${p.transport.self.name} asked the creator`);
    }
    assert.deepEqual(peers.flatMap((p) => p.chunks.filter((c) => c.type === 'missing')), [], 'no round trip lost to a member without the chunks');
  } finally {
    for (const p of peers) p.ws.close();
  }
});

test('§6.3 a new binary, a peer not connected to the creator: it gets every chunk from the others', async () => {
  const peers = mesh(8, { skip: [[3, 7]], docRequestTimeoutMs: NEVER });
  try {
    await ready(peers);
    await binaryEverywhere(peers, peers[3]);
    const gets = peers[7].chunks.filter((c) => c.type === 'get');
    assert.ok(gets.length >= 3, 'a7 asked for every chunk');
    assert.ok(!gets.some((g) => g.to === peers[3].transport.self.id), 'never the creator: no link');
  } finally {
    for (const p of peers) p.ws.close();
  }
});
