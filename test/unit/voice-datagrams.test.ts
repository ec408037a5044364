/**
 * Voice frames as datagrams beside the connection's stream (voice protocol 2, docs/PROTOCOL.md §9.7,
 * src/session/voice/datagram.ts): the wire byte for byte and what a receiver refuses; over real
 * hyperswarm connections on a loopback testnet (UDX), frames go as datagrams once both sides have
 * said so and a probe arrived, and reach the listener while everything on the stream is held up;
 * a replayed datagram is taken once; a peer of voice 1, and a path that drops datagrams, get the
 * frames on the channel as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import c from 'compact-encoding';
import type Protomux from 'protomux';
import { createSessionCode } from '../../src/session';
import type { Session } from '../../src/session/session';
import { MemberChannels } from '../../src/session/member-channels';
import { SessionCall, VOICE_PROTOCOL, VOICE_VERSION, type VoiceFrame } from '../../src/session/voice/call';
import { carriesDatagrams, decodeDatagram, encodeDatagram, MAX_DATAGRAM_BYTES, ReplayWindow, versionEncoding, type DatagramStream } from '../../src/session/voice/datagram';
import { callPair } from '../helpers/call-pair';
import { noisePair } from '../helpers/noise-pair';
import { useSessions } from '../helpers/sessions';
import { waitFor } from '../helpers/testnet';

const env = useSessions();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('PROTOCOL §9.7 voice 2, byte for byte: version, and probe, frame and relayed datagrams; anything else is refused', () => {
  // version (message 5): uint 2, then bits (1 = datagrams here, 2 = heard yours).
  assert.equal(hex(c.encode(versionEncoding, { version: 2, datagrams: true, heard: false })), '0201');
  assert.equal(hex(c.encode(versionEncoding, { version: 2, datagrams: true, heard: true })), '0203');
  assert.deepEqual(c.decode(versionEncoding, Buffer.from('0200', 'hex')), { version: 2, datagrams: false, heard: false });
  // probe: kind 1, counter.
  assert.equal(hex(encodeDatagram({ kind: 'probe', n: 1 })), '0101');
  // frame: kind 2, counter 300 (compact uint: fd + 2 bytes LE), seq 7, time 1000 (fd e8 03), level 60, data (length 3).
  const frame: VoiceFrame = { seq: 7, time: 1000, level: 60, data: new Uint8Array([0xf8, 0xff, 0xfe]) };
  const f = encodeDatagram({ kind: 'frame', n: 300, frame });
  assert.equal(hex(f), '02' + 'fd2c01' + '07' + 'fde803' + '3c' + '03f8fffe');
  assert.deepEqual(decodeDatagram(f), { kind: 'frame', n: 300, frame: { ...frame, data: Buffer.from(frame.data) } });
  // relayed: kind 3, counter, the origin's 32-byte key, then the frame's fields.
  const origin = 'ab'.repeat(32);
  const r = encodeDatagram({ kind: 'relayed', n: 2, frame: { origin, ...frame } });
  assert.equal(hex(r), '03' + '02' + origin + '07' + 'fde803' + '3c' + '03f8fffe');
  assert.equal((decodeDatagram(r) as { frame: { origin: string } }).frame.origin, origin);
  // Refused, never thrown: another kind, bytes left over, cut short, a level over 255, too large.
  assert.equal(decodeDatagram(Buffer.from('0901', 'hex')), undefined, 'kind 9 is not voice');
  assert.equal(decodeDatagram(Buffer.concat([f, Buffer.from([0])])), undefined, 'a byte left over');
  assert.equal(decodeDatagram(f.subarray(0, f.byteLength - 1)), undefined, 'cut short');
  assert.equal(decodeDatagram(encodeDatagram({ kind: 'frame', n: 1, frame: { ...frame, level: 256 } })), undefined, 'level 256');
  const big = encodeDatagram({ kind: 'frame', n: 1, frame: { ...frame, data: new Uint8Array(MAX_DATAGRAM_BYTES) } });
  assert.equal(decodeDatagram(big), undefined, `over ${MAX_DATAGRAM_BYTES} bytes`);
  assert.equal(decodeDatagram(new Uint8Array(0)), undefined, 'empty');
});

test('a datagram counter is taken once, and none a window or more behind the newest', () => {
  const w = new ReplayWindow();
  assert.deepEqual([1, 2, 2, 5, 3, 1, 0].map((n) => w.accept(n)), [true, true, false, true, true, false, false]);
  for (let n = 6; n < 2000; n++) w.accept(n);
  assert.equal(w.accept(1999 - ReplayWindow.WINDOW), false, 'a window behind');
  assert.equal(w.accept(3), false, 'far behind is never "a new start": a replay');
  assert.equal(w.accept(2001), true, 'a gap is fine (datagrams get lost)');
  assert.equal(w.accept(2000), true, 'and a late one within the window');
});

test('a stream that is not over UDX (here in memory; a LAN connection is TCP) carries no datagrams', async () => {
  const { a, b } = await noisePair();
  try {
    assert.equal(carriesDatagrams(a as unknown as DatagramStream), false);
  } finally {
    a.destroy();
    b.destroy();
  }
});

/** Ada saying a numbered frame every 20 ms (the number in the packet's 4 bytes) until stopped. */
function speak(call: SessionCall): { said: () => number; stop: () => void } {
  let n = 0;
  const timer = setInterval(() => {
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, n++);
    call.send({ time: Date.now(), level: 60, data });
  }, 20);
  return { said: () => n, stop: () => clearInterval(timer) };
}

