/**
 * Pins docs/PROTOCOL.md §4.1 and §5 to bytes, as the worked examples are: protomux's control frames
 * (batch, reject), that a channel id is the sender's local id, the encodings `bool`, `fixed64`,
 * `optionalBuffer`, upper-case colours, how names are counted, and when pings start. Two real
 * PeerConnections over a pair of real Noise streams joined in memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import c from 'compact-encoding';
import Protomux from 'protomux';
import type Hyperswarm from 'hyperswarm';
import { helloEncoding } from '../../src/session/wire';
import { noisePair, testConnection } from '../helpers/noise-pair';
import { waitFor } from '../helpers/testnet';

const pair = noisePair;
const connection = (stream: Hyperswarm.SecretStream, name: string) => testConnection(stream, name);

test('§4.1: a channel id is the sender\'s local id (the Hyperpair open is 00 01 01 …, its messages start with 01); §5: the first ping follows hello', async () => {
  const { a, b, toA, toB } = await pair();
  const ca = connection(a, 'Ann');
  const cb = connection(b, 'Bob');
  await waitFor(() => !!ca.hello && !!cb.hello, 'both hellos');
  const open = toB.find((f) => f[0] === 0 && f[1] === 1)!;
  assert.deepEqual([...open.subarray(0, 4)], [0x00, 0x01, 0x01, 0x09], 'open: control, open, local id 1, string length 9');
  const hello = toB.find((f) => f[0] === 0x01 && f[1] === 0x00)!;
  assert.deepEqual(hello, Buffer.from('010003416e6e0723653631393462', 'hex'), 'the worked example of §5: hello from Ann on channel 1');
  // The first ping goes out as soon as the remote's hello arrives (the interval here is a minute).
  await waitFor(() => toB.some((f) => f[0] === 0x01 && f[1] === 0x04), 'A\'s first ping, right after B\'s hello');
  // A second channel B opens takes B's local id 2; A runs no such protocol and rejects it by that id.
  Protomux.from(b).createChannel({ protocol: 'other' })!.open(undefined);
  await waitFor(() => toB.some((f) => f.equals(Buffer.from([0x00, 0x02, 0x02]))), 'the reject 00 02 02');
  assert.ok(toA.some((f) => f[0] === 0 && f[1] === 1 && f[2] === 2), 'B opened it as 00 01 02');
  assert.ok(ca.authenticated && cb.authenticated, 'after authentication an unknown protocol is refused, not the connection');
  ca.destroy('done');
  cb.destroy('done');
});

test('§4.1: an open the other side does not know is rejected with 00 02 <sender\'s id>, and a Hyperpair peer then closes', async () => {
  const { a, b, toA } = await pair();
  Protomux.from(b); // B speaks protomux but runs no Hyperpair channel: it rejects A's open
  const ca = connection(a, 'Ann');
  let closed: string | undefined;
  ca.on('closed', (reason) => (closed = reason));
  await waitFor(() => closed !== undefined, 'A to close after the reject');
  assert.ok(toA.some((f) => f.equals(Buffer.from([0x00, 0x02, 0x01]))), `a reject frame 00 02 01 (got ${toA.map((f) => f.toString('hex')).join(' ')})`);
  assert.ok(ca.hello === undefined && !ca.authenticated);
});

test('§4.1: a batch (00 00 <sender\'s id>, then uint(length) || type || payload per message) is read as its messages', async () => {
  const { a, b, toA } = await pair();
  const ca = connection(a, 'Ann');
  const cb = connection(b, 'Bob');
  await waitFor(() => !!ca.hello && !!cb.hello, 'both hellos');
  const got: string[] = [];
  ca.on('data', (d) => got.push(Buffer.from(d).toString()));
  const mux = Protomux.from(b);
  mux.cork();
  cb.send(Buffer.from('one'));
  cb.send(Buffer.from('two'));
  mux.uncork();
  await waitFor(() => got.length === 2, 'both messages of the batch');
  assert.deepEqual(got, ['one', 'two']);
  const batch = toA.find((f) => f[0] === 0 && f[1] === 0)!;
  assert.equal(batch.toString('hex'), '0000' + '01' + '05' + '0303' + Buffer.from('one').toString('hex') + '05' + '0303' + Buffer.from('two').toString('hex'));
  ca.destroy('done');
  cb.destroy('done');
});

test('§4.1: bool, fixed64 and optionalBuffer as compact-encoding writes them', () => {
  assert.equal(c.encode(c.bool, true).toString('hex'), '01');
  assert.equal(c.encode(c.bool, false).toString('hex'), '00');
  const sig = Buffer.alloc(64, 0xcd);
  assert.deepEqual(c.encode(c.fixed64, sig), sig, 'fixed64: 64 raw bytes, no length');
  assert.equal(c.encode(c.optionalBuffer, null).toString('hex'), '00', 'optionalBuffer(null): a zero length');
  assert.equal(c.encode(c.optionalBuffer, Buffer.from('ab')).toString('hex'), '026162', 'otherwise as buffer');
});

test('§5: an upper-case colour is malformed; a name is counted in code points (64), not UTF-16 units', () => {
  const enc = (name: string, colour: string) => c.encode(helloEncoding, { name, colour });
  assert.throws(() => c.decode(helloEncoding, enc('Ann', '#E6194B')), /colour/);
  assert.throws(() => c.decode(helloEncoding, enc('Ann', '#e6194')), /colour/);
  const emoji = '😀'.repeat(64); // 64 code points, 128 UTF-16 units
  assert.equal(emoji.length, 128);
  assert.equal(c.decode(helloEncoding, enc(emoji, '#e6194b')).name, emoji);
  assert.throws(() => c.decode(helloEncoding, enc(emoji + 'x', '#e6194b')), /longer than 64/);
});
