/**
 * What someone without the session code can make a member do: nothing it would show as advice, nothing
 * held in memory until a timeout, and no line per refused connection; and what a hand-written member
 * sees (§5: the order of messages on a connection, an admission that never comes). Real hyperswarm on
 * a loopback testnet; the strangers are real DHT connections with fresh keys.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import HyperDHT from 'hyperdht';
import Hyperswarm from 'hyperswarm';
import Protomux from 'protomux';
import { Session, createSessionCode, parseSessionCode } from '../../src/session';
import { RefusalReport, type RefusalSummary } from '../../src/session/refusals';
import { deriveKeys, proof } from '../../src/session/secrets';
import { admissionEncoding, handshakeEncoding, helloEncoding, PROTOCOL_NAME, PROTOCOL_VERSION, type Admission, type Handshake } from '../../src/session/wire';
import c from 'compact-encoding';
import { createStreamLogger } from '../../src/session/log';
import { createTestNetwork, waitFor, type TestNetwork } from '../helpers/testnet';

let net: TestNetwork;
let dht: HyperDHT;
const open: Session[] = [];

before(async () => {
  net = await createTestNetwork();
  dht = new HyperDHT({ bootstrap: net.network.bootstrap, host: '127.0.0.1', firewalled: false });
  await dht.ready();
});
after(async () => {
  await Promise.all(open.map((s) => s.leave()));
  await dht.destroy();
  await net.destroy();
});

/** A session whose auth timeout is far beyond any wait here: what closes a stranger is not the timeout. */
async function member(code = createSessionCode(), extra: Partial<ConstructorParameters<typeof Session>[0]> = {}): Promise<Session> {
  const s = new Session({ code, name: 'Alice', network: net.network, authTimeoutMs: 600_000, ...extra });
  open.push(s);
  await s.ready();
  return s;
}

/** A direct connection to `s` under a fresh key (each one a new stranger); `onopen` runs once encrypted. */
function connect(s: Session, onopen: (conn: Hyperswarm.SecretStream) => void, keyPair = HyperDHT.keyPair()): { closed: () => boolean; opened: () => boolean; conn: Hyperswarm.SecretStream } {
  const conn = dht.connect(Buffer.from(s.self.id, 'hex'), { keyPair }) as unknown as Hyperswarm.SecretStream;
  let closed = false;
  let opened = false;
  conn.on('error', () => {});
  conn.on('close', () => (closed = true));
  conn.on('open', () => {
    opened = true;
    onopen(conn);
  });
  return { closed: () => closed, opened: () => opened, conn };
}

function openChannel(conn: Hyperswarm.SecretStream, handshake: Handshake, onopen: (h: Handshake) => void = () => {}): void {
  Protomux.from(conn).createChannel<Handshake>({ protocol: PROTOCOL_NAME, handshake: handshakeEncoding, onopen })!.open(handshake);
}

test('a stranger claiming another protocol version is refused as a stranger; only a member of another version is reported as one', async () => {
  const code = createSessionCode();
  const a = await member(code);
  const mismatches: number[] = [];
  const refused: string[] = [];
  a.on('protocol-mismatch', (v) => mismatches.push(v));
  a.on('peer-rejected', (_id, reason) => refused.push(reason));

  const stranger = connect(a, (conn) => openChannel(conn, { version: PROTOCOL_VERSION + 1, proof: Buffer.alloc(32, 7) }));
  await waitFor(() => refused.length === 1 && stranger.closed(), 'the stranger to be refused');
  assert.match(refused[0], /membership proof/);
  assert.deepEqual(mismatches, [], 'a version claimed by someone without the code is not advice to update');

  // A member (it proves the code) of a future version: that is worth telling the user.
  const { authKey } = deriveKeys((parseSessionCode(code) as { secret: Buffer }).secret);
  let seenByFuture: number | undefined;
  connect(a, (conn) => openChannel(conn, { version: PROTOCOL_VERSION + 1, proof: proof(authKey, conn.handshakeHash, conn.publicKey) }, (h) => (seenByFuture = h.version)));
  await waitFor(() => mismatches.length === 1 && seenByFuture !== undefined, 'the version mismatch');
  assert.deepEqual(mismatches, [PROTOCOL_VERSION + 1]);
  assert.equal(seenByFuture, PROTOCOL_VERSION, 'the future peer sees this one\'s version too');
});

