/**
 * Diagnose Connection outside a session (issue 16, item 5): over a real loopback testnet the probe
 * reaches the DHT, measures the NAT, runs LAN discovery, and says it is not in a session; against a
 * DHT that does not answer, it says UDP gets no answer and what to do, within its deadline.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { formatDiagnosis } from '../../src/session/diagnose';
import { probeConnectivity } from '../../src/session/probe';
import { createTestNetwork, type TestNetwork } from '../helpers/testnet';

let net: TestNetwork;
before(async () => {
  net = await createTestNetwork();
});
after(async () => {
  await net.destroy();
});

test('outside a session: the probe reports DHT reachability, NAT, UDP and LAN, and no members', async () => {
  const d = await probeConnectivity({ name: 'Alice', network: net.network, lan: true });
  assert.equal(d.outsideSession, true);
  assert.equal(d.dht.reachable, true);
  assert.equal(d.dht.udp, true);
  assert.ok(d.dht.knownNodes > 0);
  assert.notEqual(d.dht.nat.type, 'unknown', 'the NAT is measured');
  assert.equal(d.lan.enabled, true);
  assert.deepEqual(d.members, []);
  const text = formatDiagnosis(d);
  assert.match(text, /this machine: Alice, outside any session/);
  assert.match(text, /not in a session: this tested how this machine reaches the network/);
  assert.doesNotMatch(text, /people in the session/);
});

test('outside a session, with a DHT that never answers: UDP gets no answer, with advice, by the deadline', async () => {
  // A UDP port that is bound and says nothing: a DHT behind a firewall that drops everything.
  const silent = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  try {
    const port = (silent.address() as { port: number }).port;
    const d = await probeConnectivity({ name: 'Alice', network: { bootstrap: [{ host: '127.0.0.1', port }], host: '127.0.0.1' }, lan: false, timeoutMs: 3000 });
    assert.equal(d.dht.udp, false);
    assert.equal(d.dht.reachable, false);
    assert.ok(d.advice.some((a) => /UDP may be blocked/.test(a)), JSON.stringify(d.advice));
  } finally {
    silent.close();
  }
});

test('in a session the report counts people as the status bar does (you included)', () => {
  const base = { generatedAt: 'now', protocolVersion: 1, self: { id: 'abcd1234…', name: 'Alice' }, status: 'connected' };
  const dht = { network: 'x', reachable: true, bootstrapped: true, knownNodes: 3, udp: true, nat: { type: 'open' as const, firewalled: false, randomized: false, host: null, port: null } };
  const lan = { enabled: false, running: false, port: null, interface: null, peersHeard: 0, otherAnswers: 0, problem: null };
  const text = formatDiagnosis({ ...base, dht, lan, relays: { configured: 0, keys: [] }, lastConnectProblem: null, advice: [], members: [{ id: 'b…', name: 'Bob', path: 'direct', rttMs: 3, connectedForS: 5 }] });
  assert.match(text, /people in the session: 2 \(you and 1 connected to you directly\)/);
});
