/**
 * The session layer over real hyperswarm, on a private DHT on loopback.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import Hyperswarm from 'hyperswarm';
import HyperDHT from 'hyperdht';
import Protomux from 'protomux';
import c from 'compact-encoding';
import type { Encoding } from 'compact-encoding';
import { Session, SessionCodeError, createSessionCode, parseSessionCode } from '../../src/session';
import { deriveKeys, proof } from '../../src/session/secrets';
import { handshakeEncoding, helloEncoding, PROTOCOL_NAME, PROTOCOL_VERSION, type Handshake } from '../../src/session/wire';
import { createStreamLogger } from '../../src/session/log';
import { createTestNetwork, waitFor, type TestNetwork } from '../helpers/testnet';
import { dropConnections } from '../helpers/drop';

let net: TestNetwork;
const open: Session[] = [];
const observers: Hyperswarm[] = [];

before(async () => {
  net = await createTestNetwork();
});
after(async () => {
  // Also after a failed assertion: every test's peers go, so that the process can exit.
  await Promise.all([...open.map((s) => s.leave()), ...observers.map((o) => o.destroy())]);
  await net.destroy();
});

function session(code: string, name: string, extra: Partial<ConstructorParameters<typeof Session>[0]> = {}): Session {
  const s = new Session({ code, name, network: net.network, ...extra });
  open.push(s);
  return s;
}

async function mesh(n: number): Promise<Session[]> {
  const code = createSessionCode();
  const peers = Array.from({ length: n }, (_, i) => session(code, `peer${i}`));
  await Promise.all(peers.map((p) => p.ready())); // all at the same instant
  await waitFor(() => peers.every((p) => p.peers().length === n - 1), `a full mesh of ${n}`, 60_000);
  return peers;
}

function received(s: Session): Array<{ from: string; text: string }> {
  const got: Array<{ from: string; text: string }> = [];
  s.on('message', (p, d) => got.push({ from: p.name, text: Buffer.from(d).toString() }));
  return got;
}

for (const n of [2, 3, 5]) {
  test(`${n} peers joining at the same instant form a full mesh, seen from both sides`, async () => {
    const peers = await mesh(n);
    for (const p of peers) {
      const ids = p.peers().map((x) => x.id).sort();
      const expected = peers.filter((q) => q !== p).map((q) => q.self.id).sort();
      assert.deepEqual(ids, expected);
      for (const info of p.peers()) {
        const other = peers.find((q) => q.self.id === info.id)!;
        assert.equal(info.name, other.self.name);
        assert.equal(info.colour, other.self.colour);
      }
    }
    await Promise.all(peers.map((p) => p.leave()));
  });
}

test('a peer that joins later finds the session; data flows both ways', async () => {
  const code = createSessionCode();
  const a = session(code, 'Alice');
  await a.ready();
  const b = session(code, 'Bob');
  const gotA = received(a);
  const gotB = received(b);
  await b.ready();
  await waitFor(() => a.peers().length === 1 && b.peers().length === 1, 'Alice and Bob connected');
  assert.ok(a.send(b.self.id, Buffer.from('hi Bob')));
  assert.ok(b.send(a.self.id, Buffer.from('hi Alice')));
  await waitFor(() => gotA.length === 1 && gotB.length === 1, 'messages');
  assert.deepEqual(gotB, [{ from: 'Alice', text: 'hi Bob' }]);
  assert.deepEqual(gotA, [{ from: 'Bob', text: 'hi Alice' }]);
  await Promise.all([a.leave(), b.leave()]);
});

test('a mistyped code is refused at once; a different code never meets the session', async () => {
  const code = createSessionCode();
  const typo = code.slice(0, -1) + (code.endsWith('A') ? 'B' : 'A');
  assert.throws(() => session(typo, 'Mallory'), (err: unknown) => err instanceof SessionCodeError && /check the code/.test(err.message));
  const a = session(code, 'Alice');
  const other = session(createSessionCode(), 'Eve');
  await Promise.all([a.ready(), other.ready()]);
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(a.peers().length, 0);
  assert.equal(other.peers().length, 0);
  await Promise.all([a.leave(), other.leave()]);
});

/** A raw hyperswarm peer on the session's topic that does not know the code. */
async function observer(topic: Buffer, onConnection: (conn: Hyperswarm.SecretStream) => void): Promise<Hyperswarm> {
  const swarm = new Hyperswarm({ dht: new HyperDHT({ bootstrap: net.network.bootstrap, host: '127.0.0.1', firewalled: false }) });
  observers.push(swarm);
  swarm.on('connection', (conn) => {
    conn.on('error', () => {});
    onConnection(conn);
  });
  await swarm.join(topic, { server: true, client: true }).flushed();
  return swarm;
}