const number = (f: VoiceFrame) => new DataView(f.data.buffer, f.data.byteOffset).getUint32(0);

/** The UDX stream under a member connection's secret stream (where its datagrams go out, encrypted). */
const rawOf = (mux: Protomux) => (mux.stream as unknown as { rawStream: { trySend(b: Uint8Array): void } }).rawStream;

/** Ada, with the call, and another member; `each` sees each of Ada's member connections before her call does. */
async function adaAnd(name: string, each?: (mux: Protomux) => void): Promise<{ a: Session; other: Session; ca: SessionCall }> {
  const code = createSessionCode();
  const a = env.session(code, 'Ada');
  const other = env.session(code, name);
  if (each) a.on('member-mux', (_peer, mux) => each(mux));
  const ca = new SessionCall(a);
  env.closeLater(() => ca.close());
  await waitFor(() => a.peers().length === 1 && other.peers().length === 1, `Ada and ${name} to meet`);
  return { a, other, ca };
}

test('once both speak voice 2, frames go as datagrams and reach the listener while everything on the stream is held up; a replayed datagram is taken once', { timeout: 120_000 }, async () => {
  const { a, b, ca, cb } = await callPair(env);
  cb.setMuted(true);
  const heard: number[] = [];
  cb.on('frame', (_p, f) => heard.push(number(f)));
  // The raw (encrypted) datagrams Ada's connection to Bob sends, to play one again below.
  const raw = rawOf(a.memberMux(b.self.id)!);
  const sentRaw: Uint8Array[] = [];
  const trySend = raw.trySend.bind(raw);
  raw.trySend = (bytes) => (sentRaw.push(Buffer.from(bytes)), trySend(bytes));
  const ada = speak(ca);
  try {
    await waitFor(() => ca.sentAsDatagrams > 10 && cb.receivedAsDatagrams > 10, 'frames to go as datagrams');
    assert.equal(ca.dropped, 0);

    // Everything Ada's side puts on the stream now waits (protomux holds it until uncorked): frames
    // that went on the channel would too.
    const mux = a.memberMux(b.self.id)!;
    mux.cork();
    const from = ada.said();
    try {
      await waitFor(() => heard.some((n) => n >= from + 20), 'Bob to hear 20 frames said while the stream is held up', 10_000);
    } finally {
      mux.uncork();
    }

    // A datagram played again (as anyone on the path could) is authentic but not new: refused.
    ada.stop();
    await waitFor(() => cb.receivedAsDatagrams === ca.sentAsDatagrams, 'the last frames to arrive');
    const replayed = sentRaw[sentRaw.length - 1];
    const taken = cb.receivedAsDatagrams;
    for (let i = 0; i < 3; i++) trySend(replayed);
    ca.send({ time: Date.now(), level: 60, data: new Uint8Array([0xff, 0xff, 0xff, 0xff]) });
    await waitFor(() => heard.includes(0xffffffff), 'a fresh frame after the replays');
    assert.equal(cb.receivedAsDatagrams, taken + 1, 'only the fresh frame was taken');
  } finally {
    ada.stop();
  }
});

test('a path that drops datagrams leaves the frames on the channel: the probes are never answered', { timeout: 60_000 }, async () => {
  // Every datagram Ada's side sends is lost on the way, from the connection's first moment.
  const { other: b, ca } = await adaAnd('Bob', (mux) => (rawOf(mux).trySend = () => {}));
  const cb = new SessionCall(b);
  env.closeLater(() => cb.close());
  ca.join();
  cb.join();
  cb.setMuted(true);
  let heard = 0;
  cb.on('frame', () => heard++);
  const ada = speak(ca);
  try {
    await waitFor(() => heard >= 100, 'Bob to hear two seconds of Ada');
    assert.equal(ca.sentAsDatagrams, 0);
    assert.equal(cb.receivedAsDatagrams, 0);
  } finally {
    ada.stop();
  }
});

test('a peer of voice 1 (messages 0–4, no version) gets frames on the channel, never a datagram', { timeout: 60_000 }, async () => {
  const { a, other: old, ca } = await adaAnd('Old');
  let heard = 0;
  const oldCall = new MemberChannels(old, {
    protocol: VOICE_PROTOCOL,
    version: VOICE_VERSION,
    attach: (_peer, channel) => {
      channel.addMessage({ encoding: c.raw, onmessage: () => heard++ });
      const state = channel.addMessage({ encoding: c.uint, onmessage: () => {} });
      return { opened: () => void state.send(1 | 2), closed: () => {} };
    },
  });
  env.closeLater(() => oldCall.close());
  // Old's datagrams, had any come: secret-stream emits them on its stream whether or not anyone listens.
  let datagrams = 0;
  old.memberMux(a.self.id)!.stream.on('message', () => datagrams++);
  ca.join();
  await waitFor(() => ca.members().length === 1, 'Ada to see Old in the call');
  const from = heard;
  const ada = speak(ca);
  await waitFor(() => heard >= from + 50, 'Old to hear a second of Ada').finally(() => ada.stop());
  assert.equal(ca.sentAsDatagrams, 0);
  assert.equal(datagrams, 0, 'not even a probe');
});
