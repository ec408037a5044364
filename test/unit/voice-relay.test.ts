/**
 * Voices relayed across a missing link (issue 19, docs/PROTOCOL.md §9.7, src/session/voice/relay.ts):
 * in a mesh where Ada's call has no link to a third member, Bob (connected to both) carries Ada's
 * frames to them, each frame once; when the link comes up the third member hears Ada directly and Bob
 * stops carrying; a peer from before relaying ignores the new messages. Real sessions on a loopback
 * testnet; the headless peer's `--record-call` is one of the listeners, and its recording is read
 * back packet by packet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import c from 'compact-encoding';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startPeer, type RunningPeer } from '../../src/app/peer';
import { createSessionCode } from '../../src/session';
import { Session } from '../../src/session/session';
import { SessionCall, VOICE_PROTOCOL, VOICE_VERSION, type VoiceFrame } from '../../src/session/voice/call';
import { MemberChannels, type MemberMuxSource } from '../../src/session/member-channels';
import { chooseRelays, MAX_REACH, reachEncoding, SeenFrames, wantEncoding } from '../../src/session/voice/relay';
import { HiddenLinks } from '../helpers/call-pair';
import { cliTestbed, spawnCli } from '../helpers/cli';
import { waitFor } from '../helpers/testnet';
import { tempDir, writeTree } from '../helpers/tree';

const bed = cliTestbed();

/** A member in the call saying numbered frames every 20 ms (the number in the packet's 4 bytes). */
function talk(source: MemberMuxSource): { call: SessionCall; said: () => number; stop: () => void } {
  const call = new SessionCall(source);
  call.join();
  let n = 0;
  const timer = setInterval(() => {
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, n);
    if (call.send({ time: Date.now(), level: 60, data })) n++;
  }, 20);
  return { call, said: () => n, stop: () => (clearInterval(timer), call.close()) };
}

/** A member in the call, muted, keeping the numbers of what it hears from each speaker. */
function listen(source: MemberMuxSource): { call: SessionCall; heard: Map<string, number[]> } {
  const call = new SessionCall(source);
  call.join();
  call.setMuted(true);
  const heard = new Map<string, number[]>();
  call.on('frame', (peer, f: VoiceFrame) => {
    if (!heard.has(peer.name)) heard.set(peer.name, []);
    heard.get(peer.name)!.push(new DataView(f.data.buffer, f.data.byteOffset).getUint32(0));
  });
  return { call, heard };
}

function duplicates(xs: number[]): number[] {
  const seen = new Set<number>();
  return xs.filter((x) => (seen.has(x) ? true : (seen.add(x), false)));
}

test('a member without a link to the speaker hears them through a member linked to both, each frame once, and directly once the link is up', { timeout: 120_000 }, async () => {
  const code = createSessionCode();
  const sessions = ['Ada', 'Bob', 'Cy'].map((name) => new Session({ code, name, network: bed.net().network, lan: false }));
  for (const s of sessions) void s.ready().catch(() => {});
  const [a, b, c] = sessions;
  const adaSees = new HiddenLinks(a, (p) => p.name === 'Cy');
  const cySees = new HiddenLinks(c, (p) => p.name === 'Ada');
  const ada = talk(adaSees);
  const bob = listen(b);
  const cy = listen(cySees);
  try {
    await waitFor(() => sessions.every((s) => s.peers().length === 2), 'a full mesh of sessions');
    await waitFor(() => (cy.heard.get('Ada')?.length ?? 0) >= 50, 'Cy to hear a second of Ada through Bob', 60_000);
    const seenByCy = cy.call.members().find((m) => m.peer.name === 'Ada');
    assert.equal(seenByCy?.via?.name, 'Bob', 'Cy sees Ada in the call, heard through Bob');
    assert.deepEqual(ada.call.members().map((m) => [m.peer.name, m.via?.name]), [['Bob', undefined], ['Cy', 'Bob']], 'Ada has no call link to Cy: she sees Cy through Bob');
    assert.ok(bob.call.relayedForOthers > 0, 'Bob carried the frames');
    // Bob is muted and Ada hidden from Cy: every datagram Cy took so far is a relayed frame (voice 2).
    assert.ok(cy.call.receivedAsDatagrams > 0, 'the relayed frames came as datagrams');

    // The link comes up: Cy hears Ada directly, and Bob stops carrying.
    adaSees.show();
    cySees.show();
    await waitFor(() => cy.call.members().some((m) => m.peer.name === 'Ada' && m.via === undefined), 'Cy to hear Ada directly');
    await new Promise((r) => setTimeout(r, 200)); // Cy's withdrawal of its ask reaches Bob
    const carried = bob.call.relayedForOthers;
    const from = ada.said();
    await waitFor(() => ada.said() > from + 50, 'Ada to say another second');
    assert.equal(bob.call.relayedForOthers, carried, 'Bob carries nothing once Cy hears Ada directly');

    ada.stop();
    const said = ada.said();
    await waitFor(() => (cy.heard.get('Ada') ?? []).includes(said - 1), 'Cy to hear Ada\'s last frame');
    const heard = cy.heard.get('Ada')!;
    assert.deepEqual(duplicates(heard), [], 'no frame heard twice, before, during or after the switch');
    // From the first frame Cy heard through Bob to Ada's last, the switch included.
    const first = Math.min(...heard);
    const missing = [...Array(said - first).keys()].map((i) => first + i).filter((n) => !heard.includes(n));
    assert.deepEqual(missing, [], `Cy missed ${missing.length} of Ada's ${said - first} frames since the first it heard: ${missing.join(' ')}`);
    assert.deepEqual(duplicates(bob.heard.get('Ada')!), []);
  } finally {
    ada.stop();
    bob.call.close();
    cy.call.close();
    await Promise.all(sessions.map((s) => s.leave()));
  }
});

