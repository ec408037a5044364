/**
 * What carries documents between peers (src/sync/text-sync.ts), over real Yjs documents, the real
 * outbox, receiver and sync protocol, and an in-process transport: nothing is heard before start(),
 * start() greets the members already here and hears those who join and leave after, a joiner's index
 * arrives through it, and once disposed it hears nothing more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import { silentLogger } from '../../src/session/log';
import { BlobStore } from '../../src/sync/blobs';
import { entryMap, newId } from '../../src/sync/entries';
import { DEFAULT_CAPS, IndexGuard } from '../../src/sync/index-guard';
import { PeerLinks } from '../../src/sync/links';
import { Outbox, RemoteOrigin } from '../../src/sync/outbox';
import { INDEX_DOC } from '../../src/sync/protocol';
import { TextSync } from '../../src/sync/text-sync';
import { TextDocs } from '../../src/sync/texts';
import { MemoryTransport, link, unlink } from '../helpers/memory-transport';

function textSyncOn(transport: MemoryTransport, mode: 'share' | 'join') {
  const index = new Y.Doc({ guid: INDEX_DOC });
  const entries = index.getMap<Y.Map<unknown>>('files');
  const awareness = new awarenessProtocol.Awareness(index);
  const blobs = new BlobStore(transport, silentLogger);
  const guard = new IndexGuard(index, DEFAULT_CAPS);
  const links = new PeerLinks(awareness, transport);
  const outbox = new Outbox(transport, links);
  const texts = new TextDocs({ newDoc: (name) => new Y.Doc({ guid: name }), transaction: (id, tx) => outbox.queue(id, tx), changed: () => {} });
  // What the workspace's index follower does: every index update goes out (not back to its sender).
  index.on('update', (update: Uint8Array, origin: unknown) => {
    outbox.update(INDEX_DOC, update, origin instanceof RemoteOrigin ? origin.peerId : undefined);
  });
  const heard = { joined: [] as string[], left: [] as string[], arrived: [] as string[] };
  const sync = new TextSync({
    transport,
    logger: silentLogger,
    index,
    entries,
    awareness,
    guard,
    texts,
    outbox,
    links,
    blobs,
    caps: DEFAULT_CAPS,
    mode,
    docRequestTimeoutMs: 10_000,
    isClosed: () => false,
    pathOf: (id) => id,
    arrived: () => {},
    unavailable: () => {},
    indexArrived: (from) => heard.arrived.push(from),
    textBytes: { serve: () => {}, receive: () => false },
    peerJoined: (peerId) => heard.joined.push(peerId),
    peerLeft: (peerId) => heard.left.push(peerId),
  });
  const close = () => {
    sync.dispose();
    outbox.close();
    links.close();
    blobs.close();
    awareness.destroy();
  };
  return { sync, entries, index, heard, close };
}

test('nothing is heard before start(); start() greets the members already here and hears who joins and leaves after', (t) => {
  const [a, b, c] = [new MemoryTransport('a'), new MemoryTransport('b'), new MemoryTransport('c')];
  const peer = textSyncOn(a, 'share');
  t.after(peer.close);
  link(a, b);
  assert.deepEqual(peer.heard.joined, []);
  peer.sync.start();
  assert.deepEqual(peer.heard.joined, [b.self.id]);
  link(a, c);
  unlink(a, b);
  assert.deepEqual(peer.heard.joined, [b.self.id, c.self.id]);
  assert.deepEqual(peer.heard.left, [b.self.id]);
});

test("a joiner's index arrives through it: the sharer's entries, from the sharer", async (t) => {
  const [a, b] = [new MemoryTransport('a'), new MemoryTransport('b')];
  const sharer = textSyncOn(a, 'share');
  const joiner = textSyncOn(b, 'join');
  t.after(() => { sharer.close(); joiner.close(); });
  const id = newId();
  sharer.entries.set(id, entryMap({ path: 'a.txt', kind: 'text', size: 0, hash: 'ab'.repeat(32) }));
  sharer.sync.start();
  joiner.sync.start();
  assert.equal(joiner.sync.sync.indexReady, false);
  link(a, b);
  await joiner.sync.sync.whenIndexReady();
  assert.equal(joiner.entries.get(id)?.get('path'), 'a.txt');
  assert.deepEqual(joiner.heard.arrived, [a.self.id]);
});

test('once disposed it hears nothing: no member joining, no index arriving', async (t) => {
  const [a, b, c] = [new MemoryTransport('a'), new MemoryTransport('b'), new MemoryTransport('c')];
  const sharer = textSyncOn(a, 'share');
  const joiner = textSyncOn(b, 'join');
  const witness = textSyncOn(c, 'join');
  t.after(() => { sharer.close(); witness.close(); });
  sharer.entries.set(newId(), entryMap({ path: 'a.txt', kind: 'text', size: 0, hash: 'ab'.repeat(32) }));
  for (const p of [sharer, joiner, witness]) p.sync.start();
  joiner.close();
  link(a, b);
  link(a, c);
  // The sharer answers both alike, in order: once the witness has the index, the joiner had its chance.
  await witness.sync.sync.whenIndexReady();
  assert.deepEqual(joiner.heard.joined, []);
  assert.equal(joiner.entries.size, 0);
  assert.equal(joiner.sync.sync.indexReady, false);
});