test('a DHT observer without the code is refused and receives nothing about the session', async () => {
  const code = createSessionCode();
  // Alice is busy with Bob while the observer connects: nothing of that may reach the observer.
  const a = session(code, 'Alice-Secret-Name', { colour: '#abcdef', authTimeoutMs: 1500 });
  const b = session(code, 'Bob-Secret-Name', { colour: '#fedcba', authTimeoutMs: 1500 });
  await Promise.all([a.ready(), b.ready()]);
  await waitFor(() => a.peers().length === 1 && b.peers().length === 1, 'Alice and Bob connected');
  const chatter = setInterval(() => {
    a.send(b.self.id, Buffer.from('SECRET-PAYLOAD'));
    b.send(a.self.id, Buffer.from('SECRET-PAYLOAD'));
  }, 20);
  const rejected: string[] = [];
  a.on('peer-rejected', (_id, reason) => rejected.push(reason));
  b.on('peer-rejected', (_id, reason) => rejected.push(reason));
  const messages: Buffer[] = [];
  let connections = 0;
  let closed = 0;
  const eve = await observer(a.topic, (conn) => {
    connections++;
    conn.on('data', (d: Buffer) => messages.push(Buffer.from(d)));
    conn.on('close', () => closed++);
  });
  try {
    await waitFor(() => rejected.length > 0 && closed > 0 && closed === connections, 'the observer to be refused');
  } finally {
    clearInterval(chatter);
    await eve.destroy();
  }
  assert.match(rejected[0], /did not authenticate/);
  assert.deepEqual(a.peers().map((p) => p.id), [b.self.id], 'the observer never became a member');
  assert.ok(messages.length > 0, 'the observer received the channel opening');
  const all = Buffer.concat(messages).toString('latin1');
  for (const secret of ['Alice-Secret-Name', 'Bob-Secret-Name', 'abcdef', 'fedcba', 'SECRET-PAYLOAD']) {
    assert.ok(!all.includes(secret), `${secret} reached the observer`);
  }
  // Byte by byte, each connection carried exactly one protomux open of "hyperpair" with its version
  // and a 32-byte proof (docs/PROTOCOL.md §4), and nothing else but empty keep-alives.
  const openPrefix = Buffer.concat([Buffer.from([0x00, 0x01, 0x01, PROTOCOL_NAME.length]), Buffer.from(PROTOCOL_NAME), Buffer.from([0x00, PROTOCOL_VERSION])]);
  const frames = messages.filter((m) => m.length > 0);
  assert.equal(frames.length, connections, 'one frame per connection');
  for (const m of frames) {
    assert.equal(m.length, openPrefix.length + 32, `unexpected frame ${m.toString('hex')}`);
    assert.ok(m.subarray(0, openPrefix.length).equals(openPrefix), `unexpected frame ${m.toString('hex')}`);
  }
  await Promise.all([a.leave(), b.leave()]);
});

test('status follows the session, RTT is measured, and a peer that said goodbye is not redialled', async () => {
  const code = createSessionCode();
  const a = session(code, 'Alice', { pingIntervalMs: 100 });
  const statuses: string[] = [];
  a.on('status', (s, n) => statuses.push(`${s}:${n}`));
  assert.equal(a.status, 'connecting');
  await a.ready();
  assert.equal(a.status, 'alone');
  const b = session(code, 'Bob', { pingIntervalMs: 100 });
  await b.ready();
  await waitFor(() => a.peers().length === 1 && b.peers().length === 1, 'Alice and Bob connected');
  assert.equal(a.status, 'connected');
  await waitFor(() => a.peerStats(b.self.id)?.rttMs !== undefined, 'a round trip to be measured');
  const stats = a.peerStats(b.self.id)!;
  assert.ok(stats.rttMs! >= 0 && stats.connectedAt > 0 && stats.lastSeenAt >= stats.connectedAt);
  assert.equal(a.rtt(b.self.id), a.peerStats(b.self.id)!.rttMs);
  assert.equal(a.peerStats('00'.repeat(32)), undefined);

  const leaves: string[] = [];
  a.on('peer-leave', (_p, reason) => leaves.push(reason));
  await b.leave();
  assert.equal(b.status, 'closed');
  await waitFor(() => leaves.length === 1, 'Bob to leave');
  assert.match(leaves[0], /left/);
  assert.equal(a.status, 'alone', 'a goodbye is not a lost connection');
  assert.deepEqual(statuses, ['alone:0', 'connected:1', 'alone:0']);
  await a.leave();
  assert.equal(a.status, 'closed');
});

