/**
 * One PeerConnection (src/session/connection.ts) against a real one or a hand-made remote, over a
 * pair of real Noise streams in memory: what closes it, what bans its remote, what is said on leaving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import c from 'compact-encoding';
import Protomux from 'protomux';
import type Hyperswarm from 'hyperswarm';
import type { PeerConnection } from '../../src/session/connection';
import { proof } from '../../src/session/secrets';
import { dataEncoding, handshakeEncoding, helloEncoding, PROTOCOL_NAME, PROTOCOL_VERSION, type Handshake } from '../../src/session/wire';
import { noisePair, testConnection, TEST_AUTH_KEY } from '../helpers/noise-pair';
import { waitFor } from '../helpers/testnet';

function outcome(conn: PeerConnection): { rejected: string[]; closed: { reason: string; bye: boolean } | undefined } {
  const o: { rejected: string[]; closed: { reason: string; bye: boolean } | undefined } = { rejected: [], closed: undefined };
  conn.on('rejected', (r) => o.rejected.push(r));
  conn.on('closed', (reason, bye) => (o.closed = { reason, bye }));
  return o;
}

/** A remote that proves membership and then sends only what `then` sends. */
function handMade(stream: Hyperswarm.SecretStream, then: (send: { hello(): void; data(b: Buffer): void }) => void): void {
  const ch = Protomux.from(stream).createChannel<Handshake>({ protocol: PROTOCOL_NAME, handshake: handshakeEncoding })!;
  const hello = ch.addMessage({ encoding: helloEncoding });
  ch.addMessage({ encoding: c.uint }); // peers (unused here): keeps the message types in order
  ch.addMessage({ encoding: c.uint }); // bye
  const data = ch.addMessage({ encoding: dataEncoding });
  ch.open({ version: PROTOCOL_VERSION, proof: proof(TEST_AUTH_KEY, stream.handshakeHash, stream.publicKey) });
  then({ hello: () => hello.send({ name: 'Hand', colour: '#e6194b' }), data: (b) => data.send(b) });
}

test('a remote with another session\'s key is rejected (a ban, §4.2) and closed; the honest side is not harmed', async () => {
  const { a, b } = await noisePair();
  const ca = testConnection(a, 'Ann');
  const cb = testConnection(b, 'Mallory', { authKey: Buffer.alloc(32, 9) });
  const bans: boolean[] = [];
  ca.on('rejected', (_reason, ban) => bans.push(ban));
  const oa = outcome(ca);
  outcome(cb);
  await waitFor(() => !!oa.closed, 'A to close');
  assert.match(oa.rejected[0], /wrong membership proof/);
  assert.deepEqual(bans, [true]);
  assert.equal(ca.authenticated, false);
});

test('silence until the auth timeout closes and is reported, but never bans (a starved member is silent too)', async () => {
  const { a } = await noisePair(); // the other side never opens a channel
  const ca = testConnection(a, 'Ann', { authTimeoutMs: 200 });
  const bans: boolean[] = [];
  ca.on('rejected', (_reason, ban) => bans.push(ban));
  const oa = outcome(ca);
  await waitFor(() => !!oa.closed, 'the auth timeout');
  assert.match(oa.closed!.reason, /did not authenticate within 0.2 s/);
  assert.deepEqual(bans, [false], 'reported once, without a ban');
});

test('data before hello closes the connection; data after hello arrives', async () => {
  const early = await noisePair();
  const ca = testConnection(early.a, 'Ann');
  const oa = outcome(ca);
  handMade(early.b, (send) => send.data(Buffer.from('too soon')));
  await waitFor(() => !!oa.closed, 'A to close');
  assert.equal(oa.closed!.reason, 'sent data before hello');

  const { a, b } = await noisePair();
  const c2 = testConnection(a, 'Ann');
  const got: string[] = [];
  c2.on('data', (d) => got.push(Buffer.from(d).toString()));
  handMade(b, (send) => {
    send.hello();
    send.data(Buffer.from('after hello'));
  });
  await waitFor(() => got.length === 1, 'the data');
  assert.deepEqual(got, ['after hello']);
  assert.equal(c2.hello?.name, 'Hand');
  c2.destroy('done');
});

test('a remote that goes silent after hello is closed after six ping intervals without a frame', async () => {
  const { a, b } = await noisePair();
  const ca = testConnection(a, 'Ann', { pingIntervalMs: 50 });
  const oa = outcome(ca);
  handMade(b, (send) => send.hello()); // answers no ping
  await waitFor(() => !!oa.closed, 'A to give up');
  assert.equal(oa.closed!.reason, 'no answer for too long (connection lost)');
  assert.deepEqual(oa.rejected, [], 'a lost path is not a ban');
});

test('leave() says goodbye: the other side closes with bye set and the reason; drained() resolves once closed', async () => {
  const { a, b } = await noisePair();
  const ca = testConnection(a, 'Ann');
  const cb = testConnection(b, 'Bob');
  const ob = outcome(cb);
  await waitFor(() => !!ca.hello && !!cb.hello, 'both hellos');
  ca.leave('see you');
  await waitFor(() => !!ob.closed, 'B to close');
  assert.deepEqual(ob.closed, { reason: 'left: see you', bye: true });
  await ca.drained();
  assert.equal(ca.send(Buffer.from('x')), false, 'nothing is sent after leaving');
});
