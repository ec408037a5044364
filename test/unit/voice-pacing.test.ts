/**
 * Bulk data paced while a call uses the connection (src/session/pacer.ts, issue 19): a shared server's
 * transfer written as fast as the connection takes it keeps little queued and in flight ahead of the
 * call's frames while both members are in the call, every byte of it still arrives, and the pacing
 * ends when the call does; a binary file's chunks are paced too. Real sessions on a loopback testnet,
 * a real TCP sink behind a real tunnel, real peers with their folders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { startPeer } from '../../src/app/peer';
import { createSessionCode, type Session } from '../../src/session';
import { BULK_BUDGET, pacerOf, type BulkPacer } from '../../src/session/pacer';
import { ServerTunnels } from '../../src/session/tunnel';
import { MAX_CHUNK } from '../../src/session/tunnel-wire';
import { SessionCall } from '../../src/session/voice/call';
import { CHUNK_SIZE } from '../../src/sync/protocol';
import { createTestNetwork, waitFor } from '../helpers/testnet';
import { tempDir, writeTree } from '../helpers/tree';
import { useSessions } from '../helpers/sessions';

const env = useSessions();

function pacer(from: Session, to: Session): BulkPacer {
  const mux = from.memberMux(to.self.id);
  assert.ok(mux, 'a member connection');
  return pacerOf(mux.stream);
}

/** Ada and Bob in one session, each with the call (not yet joined). */
async function adaAndBob(): Promise<{ a: Session; b: Session; ca: SessionCall; cb: SessionCall }> {
  const code = createSessionCode();
  const a = env.session(code, 'Ada');
  const b = env.session(code, 'Bob');
  const ca = new SessionCall(a);
  const cb = new SessionCall(b);
  env.closeLater(() => (ca.close(), cb.close()));
  await waitFor(() => a.peers().length === 1 && b.peers().length === 1, 'Ada and Bob to meet');
  return { a, b, ca, cb };
}

test('a transfer on the connection keeps at most about 64 KiB ahead of each frame while both are in the call, loses nothing, and is free again after', { timeout: 120_000 }, async () => {
  const { a, b, ca, cb } = await adaAndBob();
  const ta = new ServerTunnels(a);
  const tb = new ServerTunnels(b);
  env.closeLater(() => (ta.close(), tb.close()));
  ca.join();
  cb.join();
  await waitFor(() => ca.members().length === 1 && cb.members().length === 1, 'both in the call');
  await waitFor(() => pacer(a, b).paced && pacer(b, a).paced, 'both connections paced');

  let received = 0;
  const sink = net.createServer((s) => s.on('data', (d: Buffer) => (received += d.byteLength)).on('error', () => {}));
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  env.closeLater(() => sink.close());
  tb.share((sink.address() as net.AddressInfo).port);
  await waitFor(() => ta.remote().some((r) => r.localPort !== undefined), 'Bob\'s sink to reach Ada');
  const client = net.connect({ host: '127.0.0.1', port: ta.remote()[0].localPort! });
  client.on('error', () => {});
  await new Promise((r) => client.once('connect', r));

  // What is queued ahead of each frame Ada sends, every 20 ms while 24 MB go through.
  const ahead: number[] = [];
  const frames = setInterval(() => {
    ahead.push(pacer(a, b).queued());
    ca.send({ time: Date.now(), level: 0, data: new Uint8Array(60) });
  }, 20);
  const total = 24 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 3);
  for (let sent = 0; sent < total; sent += chunk.byteLength) if (!client.write(chunk)) await new Promise((r) => client.once('drain', r));
  await waitFor(() => received === total, 'every byte of the transfer to arrive', 90_000);
  clearInterval(frames);

  // The tunnel checks for room before it forwards what its socket read (up to 64 KiB at once), so a
  // frame may find the budget and one read ahead of it; never the hundreds of kilobytes a full
  // connection holds (235–590 KB at the median on this machine without pacing).
  const sorted = [...ahead].sort((x, y) => x - y);
  const median = sorted[Math.floor(sorted.length / 2)];
  assert.ok(ahead.length > 10, `frames were sent during the transfer (${ahead.length})`);
  assert.ok(median <= BULK_BUDGET + MAX_CHUNK, `median queued ahead of a frame ${median} bytes (budget ${BULK_BUDGET})`);

  cb.leave();
  await waitFor(() => !pacer(a, b).paced && !pacer(b, a).paced, 'the pacing to end when Bob leaves the call');
  assert.ok(pacer(a, b).room(), 'room for anything once nobody is in the call with Bob');
  client.destroy();
});