/** Opens the Hyperpair channel on a raw connection with a chosen handshake and message encodings. */
function rawChannel(conn: Hyperswarm.SecretStream, handshake: Handshake, onopen: (h: Handshake) => void, messages: Array<Encoding<never>> = []) {
  const mux = Protomux.from(conn);
  const ch = mux.createChannel<Handshake>({ protocol: PROTOCOL_NAME, handshake: handshakeEncoding, onopen });
  const msgs = messages.map((encoding) => ch!.addMessage({ encoding }));
  ch!.open(handshake);
  return msgs;
}

test('a peer with a wrong proof, garbage bytes, or an oversized frame loses only its own connection', async () => {
  const code = createSessionCode();
  const logs: string[] = [];
  const a = session(code, 'Alice', { logger: createStreamLogger('debug', (line) => logs.push(line)) });
  await a.ready();
  const rejected: string[] = [];
  a.on('peer-rejected', (_id, reason) => rejected.push(reason));
  const topic = a.topic;

  // Wrong proof.
  const liar = await observer(topic, (conn) => void rawChannel(conn, { version: PROTOCOL_VERSION, proof: Buffer.alloc(32, 9) }, () => {}));
  await waitFor(() => rejected.some((r) => /wrong membership proof/.test(r)), 'the liar to be refused');
  await liar.destroy();

  // Garbage bytes instead of protomux frames.
  let garbageClosed = false;
  const noisy = await observer(topic, (conn) => {
    conn.write(Buffer.from('\xff\xff\xff\xff this is not a protomux frame at all', 'latin1'));
    conn.on('close', () => (garbageClosed = true));
  });
  await waitFor(() => garbageClosed, 'the garbage connection to close');
  await waitFor(() => rejected.some((r) => /invalid frame/.test(r)), 'the garbage to be reported');
  await noisy.destroy();

  // A member (it knows the code) that declares a data frame larger than the maximum.
  const { authKey } = deriveKeys((parseSessionCode(code) as { secret: Buffer }).secret);
  let bigClosed = false;
  const hugeLength: Encoding<number> = {
    preencode: (state) => void (state.end += 6),
    encode: (state) => {
      c.uint.encode(state, 20 * 1024 * 1024);
      state.buffer![state.start++] = 1;
    },
    decode: () => 0,
  };
  const big = await observer(topic, (conn) => {
    conn.on('close', () => (bigClosed = true));
    const encodings = [helloEncoding, c.string, c.string, hugeLength] as unknown as Array<Encoding<never>>;
    const msgs = rawChannel(conn, { version: PROTOCOL_VERSION, proof: proof(authKey, conn.handshakeHash, conn.publicKey) }, () => {
      msgs[0].send({ name: 'Mallory', colour: '#123456' } as never);
      msgs[3].send(0 as never);
    }, encodings);
  });
  await waitFor(() => bigClosed, 'the oversized frame to close its connection');
  assert.ok(logs.some((l) => /data frame of 20971520 bytes/.test(l)), 'closed for the oversized frame');
  await big.destroy();

  // The session is unharmed: a real member still connects and talks.
  const b = session(code, 'Bob');
  const got = received(b);
  await b.ready();
  await waitFor(() => a.peers().length === 1, 'Bob to connect after the attacks');
  a.send(b.self.id, Buffer.from('still here'));
  await waitFor(() => got.length === 1, 'a message after the attacks');
  await Promise.all([a.leave(), b.leave()]);
});

