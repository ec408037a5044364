/**
 * What a session runs on (src/session/session-network.ts), on a private DHT on loopback: two nodes
 * joined on a topic deliver each other's Noise streams, say how they run, move to a new topic when
 * the code rotates (a newcomer finds them there), and close everything they opened.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import HyperDHT from 'hyperdht';
import type Hyperswarm from 'hyperswarm';
import { ConnectProblems } from '../../src/session/connect-problems';
import { silentLogger } from '../../src/session/log';
import { SessionNetwork } from '../../src/session/session-network';
import { createTestNetwork, waitFor, type TestNetwork } from '../helpers/testnet';

let testnet: TestNetwork;
const open: SessionNetwork[] = [];

before(async () => {
  testnet = await createTestNetwork();
});
after(async () => {
  await Promise.all(open.map((n) => n.close()));
  await testnet.destroy();
});

function node(network = testnet.network) {
  const keyPair = HyperDHT.keyPair();
  const streams: Hyperswarm.SecretStream[] = [];
  const n = new SessionNetwork({
    network,
    keyPair,
    logger: silentLogger,
    problems: new ConnectProblems([], () => {}),
    lan: undefined,
    changed: () => {},
    isLeft: () => false,
    deliver: (stream) => {
      stream.on('error', () => {});
      streams.push(stream);
    },
    isMember: () => false,
  });
  open.push(n);
  const id = keyPair.publicKey.toString('hex');
  const reaches = (other: { id: string }) => streams.some((s) => !s.destroyed && s.remotePublicKey.toString('hex') === other.id);
  return { n, id, streams, reaches };
}

async function connectedPair(topic = randomBytes(32)) {
  const a = node();
  const b = node();
  // One after the other: two that announce at once miss each other (the session's mesh looks again).
  await a.n.join(topic).flushed();
  await b.n.join(topic).flushed();
  await waitFor(() => a.reaches(b) && b.reaches(a), 'A and B connected');
  return [a, b];
}

test('two nodes on one topic deliver each other\'s streams, direct, and report their DHT', async () => {
  const [a] = await connectedPair();
  assert.equal(a.n.pathOf(a.streams[0]), 'direct');
  assert.equal(a.n.offline, false);
  assert.equal(a.n.noNodes, false);
  const facts = a.n.facts();
  assert.equal(facts.dht, a.n.dht);
  assert.equal(facts.lan, undefined, 'LAN discovery was not asked for');
});

test('after a rotation the nodes are found under the new topic', async () => {
  const oldTopic = randomBytes(32);
  const newTopic = randomBytes(32);
  const [a, b] = await connectedPair(oldTopic);
  const moved = await Promise.all([a.n.moveTopic(newTopic, oldTopic, randomBytes(32)), b.n.moveTopic(newTopic, oldTopic, randomBytes(32))]);
  await Promise.all(moved.map((d) => d.flushed()));
  const c = node();
  await c.n.join(newTopic).flushed();
  await waitFor(() => c.reaches(a) && c.reaches(b), 'the newcomer on the new topic reaches both');
});

test('close releases the DHT node and the streams; a bind host not on this machine is refused at once', async () => {
  const [a, b] = await connectedPair();
  await a.n.close();
  assert.equal(a.n.dht.destroyed, true);
  assert.ok(a.streams.every((s) => s.destroyed), 'every stream of A is closed');
  await waitFor(() => !b.reaches(a), 'B sees A go');
  assert.throws(() => node({ ...testnet.network, host: '203.0.113.77' }), /"203\.0\.113\.77" is not an address of this machine/);
});