test('junk and a 16 MiB frame from a stranger close its connection at once, not at the auth timeout', async () => {
  const a = await member();
  const refused: string[] = [];
  a.on('peer-rejected', (_id, reason) => refused.push(reason));

  // Decodes as a protomux message to a channel that does not exist: protomux alone ignores it.
  const junk = connect(a, (conn) => conn.write(Buffer.from([0x05, 0x01, 0x42, 0x42, 0x42, 0x42])));
  await waitFor(() => junk.closed(), 'the junk connection to close', 30_000);
  assert.ok(refused.some((r) => /invalid frame before authenticating/.test(r)), refused.join('; '));

  // One secret-stream message just under its 16 MiB maximum, before any handshake.
  const huge = connect(a, (conn) => conn.write(Buffer.alloc(16 * 1024 * 1024 - 64, 1)));
  await waitFor(() => huge.closed(), 'the huge frame\'s connection to close', 30_000);
  assert.ok(refused.some((r) => /more than 64 KiB before authenticating/.test(r)), refused.join('; '));

  // A member still gets in.
  const b = new Session({ code: a.code, name: 'Bob', network: net.network });
  open.push(b);
  await b.ready();
  await waitFor(() => a.peers().length === 1, 'Bob to connect after the strangers');
});

test('a flood of strangers is reported as one line and a summary, not one line each', async () => {
  const a = await member();
  const summaries: RefusalSummary[] = [];
  let refused = 0;
  a.on('peers-refused', (s) => summaries.push(s));
  a.on('peer-rejected', () => refused++);
  const N = 20;
  for (let i = 0; i < N; i++) connect(a, (conn) => conn.write(Buffer.from([0x07, 0x01, 0x00])));
  await waitFor(() => refused === N, `${N} strangers to be refused`);
  assert.equal(summaries.length, 1, `one line while the flood lasts: ${summaries.map((s) => s.message).join(' | ')}`);
  assert.match(summaries[0].message, /^Refused a connection: /);
  await a.leave(); // the report is flushed when the session ends
  assert.equal(summaries.length, 2);
  assert.match(summaries[1].message, new RegExp(`^${N - 1} connections refused in the last minute \\(${N - 1} × sent an invalid frame`));
  assert.equal(summaries.reduce((n, s) => n + s.count, 0), N, 'every refusal is counted');
});

test('the refusal report: one line at once, then one summary per window, naming the commonest reasons', async () => {
  const lines: RefusalSummary[] = [];
  const report = new RefusalReport((s) => lines.push(s), 200);
  try {
    report.add('wrong membership proof');
    assert.deepEqual(lines, [{ message: 'Refused a connection: wrong membership proof', count: 1 }]);
    for (let i = 0; i < 6; i++) report.add(['a', 'b', 'b', 'c', 'c', 'c'][i]);
    report.add('d');
    report.add('e');
    await waitFor(() => lines.length === 2, 'the summary');
    assert.equal(lines[1].message, '8 connections refused in the last 200 ms (3 × c; 2 × b; 1 × a; 2 other reasons)');
  } finally {
    report.close();
  }
  // Closing reports what was counted (the session closes its report when it leaves).
  const closing = new RefusalReport((s) => lines.push(s), 60_000);
  closing.add('x');
  closing.add('y');
  closing.close();
  closing.add('after close');
  assert.deepEqual(lines.slice(2).map((l) => l.message), ['Refused a connection: x', '1 connection refused in the last minute (1 × y)']);
});

test('a member of another version is banned for the rest of the session: the same key is refused before any handshake', async () => {
  const code = createSessionCode();
  const a = await member(code);
  const { authKey } = deriveKeys((parseSessionCode(code) as { secret: Buffer }).secret);
  const keyPair = HyperDHT.keyPair();
  const mismatches: number[] = [];
  a.on('protocol-mismatch', (v) => mismatches.push(v));
  const first = connect(a, (conn) => openChannel(conn, { version: PROTOCOL_VERSION + 1, proof: proof(authKey, conn.handshakeHash, conn.publicKey) }), keyPair);
  await waitFor(() => mismatches.length === 1 && first.closed(), 'the mismatch');
  const again = connect(a, (conn) => openChannel(conn, { version: PROTOCOL_VERSION, proof: proof(authKey, conn.handshakeHash, conn.publicKey) }), keyPair);
  await waitFor(() => again.closed(), 'the second attempt to end', 30_000);
  assert.equal(again.opened(), false, 'refused by the firewall, before the Noise handshake completes');
});