/** The Opus packets of an Ogg file, after its two header packets (RFC 7845). */
function oggPackets(file: string): Buffer[] {
  const buf = fs.readFileSync(file);
  const packets: Buffer[] = [];
  let part: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    assert.equal(buf.toString('latin1', at, at + 4), 'OggS', `an Ogg page at ${at}`);
    const segments = buf[at + 26];
    let p = at + 27 + segments;
    for (const len of buf.subarray(at + 27, at + 27 + segments)) {
      part.push(buf.subarray(p, p + len));
      p += len;
      if (len < 255) (packets.push(Buffer.concat(part)), (part = []));
    }
    at = p;
  }
  return packets.slice(2);
}

test('the headless recorder, with no link to the speaker, records the speaker through a member linked to both, each frame once', { timeout: 180_000 }, async () => {
  const dir = tempDir();
  writeTree(dir, { 'a.txt': 'hello\n' });
  const adaPeer: RunningPeer = await startPeer({ mode: 'share', dir, name: 'Ada', network: bed.net().network, lan: false });
  const bobPeer = await startPeer({ mode: 'join', code: adaPeer.code, dir: tempDir() + '/b', name: 'Bob', network: bed.net().network, lan: false });
  const ada = talk(new HiddenLinks(adaPeer.session, (p) => p.name === 'Rec'));
  const bob = listen(bobPeer.session);
  const file = path.join(tempDir(), 'call.ogg');
  const rec = spawnCli(['join', adaPeer.code, tempDir() + '/r', '--name', 'Rec', '--record-call', file, '--bootstrap', bed.net().bootstrapSpec, '--host', '127.0.0.1', '--no-lan'], []);
  bed.track(rec.child);
  try {
    await waitFor(() => rec.events.some((e) => e.event === 'call-recording' && e.name === 'Ada'), 'the recorder to hear Ada', 90_000).catch((err: Error) => {
      throw new Error(`${err.message}: its events ${JSON.stringify(rec.events)}\n${rec.stderr().slice(-3000)}`);
    });
    assert.ok(rec.events.some((e) => e.event === 'call-members' && JSON.stringify(e.names) === '["Ada","Bob"]' && JSON.stringify(e.via) === '{"Ada":"Bob"}'), `it lists Ada in the call, heard through Bob: ${JSON.stringify(rec.events.filter((e) => e.event === 'call-members'))}`);
    assert.deepEqual(ada.call.members().filter((m) => !m.via).map((m) => m.peer.name), ['Bob'], 'Ada has no call link to the recorder');
    const from = ada.said();
    await waitFor(() => ada.said() > from + 100, 'Ada to say two more seconds');
    ada.stop();
    await new Promise((r) => setTimeout(r, 500)); // the last frames through Bob
    rec.child.kill('SIGINT');
    await rec.exit;
    const numbers = oggPackets(file).map((p) => p.readUInt32BE(0));
    assert.deepEqual(duplicates(numbers), [], 'no frame recorded twice');
    assert.ok(numbers.length >= 100, `recorded ${numbers.length} frames of Ada`);
    assert.ok(bob.call.relayedForOthers >= numbers.length, 'all of them carried by Bob');
  } finally {
    ada.stop();
    bob.call.close();
    await bobPeer.close();
    await adaPeer.close();
  }
});

