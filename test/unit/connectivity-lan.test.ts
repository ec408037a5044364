/**
 * LAN discovery on this machine's real network stack: real multicast DNS, real TCP, real Noise, with
 * a DHT that cannot be reached (its bootstrap is a closed port). The namespace tests
 * (connectivity-netns.test.ts) run the same path between separate network stacks.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import multicastDns from 'multicast-dns';
import { Session, createSessionCode, parseSessionCode } from '../../src/session';
import { deriveKeys, lanName, lanPeerTag } from '../../src/session/secrets';
import { LAN_WINDOW_MS } from '../../src/session/lan';
import type { BootstrapNode } from '../../src/session/network';
import { createTestNetwork, waitFor } from '../helpers/testnet';
import { multicastProblem, unreachableBootstrap } from '../helpers/lan';

let bootstrap: BootstrapNode[];
let skip: string | undefined;
const open: Session[] = [];

before(async () => {
  bootstrap = await unreachableBootstrap();
  skip = await multicastProblem();
  if (skip) console.log(`# SKIPPED LAN tests: ${skip}`);
});
after(async () => {
  await Promise.all(open.map((s) => s.leave()));
});

function session(code: string, name: string, extra: Partial<ConstructorParameters<typeof Session>[0]> = {}): Session {
  const s = new Session({ code, name, network: { bootstrap }, ...extra });
  open.push(s);
  // ready() waits for the unreachable DHT's timeouts; LAN discovery does not wait for it.
  void s.ready().catch(() => undefined);
  return s;
}

test('two peers with no reachable DHT find each other on the LAN, authenticate and exchange data', async (t) => {
  if (skip) return t.skip(skip);
  const code = createSessionCode();
  const a = session(code, 'Ann');
  const b = session(code, 'Bob');
  const got: string[] = [];
  b.on('message', (p, d) => got.push(`${p.name}:${Buffer.from(d).toString()}`));
  await waitFor(() => a.peers().length === 1 && b.peers().length === 1, 'a LAN connection', 30_000);
  assert.equal(a.peers()[0].id, b.self.id);
  assert.equal(b.peers()[0].name, 'Ann');
  assert.ok(a.send(b.self.id, Buffer.from('over the LAN')));
  await waitFor(() => got.length === 1, 'data over the LAN', 10_000);
  assert.deepEqual(got, ['Ann:over the LAN']);

  await waitFor(() => a.peerStats(b.self.id)?.rttMs !== undefined, 'a round trip', 15_000);
  const d = a.diagnose();
  assert.equal(d.members.length, 1);
  assert.equal(d.members[0].path, 'lan');
  assert.equal(typeof d.members[0].rttMs, 'number');
  assert.equal(d.lan.running, true);
  assert.equal(d.dht.reachable, false, 'the DHT is really out of reach in this test');
  assert.equal(a.peerStats(b.self.id)?.path, 'lan');
  // One connection per pair: neither side holds a second one to the other.
  assert.equal(a.peers().length, 1);
  await b.leave();
  await waitFor(() => a.peers().length === 0, 'Bob leaving', 10_000);
});

test('a peer with another code hears the announcement but learns nothing from it and never connects', async (t) => {
  if (skip) return t.skip(skip);
  const code = createSessionCode();
  const secret = parseSessionCode(code);
  assert.ok(secret.ok);
  const keys = deriveKeys(secret.secret);
  // A bystander on the LAN records every mDNS answer.
  const observer = multicastDns({ reuseAddr: true, loopback: true });
  t.after(() => new Promise<void>((resolve) => observer.destroy(() => resolve())));
  const seen: multicastDns.Answer[] = [];
  observer.on('response', (packet) => seen.push(...packet.answers));

  const stranger = session(createSessionCode(), 'Stranger');
  const rejected: string[] = [];
  const a = session(code, 'Ann');
  const b = session(code, 'Bob');
  for (const s of [a, b, stranger]) s.on('peer-rejected', (_id, reason) => rejected.push(reason));
  await waitFor(() => a.peers().length === 1 && b.peers().length === 1, 'Ann and Bob on the LAN', 30_000);
  const window = Math.floor(Date.now() / LAN_WINDOW_MS);
  const name = lanName(keys.lanKey, window);
  await waitFor(() => seen.some((r) => r.name === name), 'the announcement seen by a bystander', 10_000);
  await waitFor(() => stranger.diagnose().lan.otherAnswers > 0, 'the stranger hearing the announcement', 10_000);

  // What is on the wire is the name and, per peer, a tag: neither is the code, the topic, a key or
  // anything the bystander could compute or reuse without the code.
  const announced = seen.filter((r) => r.name === name);
  const text = JSON.stringify(announced, (_k, v: unknown) =>
    v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString() : v,
  );
  assert.ok(announced.some((r) => r.type === 'SRV') && announced.some((r) => r.type === 'TXT'));
  for (const secretForm of [code, code.replace(/-/g, ''), keys.topic.toString('hex'), keys.authKey.toString('hex'), keys.lanKey.toString('hex'), a.self.id, b.self.id]) {
    assert.ok(!text.toLowerCase().includes(secretForm.toLowerCase().slice(0, 16)), 'no secret or public key in the announcement');
  }
  assert.ok(text.includes(lanPeerTag(keys.lanKey, window, Buffer.from(a.self.id, 'hex'))), "Ann's tag is what is announced");
  // It changes every window, and another session's name for the same window differs.
  assert.notEqual(lanName(keys.lanKey, window + 1), name);
  const other = deriveKeys(Buffer.from('0123456789ABCDEFGHJKMNPQRS'));
  assert.notEqual(lanName(other.lanKey, window), name);

  // The stranger stays out: never a member, never even dialled (so never rejected either).
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(stranger.peers().length, 0);
  assert.equal(a.peers().length, 1);
  assert.deepEqual(rejected, []);
  assert.equal(stranger.diagnose().lan.peersHeard, 0);
});

test('with the DHT reachable too, the LAN connection is the one kept, on both sides, and the member never blinks out', async (t) => {
  if (skip) return t.skip(skip);
  const net = await createTestNetwork();
  try {
    const code = createSessionCode();
    const a = new Session({ code, name: 'Ann', network: net.network });
    const b = new Session({ code, name: 'Bob', network: net.network });
    open.push(a, b);
    const leaves: string[] = [];
    for (const s of [a, b]) s.on('peer-leave', (p, reason) => leaves.push(`${p.name}: ${reason}`));
    // ready() resolves once the DHT announce is flushed: the peers each found then were dialled.
    await Promise.all([a.ready(), b.ready()]);
    await waitFor(() => a.peerStats(b.self.id)?.path === 'lan' && b.peerStats(a.self.id)?.path === 'lan', 'the LAN connection kept on both sides', 30_000);
    const got: string[] = [];
    b.on('message', (_p, d) => got.push(Buffer.from(d).toString()));
    assert.ok(a.send(b.self.id, Buffer.from('still one link')));
    await waitFor(() => got.length === 1, 'data over the kept connection', 10_000);
    assert.deepEqual([a.peers().length, b.peers().length], [1, 1]);
    assert.deepEqual(leaves, [], 'nobody left while the two paths were sorted out');
  } finally {
    await net.destroy();
  }
});

test('LAN discovery switched off: peers with no DHT stay apart', async (t) => {
  if (skip) return t.skip(skip);
  const code = createSessionCode();
  const a = session(code, 'Ann', { lan: false });
  const b = session(code, 'Bob', { lan: false });
  await new Promise((r) => setTimeout(r, 4000));
  assert.equal(a.peers().length + b.peers().length, 0);
  assert.equal(a.diagnose().lan.enabled, false);
  assert.equal(a.diagnose().lan.running, false);
});

test('peers whose clocks are a window apart still meet; the example of PROTOCOL.md §3.1 holds', async (t) => {
  const example = deriveKeys(Buffer.from('0123456789ABCDEFGHJKMNPQRS'));
  assert.equal(example.lanKey.toString('hex'), 'de5d9d37364ce6972ff1ec3a3e651e5f49512beedc733167435110072d30bf0a');
  assert.equal(lanName(example.lanKey, 2950000), '82732cca381c795f8b26212f0f6537bf.local');
  assert.equal(lanPeerTag(example.lanKey, 2950000, Buffer.alloc(32, 0x22)), 'a383f1897295787ca4733a9a1cf70362');
  if (skip) return t.skip(skip);
  const code = createSessionCode();
  const a = session(code, 'Ann');
  const late = () => Date.now() + LAN_WINDOW_MS; // a clock ten minutes ahead
  const b = session(code, 'Bob', { lanTesting: { now: late } });
  await waitFor(() => a.peers().length === 1 && b.peers().length === 1, 'peers a window apart on the LAN', 30_000);
  assert.equal(a.diagnose().members[0].path, 'lan');
});