test('a member that says hello but never sends its admission is closed with an error after the admission timeout (§5)', async () => {
  const code = createSessionCode();
  const logs: string[] = [];
  const a = await member(code, { admissionTimeoutMs: 500, logger: createStreamLogger('debug', (l) => logs.push(l)) });
  const { authKey } = deriveKeys((parseSessionCode(code) as { secret: Buffer }).secret);
  let joined = false;
  a.on('peer-join', () => (joined = true));
  const silent = connect(a, (conn) => {
    const ch = Protomux.from(conn).createChannel<Handshake>({ protocol: PROTOCOL_NAME, handshake: handshakeEncoding })!;
    const hello = ch.addMessage({ encoding: helloEncoding });
    ch.open({ version: PROTOCOL_VERSION, proof: proof(authKey, conn.handshakeHash, conn.publicKey) });
    hello.send({ name: 'Mute', colour: '#e6194b' });
  });
  await waitFor(() => silent.closed(), 'the connection without admission to be closed', 30_000);
  assert.ok(logs.some((l) => /\[error\].*Mute.*sent no admission within 0.5 s/.test(l)), logs.filter((l) => /admission/.test(l)).join('\n'));
  assert.equal(joined, false, 'it never became a member');
});

/**
 * A hand-written member on `s`: opens the Hyperpair channel with a valid proof, says hello, and
 * records the type of every message `s` sends, in order (the payload of `admission` decoded).
 */
function recordingMember(s: Session, code: string): { types: number[]; admissions: Admission[]; admit(): void } {
  const { authKey } = deriveKeys((parseSessionCode(code) as { secret: Buffer }).secret);
  const types: number[] = [];
  const admissions: Admission[] = [];
  let admit = () => {};
  connect(s, (conn) => {
    const ch = Protomux.from(conn).createChannel<Handshake>({ protocol: PROTOCOL_NAME, handshake: handshakeEncoding })!;
    const messages = Array.from({ length: 8 }, (_, type) =>
      ch.addMessage({ encoding: type === 0 ? helloEncoding : type === 7 ? admissionEncoding : c.raw, onmessage: (m: unknown) => (types.push(type), type === 7 && admissions.push(m as Admission)) }),
    );
    ch.open({ version: PROTOCOL_VERSION, proof: proof(authKey, conn.handshakeHash, conn.publicKey) });
    messages[0].send({ name: 'Hand', colour: '#e6194b' } as never);
    admit = () => messages[7].send({ state: 'admitted', readOnly: false, reason: '' } as never);
  });
  return { types, admissions, admit: () => admit() };
}

test('§5 the sequence on both sides: hello, then on the remote\'s hello [roster,] admission, ping; a joiner with no roster sends admission too', async () => {
  const code = createSessionCode();
  // The owner holds a roster: hello, ping, roster, admission (admitted).
  const owner = await member(code, { admission: { policy: 'anyone', guestRole: 'editor' } });
  const toOwner = recordingMember(owner, code);
  await waitFor(() => toOwner.admissions.length === 1, 'the owner\'s admission');
  assert.deepEqual(toOwner.types, [0, 6, 7, 4], 'hello, roster, admission, ping');
  assert.equal(toOwner.admissions[0].state, 'admitted');
  // Only once both sides have sent `admitted` is the remote a member.
  let joined = false;
  owner.on('peer-join', () => (joined = true));
  assert.equal(owner.peers().length, 0, 'not a member before its own admission');
  toOwner.admit();
  await waitFor(() => joined, 'a member once it sent admitted too');

  // A joiner (no roster yet) judges nobody, and says so: hello, ping, admission (admitted), no roster.
  const joiner = await member(createSessionCode());
  const toJoiner = recordingMember(joiner, joiner.code);
  await waitFor(() => toJoiner.admissions.length === 1, 'the joiner\'s admission');
  assert.deepEqual(toJoiner.types, [0, 7, 4], 'hello, admission, ping');
  assert.equal(toJoiner.admissions[0].state, 'admitted');
});