test('the relay for a speaker: one neighbour that hears them, the one chosen before while it still does, else the smallest id; nobody for oneself or a speaker heard directly', () => {
  const [me, a, b, c, x] = ['0', 'a', 'b', 'c', 'x'].map((ch) => ch.repeat(64));
  const entry = (id: string) => ({ id, name: id.slice(0, 3), colour: '#000000', muted: false });
  const neighbours = [
    { id: c, reach: [entry(x), entry(me)] },
    { id: b, reach: [entry(x), entry(a)] },
    { id: a, reach: [entry(b)] },
  ];
  assert.deepEqual([...chooseRelays(me, new Set([a, b, c]), neighbours, new Map())], [[x, b]], 'x through b (the smaller of b and c); a and b heard directly; never oneself');
  assert.deepEqual([...chooseRelays(me, new Set([a, b, c]), neighbours, new Map([[x, c]]))], [[x, c]], 'c kept while it reaches x');
  assert.deepEqual([...chooseRelays(me, new Set([b, c]), neighbours, new Map([[x, c]]))].sort(), [[a, b], [x, c]], 'a, not heard directly yet, through b');
  assert.deepEqual([...chooseRelays(me, new Set([a, b, c, x]), neighbours, new Map([[x, c]]))], [], 'x heard directly: no relay');
});

test('a frame heard twice (directly and relayed) is played once; a speaker that starts counting again is heard again', () => {
  const seen = new SeenFrames();
  assert.deepEqual([1, 2, 2, 3, 1, 5, 4, 4].map((n) => seen.first(n)), [true, true, false, true, false, true, true, false]);
  for (let n = 6; n < 2000; n++) seen.first(n);
  assert.equal(seen.first(3), true, 'seq 3 after 1999: a new call object, not a repeat');
  assert.equal(seen.first(3), false);
});

test('PROTOCOL §9.7 reach and want, byte for byte: keys as 32 bytes, then name, colour and bits; at most 32 entries', () => {
  const id = 'ab'.repeat(32);
  const reach = c.encode(reachEncoding, [{ id, name: 'Ada', colour: '#e06c75', muted: true }]);
  // count 1; key; string "Ada" (length 3); string "#e06c75" (length 7); bits 1 (muted).
  assert.equal(Buffer.from(reach).toString('hex'), '01' + 'ab'.repeat(32) + '03' + Buffer.from('Ada').toString('hex') + '07' + Buffer.from('#e06c75').toString('hex') + '01');
  assert.deepEqual(c.decode(reachEncoding, reach), [{ id, name: 'Ada', colour: '#e06c75', muted: true }]);
  // A name is cleaned as a hello's is; a malformed colour is replaced.
  const odd = c.decode(reachEncoding, c.encode(reachEncoding, [{ id, name: 'A\u0007da', colour: 'red', muted: false }]))[0];
  assert.equal(odd.name, 'Ada');
  assert.match(odd.colour, /^#[0-9a-f]{6}$/);
  assert.equal(Buffer.from(c.encode(wantEncoding, [id])).toString('hex'), '01' + 'ab'.repeat(32));
  const many = Array.from({ length: MAX_REACH + 1 }, () => id);
  assert.throws(() => c.decode(wantEncoding, c.encode(wantEncoding, many)), /max 32/);
});

test('a peer from before relaying (messages 0–1 only) ignores reach, and still hears frames and stays connected', { timeout: 120_000 }, async () => {
  const code = createSessionCode();
  const sessions = ['Ada', 'Old', 'Cy'].map((name) => new Session({ code, name, network: bed.net().network, lan: false }));
  for (const s of sessions) void s.ready().catch(() => {});
  const [a, old, cySession] = sessions;
  const ada = talk(a);
  const cy = listen(cySession);
  // The voice channel as it was before 2026-12-03: `frame` and `state` only.
  let heard = 0;
  let inCall = false;
  const oldCall = new MemberChannels(old, {
    protocol: VOICE_PROTOCOL,
    version: VOICE_VERSION,
    attach: (_peer, channel) => {
      channel.addMessage({ encoding: c.raw, onmessage: () => heard++ });
      const state = channel.addMessage({ encoding: c.uint, onmessage: (bits: number) => (inCall ||= (bits & 1) !== 0) });
      return { opened: () => void state.send(1 | 2), closed: () => {} };
    },
  });
  try {
    await waitFor(() => sessions.every((s) => s.peers().length === 2), 'a full mesh of sessions');
    // Ada hears Cy directly, so what she tells Old is not empty: a `reach` (message 2) goes to it.
    await waitFor(() => ada.call.members().length === 2 && inCall, 'Ada to see Old and Cy in the call');
    const from = heard;
    await waitFor(() => heard > from + 50, 'Old to go on hearing Ada after her reach');
    assert.equal(old.peers().length, 2, 'Old is still connected to both');
    assert.ok(ada.call.members().some((m) => m.peer.name === 'Old' && m.via === undefined));
  } finally {
    ada.stop();
    cy.call.close();
    oldCall.close();
    await Promise.all(sessions.map((s) => s.leave()));
  }
});
