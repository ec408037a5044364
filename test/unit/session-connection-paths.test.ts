/**
 * The connection paths of a session (src/session/connection-paths.ts) over real hyperswarms on a
 * private DHT on loopback: a peer's DHT stream is delivered, listed among the keys this peer holds
 * and not taken for a LAN one; a key banned here is refused on the DHT however often it dials, while
 * the rest are delivered; once closed, nothing more is delivered.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import HyperDHT from 'hyperdht';
import Hyperswarm from 'hyperswarm';
import { ConnectionPaths } from '../../src/session/connection-paths';
import { silentLogger } from '../../src/session/log';
import { createTestNetwork, waitFor, type TestNetwork } from '../helpers/testnet';

let testnet: TestNetwork;
const swarms: Hyperswarm[] = [];

before(async () => {
  testnet = await createTestNetwork();
});
after(async () => {
  await Promise.all(swarms.map((s) => s.destroy()));
  await testnet.destroy();
});

function node() {
  const keyPair = HyperDHT.keyPair();
  const swarm = new Hyperswarm({ dht: new HyperDHT({ ...testnet.network, keyPair }), keyPair });
  swarms.push(swarm);
  const delivered: Hyperswarm.SecretStream[] = [];
  /** Streams that reached the swarm at all (delivered or not), to know a dial happened. */
  const arrived: Hyperswarm.SecretStream[] = [];
  swarm.on('connection', (stream) => {
    stream.on('error', () => {});
    arrived.push(stream);
  });
  const paths = new ConnectionPaths({ swarm, logger: silentLogger, lan: undefined, deliver: (s) => void delivered.push(s), isMember: () => false });
  const id = keyPair.publicKey.toString('hex');
  const holds = (other: { id: string }) => delivered.some((s) => !s.destroyed && s.remotePublicKey.toString('hex') === other.id);
  return { swarm, paths, keyPair, id, delivered, arrived, holds };
}

/** One after the other: two that announce at once may miss each other. */
async function join(topic: Buffer, ...nodes: Array<ReturnType<typeof node>>): Promise<void> {
  for (const n of nodes) await n.swarm.join(topic).flushed();
}

test("a peer's DHT stream is delivered, listed among the keys held, and not a LAN one", async () => {
  const [a, b] = [node(), node()];
  await join(randomBytes(32), a, b);
  await waitFor(() => a.holds(b) && b.holds(a), 'A and B deliver each other');
  assert.deepEqual([...a.paths.keys()].map((k) => k.toString('hex')), [b.id]);
  assert.equal(a.paths.isLan(a.delivered[0]), false);
  assert.equal(a.paths.lanInfo(), undefined, 'no LAN discovery was asked for');
});

test('a key banned here is refused on the DHT, however it arrives; the others are delivered', async () => {
  const [a, banned, c] = [node(), node(), node()];
  a.paths.ban(banned.keyPair.publicKey);
  await join(randomBytes(32), a, banned, c);
  await waitFor(() => a.holds(c) && c.holds(a), 'A and C deliver each other');
  // Whichever side dials, the banned peer's stream reaches A's swarm and is dropped there.
  await waitFor(() => a.arrived.some((s) => s.remotePublicKey.equals(banned.keyPair.publicKey)), "the banned peer's stream reaching A");
  await waitFor(() => a.arrived.filter((s) => s.remotePublicKey.equals(banned.keyPair.publicKey)).every((s) => s.destroyed), 'A dropping it');
  assert.equal(a.holds(banned), false);
  assert.equal(a.delivered.some((s) => s.remotePublicKey.equals(banned.keyPair.publicKey)), false);
});

test('once closed, a stream that arrives is dropped, not delivered', async () => {
  const [a, b] = [node(), node()];
  await a.paths.close();
  await join(randomBytes(32), a, b);
  await waitFor(() => a.arrived.length > 0 && a.arrived.every((s) => s.destroyed), "B's stream reaching A and being dropped");
  assert.deepEqual(a.delivered, []);
});