test('a peer of another protocol version (version 1, before texts could travel as bytes) is told apart, and both sides see the versions', async () => {
  const code = createSessionCode();
  const a = session(code, 'Alice');
  await a.ready();
  const mismatches: Array<[number, string]> = [];
  a.on('protocol-mismatch', (v, m) => mismatches.push([v, m]));
  let seenByFuturePeer: number | undefined;
  // A member: it proves the code (a stranger's version is never reported, session-strangers.test.ts).
  const { authKey } = deriveKeys((parseSessionCode(code) as { secret: Buffer }).secret);
  const future = await observer(a.topic, (conn) => void rawChannel(conn, { version: 1, proof: proof(authKey, conn.handshakeHash, conn.publicKey) }, (h) => (seenByFuturePeer = h.version)));
  await waitFor(() => mismatches.length > 0 && seenByFuturePeer !== undefined, 'the version mismatch');
  assert.equal(mismatches[0][0], 1);
  assert.match(mismatches[0][1], /runs Hyperpair protocol 1; this one runs protocol 5\b/);
  assert.equal(seenByFuturePeer, PROTOCOL_VERSION);
  await future.destroy();
  await a.leave();
});

test('a killed connection comes back by itself as the same participant', async () => {
  const [a, b] = await mesh(2);
  const joins: string[] = [];
  const leaves: string[] = [];
  a.on('peer-join', (p) => joins.push(p.id));
  a.on('peer-leave', (p) => leaves.push(p.id));
  dropConnections(a, b.self.id); // the network drops under the encrypted stream
  await waitFor(() => leaves.length === 1, 'the drop to be noticed');
  await waitFor(() => joins.length === 1 && a.peers().length === 1 && b.peers().length === 1, 'the reconnect', 60_000);
  assert.equal(joins[0], b.self.id);
  const got = received(b);
  a.send(b.self.id, Buffer.from('after reconnect'));
  await waitFor(() => got.length === 1, 'data after the reconnect');
  await Promise.all([a.leave(), b.leave()]);
});

test('disconnect() cuts one member off with its reason; the others are untouched, and it may dial back', async () => {
  const [a, b, c3] = await mesh(3);
  const leaves: Array<[string, string]> = [];
  a.on('peer-leave', (p, reason) => leaves.push([p.id, reason]));
  a.disconnect(b.self.id, 'sent an unsafe path');
  a.disconnect('00'.repeat(32), 'not a member'); // unknown ids are ignored
  await waitFor(() => leaves.length === 1, 'the cut-off');
  assert.deepEqual(leaves[0], [b.self.id, 'sent an unsafe path']);
  assert.ok(a.peers().some((p) => p.id === c3.self.id), 'the third member stayed');
  // B saw a drop without goodbye, so B redials; A does not dial B, but lets it in again.
  await waitFor(() => a.peers().length === 2 && b.peers().length === 2, 'B back in the mesh', 60_000);
  await Promise.all([a.leave(), b.leave(), c3.leave()]);
});

test('when the peer that started the session leaves, the others carry on', async () => {
  const code = createSessionCode();
  const starter = session(code, 'Starter');
  await starter.ready();
  const b = session(code, 'B');
  const c2 = session(code, 'C');
  await Promise.all([b.ready(), c2.ready()]);
  await waitFor(() => b.peers().length === 2 && c2.peers().length === 2, 'a mesh of three');
  await starter.leave();
  await waitFor(() => b.peers().length === 1 && c2.peers().length === 1, 'the starter gone');
  const got = received(c2);
  assert.ok(b.send(c2.self.id, Buffer.from('we carry on')));
  await waitFor(() => got.length === 1, 'B and C still talking');
  assert.equal(b.status, 'connected');
  await Promise.all([b.leave(), c2.leave()]);
});

/** Runs `script` in a fresh Node process; resolves with its stdout and exit code (null: killed at the deadline). */
async function runChild(script: string, deadlineMs = 60_000): Promise<{ out: string; code: number | null }> {
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, deadlineMs);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { out, code };
}

