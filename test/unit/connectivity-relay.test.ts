/**
 * The relay fallback on a private DHT on loopback: two peers that may not open a direct path (no
 * holepunching, no shortcut through a local address) connect through a blind relay like the one
 * `hyperpair relay` runs, and the relay never sees what they send in plaintext.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type HyperDHT from 'hyperdht';
import { Session, createSessionCode, createStreamLogger } from '../../src/session';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RelayNode, loadRelayKeyPair } from '../../src/session/relay';
import { createTestNetwork, waitFor, type TestNetwork } from '../helpers/testnet';

let net: TestNetwork;
const open: Array<Session | RelayNode> = [];

before(async () => {
  net = await createTestNetwork();
});
after(async () => {
  for (const x of open.reverse()) await (x instanceof Session ? x.leave() : x.close());
  await net.destroy();
});

/** Forwards in JavaScript instead of udx's native relaying, so that every forwarded byte passes here. */
function recordingStream(forwarded: Buffer[]) {
  return (dht: HyperDHT, options: Record<string, unknown>): HyperDHT.RawStream => {
    const stream = dht.createRawStream(options);
    stream.relayTo = (destination: HyperDHT.RawStream) => {
      const queue: Buffer[] = [];
      destination.once('connect', () => {
        for (const d of queue.splice(0)) destination.write(d);
      });
      stream.on('data', (data: Buffer) => {
        forwarded.push(Buffer.from(data));
        if (destination.connected) destination.write(data);
        else queue.push(data);
      });
      // Native relaying forwards the end of a stream too: one side closing closes the other.
      stream.once('close', () => destination.destroy());
    };
    return stream;
  };
}

function relayedPeer(code: string, name: string, relays: Buffer[]): Session {
  const s = new Session({
    code,
    name,
    lan: false,
    relays,
    logger: process.env.HYPERPAIR_TEST_LOG ? createStreamLogger('debug', (l) => console.log(name, l)) : undefined,
    // Firewalled without probing, and never a direct path: only a relay can join these two.
    network: { ...net.network, firewalled: true, holepunch: false },
  });
  open.push(s);
  return s;
}

test('peers that cannot connect directly sync through a blind relay, which sees only ciphertext', async () => {
  const forwarded: Buffer[] = [];
  const relay = new RelayNode({ network: net.network, createStream: recordingStream(forwarded) });
  open.push(relay);
  await relay.ready();

  const code = createSessionCode();
  const a = relayedPeer(code, 'Ann', [relay.publicKey]);
  const b = relayedPeer(code, 'Bob', [relay.publicKey]);
  const problems: string[] = [];
  a.on('connect-problem', (m) => problems.push(m));
  b.on('connect-problem', (m) => problems.push(m));
  await Promise.all([a.ready(), b.ready()]);
  await waitFor(() => a.peers().length === 1 && b.peers().length === 1, 'a relayed connection', 90_000);

  const marker = `HYPERPAIR-PLAINTEXT-MARKER-${Math.random().toString(36).slice(2)}`;
  const got: string[] = [];
  b.on('message', (_p, d) => got.push(Buffer.from(d).toString()));
  const before = forwarded.reduce((n, f) => n + f.length, 0);
  assert.ok(a.send(b.self.id, Buffer.from(marker.repeat(20))));
  await waitFor(() => got.length === 1, 'the marker through the relay', 15_000);
  assert.equal(got[0], marker.repeat(20));
  const relayed = Buffer.concat(forwarded);
  assert.ok(relayed.length - before >= marker.length * 20, 'the marker message went through the relay (its bytes were forwarded)');
  assert.equal(relayed.indexOf(marker), -1, 'the relay never sees the marker in plaintext');
  assert.ok(relay.stats().pairings >= 1);

  await waitFor(() => a.peerStats(b.self.id)?.rttMs !== undefined, 'a round trip', 15_000);
  const d = a.diagnose();
  assert.equal(d.members[0].path, 'relayed');
  assert.equal(typeof d.members[0].rttMs, 'number');
  assert.equal(d.relays.configured, 1);
  assert.equal(d.relays.keys[0], relay.publicKey.toString('hex').slice(0, 8) + '…');
  assert.ok(problems.every((m) => m.includes('relay instead')), 'with a relay configured the hint says it is used');
  // Nothing secret in the report.
  const text = JSON.stringify(d);
  for (const secret of [code, a.topic.toString('hex'), a.self.id, b.self.id, relay.publicKey.toString('hex')]) assert.ok(!text.includes(secret));
});

test('without a relay, peers that cannot connect directly are told why and what to do', async () => {
  const code = createSessionCode();
  const a = relayedPeer(code, 'Ann', []);
  const b = relayedPeer(code, 'Bob', []);
  const problems: string[] = [];
  a.on('connect-problem', (m) => problems.push(m));
  b.on('connect-problem', (m) => problems.push(m));
  await Promise.all([a.ready(), b.ready()]);
  await waitFor(() => problems.length > 0, 'a connection problem reported', 60_000);
  assert.match(problems[0], /no relay is configured/);
  assert.match(problems[0], /hyperpair relay/);
  assert.equal(a.peers().length + b.peers().length, 0);
  const d = a.diagnose().lastConnectProblem ? a.diagnose() : b.diagnose();
  assert.ok(d.lastConnectProblem);
  assert.ok(d.advice.some((x) => x.includes('no relay is configured')));
});

test('peers on an open network connect directly, and diagnose() says so', async () => {
  const code = createSessionCode();
  const a = new Session({ code, name: 'Ann', lan: false, network: net.network });
  const b = new Session({ code, name: 'Bob', lan: false, network: net.network });
  open.push(a, b);
  await Promise.all([a.ready(), b.ready()]);
  await waitFor(() => a.peers().length === 1 && b.peers().length === 1, 'a direct connection', 60_000);
  assert.equal(a.diagnose().members[0].path, 'direct');
  assert.equal(b.peerStats(a.self.id)?.path, 'direct');
  const d = a.diagnose();
  assert.equal(d.dht.reachable, true);
  assert.equal(d.dht.nat.type, 'open');
});

test('a relay keeps its key in its key file across restarts; a damaged file is refused with a reason', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperpair-relay-'));
  const file = path.join(dir, 'sub', 'relay.key');
  const first = await loadRelayKeyPair(file);
  const again = await loadRelayKeyPair(file);
  assert.ok(first.publicKey.equals(again.publicKey), 'the same key after a restart');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'the seed is readable by its owner only');
  fs.writeFileSync(file, 'not a seed');
  await assert.rejects(loadRelayKeyPair(file), /does not hold a relay seed/);
  fs.rmSync(dir, { recursive: true, force: true });
});