test('pacing is held only while one sends frames to the other: both in the call and the sender unmuted', { timeout: 60_000 }, async () => {
  const { a, b, ca, cb } = await adaAndBob();
  ca.join();
  await waitFor(() => cb.members().length === 1, 'Bob to see Ada in the call');
  assert.equal(pacer(a, b).paced, false, 'Ada alone in the call paces nothing');
  assert.equal(pacer(b, a).paced, false);
  cb.join();
  cb.setMuted(true);
  await waitFor(() => pacer(a, b).paced, 'Ada\'s bulk data to Bob paced once he joins');
  assert.equal(pacer(b, a).paced, false, 'muted Bob sends no frames: his bulk data to Ada is not paced');
  cb.setMuted(false);
  await waitFor(() => pacer(b, a).paced, 'Bob\'s paced once he unmutes');
  ca.leave();
  await waitFor(() => !pacer(a, b).paced && !pacer(b, a).paced, 'no pacing once Ada leaves');
});

test('a binary file written during a call reaches the other member whole, its chunks paced behind the call', { timeout: 180_000 }, async () => {
  const net = await createTestNetwork();
  const dir = tempDir();
  writeTree(dir, { 'a.txt': 'hello\n' });
  const ada = await startPeer({ mode: 'share', dir, name: 'Ada', network: net.network, lan: false });
  const bobDir = tempDir() + '/b';
  const bob = await startPeer({ mode: 'join', code: ada.code, dir: bobDir, name: 'Bob', network: net.network, lan: false });
  const ca = new SessionCall(ada.session);
  const cb = new SessionCall(bob.session);
  try {
    ca.join();
    cb.join();
    await waitFor(() => pacer(ada.session, bob.session).paced && pacer(bob.session, ada.session).paced, 'both connections paced');
    // What is queued ahead of each frame either sends, while the file goes from Ada to Bob.
    const ahead: number[] = [];
    const frames = setInterval(() => {
      ahead.push(pacer(ada.session, bob.session).queued());
      ca.send({ time: Date.now(), level: 0, data: new Uint8Array(60) });
    }, 20);
    const content = randomBytes(12 * 1024 * 1024);
    fs.writeFileSync(path.join(dir, 'big.bin'), content);
    await waitFor(() => fs.existsSync(path.join(bobDir, 'big.bin')) && fs.statSync(path.join(bobDir, 'big.bin')).size === content.byteLength, 'the file on Bob\'s disk', 150_000);
    clearInterval(frames);
    assert.ok(fs.readFileSync(path.join(bobDir, 'big.bin')).equals(content), 'byte for byte');
    // Pacing must never hold a file back for good (it waits on udx's acknowledgements): the file
    // came whole. How much it shortens the queue is not asserted: a chunk answer is one message of
    // up to CHUNK_SIZE (256 KiB: the chunks are hashed at that size), and the fetcher keeps only a few
    // chunks asked at once, so the queue was short already (one run: median 224 KB unpaced, 165 KB
    // paced, against 240–590 KB for a shared server's stream).
    assert.ok(ahead.length > 0 && ahead.every((q) => q <= BULK_BUDGET + 2 * CHUNK_SIZE + 64 * 1024), `at most the budget and about two chunks ahead of a frame (max ${Math.max(...ahead)})`);
  } finally {
    ca.close();
    cb.close();
    await bob.close();
    await ada.close();
    await net.destroy();
  }
});