test('leaving during the announce, on an unreachable DHT, or with a bad bind host leaves nothing open', async () => {
  const script = `
    const { Session, createSessionCode } = require(${JSON.stringify(path.resolve(__dirname, '../../src/session'))});
    (async () => {
      // Nobody answers on this port: the announce cannot finish; leave() must not wait for it.
      const unreachable = { bootstrap: [{ host: '127.0.0.1', port: 9 }], host: '127.0.0.1', firewalled: false };
      const a = new Session({ code: createSessionCode(), name: 'A', network: unreachable });
      const ready = a.ready();
      await new Promise((r) => setTimeout(r, 500));
      await a.leave();
      await ready;
      console.log('status ' + a.status);
      // ready() after leave() opens nothing.
      await a.ready();
      // A bind host that is not on this machine: a readable error, and nothing left open.
      const b = new Session({ code: createSessionCode(), name: 'B', network: { ...unreachable, host: '203.0.113.77' } });
      await b.ready().then(() => console.log('no error'), (err) => console.log('error ' + err.message));
      await b.leave();
      console.log('status ' + b.status);
    })();`;
  const { out, code } = await runChild(script);
  const lines = out.trim().split('\n');
  assert.equal(lines[0], 'status closed');
  assert.match(lines[1], /^error could not join the network: "203\.0\.113\.77" is not an address of this machine/);
  assert.equal(lines[2], 'status closed');
  assert.equal(code, 0, 'the process did not exit on its own: a handle was left open');
});

test('a member whose channel opens just as the session leaves starts nothing that outlives it', async () => {
  // Seen under load: leave() ended a pending connection, the remote's open (with a valid proof)
  // arrived a moment later, and the ping interval it started kept the process alive for ever.
  const script = `
    const Hyperswarm = require('hyperswarm');
    const HyperDHT = require('hyperdht');
    const Protomux = require('protomux');
    const { Session, createSessionCode, parseSessionCode } = require(${JSON.stringify(path.resolve(__dirname, '../../src/session'))});
    const { deriveKeys, proof } = require(${JSON.stringify(path.resolve(__dirname, '../../src/session/secrets'))});
    const { handshakeEncoding, PROTOCOL_NAME, PROTOCOL_VERSION } = require(${JSON.stringify(path.resolve(__dirname, '../../src/session/wire'))});
    const { createTestNetwork, waitFor } = require(${JSON.stringify(path.resolve(__dirname, '../helpers/testnet'))});
    (async () => {
      const net = await createTestNetwork();
      const code = createSessionCode();
      const { authKey } = deriveKeys(parseSessionCode(code).secret);
      const a = new Session({ code, name: 'A', network: net.network });
      await a.ready();
      const late = new Hyperswarm({ dht: new HyperDHT({ bootstrap: net.network.bootstrap, host: '127.0.0.1', firewalled: false }) });
      let opened = false;
      late.on('connection', async (conn) => {
        conn.on('error', () => {});
        if (opened) return conn.destroy();
        opened = true;
        await waitFor(() => a.table.all().length === 1, 'A to see the connection', 60000);
        const leaving = a.leave(); // ends this connection while it is still pending on A's side
        const ch = Protomux.from(conn).createChannel({ protocol: PROTOCOL_NAME, handshake: handshakeEncoding });
        ch.open({ version: PROTOCOL_VERSION, proof: proof(authKey, conn.handshakeHash, conn.publicKey) });
        leaving.then(() => console.log('left'));
      });
      await late.join(a.topic, { server: false, client: true }).flushed();
      await waitFor(() => a.status === 'closed', 'A to leave', 60000);
      await new Promise((r) => setTimeout(r, 500));
      await late.destroy();
      await net.destroy();
    })();`;
  const { out, code } = await runChild(script, 30_000);
  assert.equal(out.trim(), 'left');
  assert.equal(code, 0, 'the process did not exit on its own: a handle was left open');
});

test('leave() releases every handle: a process that joins and leaves exits on its own', async () => {
  const script = `
    const { Session, createSessionCode } = require(${JSON.stringify(path.resolve(__dirname, '../../src/session'))});
    const { createTestNetwork, waitFor } = require(${JSON.stringify(path.resolve(__dirname, '../helpers/testnet'))});
    (async () => {
      const net = await createTestNetwork();
      const code = createSessionCode();
      const a = new Session({ code, name: 'A', network: net.network });
      const b = new Session({ code, name: 'B', network: net.network });
      await Promise.all([a.ready(), b.ready()]);
      await waitFor(() => a.peers().length === 1 && b.peers().length === 1, 'connect', 60000);
      await Promise.all([a.leave(), b.leave()]);
      await net.destroy();
      console.log('left');
    })();`;
  const { out, code } = await runChild(script);
  assert.equal(out.trim(), 'left');
  assert.equal(code, 0, 'the process did not exit on its own: a handle was left open');
});
