/**
 * The session call over real hyperswarm on a loopback testnet, with a real browser (Chromium, its
 * fake microphone playing a generated tone through the browser's own audio processing) speaking into
 * the call page, and a headless member recording what it hears as Ogg Opus — then decoded by the
 * browser to check that the tone came through (issue 19). Also: the page link works once, and
 * nothing else on the machine can attach to the call.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { createSessionCode } from '../../src/session';
import { SessionCall, type VoiceFrame } from '../../src/session/voice/call';
import { OggOpusWriter } from '../../src/session/voice/ogg';
import { CallPage } from '../../src/session/voice/page-server';
import { waitFor } from '../helpers/testnet';
import { useSessions } from '../helpers/sessions';
import { fakeMicrophoneArgs, listen, TONE_HZ, writeToneWav } from '../helpers/tone';

const env = useSessions();
const CHROMIUM = process.env.HYPERPAIR_CHROMIUM ?? '/usr/bin/chromium';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperpair-voice-'));
let browser: Browser;

before(async () => {
  const wav = path.join(dir, 'tone.wav');
  writeToneWav(wav);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: fakeMicrophoneArgs(wav) });
});

after(async () => {
  await browser?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function call(s: ReturnType<typeof env.session>): SessionCall {
  const c = new SessionCall(s);
  env.closeLater(() => c.close());
  return c;
}

/** Ada and Bob in one session, each with the call (not yet joined). */
async function adaAndBob(): Promise<{ ca: SessionCall; cb: SessionCall }> {
  const code = createSessionCode();
  const a = env.session(code, 'Ada');
  const b = env.session(code, 'Bob');
  const pair = { ca: call(a), cb: call(b) };
  await waitFor(() => a.peers().length === 1 && b.peers().length === 1, 'Ada and Bob to meet');
  return pair;
}

test('what one member says through the call page is heard, as the tone it was, by a headless member recording it', { timeout: 180_000 }, async () => {
  const { ca, cb } = await adaAndBob();
  const file = path.join(dir, 'heard.ogg');
  const ogg = new OggOpusWriter(file);
  const frames: VoiceFrame[] = [];
  cb.on('frame', (_peer, f) => {
    frames.push(f);
    ogg.write(f.data);
  });
  cb.join();
  cb.setMuted(true); // a listener
  ca.join();
  await waitFor(() => ca.members().length === 1 && cb.members().length === 1, 'each to see the other in the call');
  assert.equal(ca.members()[0].muted, true, 'Ada sees that Bob is muted');

  const page = new CallPage(ca);
  await page.ready();
  env.closeLater(() => page.close());
  const tab = await browser.newPage();
  await tab.goto(page.link());
  await waitFor(() => frames.length >= 150, 'three seconds of Ada\'s voice to reach Bob', 60_000).catch(async (err: Error) => {
    throw new Error(`${err.message}; the page says: ${await tab.locator('body').innerText().catch(() => '?')}`);
  });
  // Bob's own call page plays what Ada says (decoded, scheduled on time, mixed by WebAudio).
  const pageB = new CallPage(cb);
  await pageB.ready();
  env.closeLater(() => pageB.close());
  const tabB = await browser.newPage();
  await tabB.goto(pageB.link());
  await waitFor(async () => Number(await tabB.evaluate('window.hyperpairStats.played')) > 50, 'Bob\'s page to play one second of Ada', 60_000).catch(async (err: Error) => {
    throw new Error(`${err.message}: ${String(await tabB.evaluate('JSON.stringify({ ...window.hyperpairStats, latencies: undefined })'))} ${await tabB.locator('body').innerText()}`);
  });
  await tabB.close();
  ogg.close();
  const pageStats = await tab.evaluate('JSON.stringify({ up: hyperpairStats.up, upFailed: hyperpairStats.upFailed, upDropped: hyperpairStats.upDropped })');
  console.log(`# page ${String(pageStats)}, call sent ${ca.sent} dropped ${ca.dropped}, heard ${frames.length}`);
  await tab.close();

  // Frames are 20 ms apart on the speaker's clock and in order.
  const gaps = frames.slice(1).map((f, i) => f.time - frames[i].time);
  assert.ok(gaps.every((g) => g > 0), `frames in order: ${gaps.join(' ')}`);
  // A frame is dropped only when it is 300 ms old before it leaves the page (a loaded machine).
  assert.ok(gaps.filter((g) => Math.abs(g - 20) <= 2).length > gaps.length * 0.8, `frames 20 ms apart: ${gaps.join(' ')}`);
  assert.ok(frames.some((f) => f.level > 0), 'levels are reported');

  // The browser decodes the recording: the tone is there.
  const decoder = await browser.newPage();
  const heard = await listen(decoder, file);
  await decoder.close();
  assert.ok(heard.seconds >= 2.5, `the recording lasts ${heard.seconds} s`);
  assert.ok(heard.loudWindows >= 30, `sound in ${heard.loudWindows} windows of 20 ms`);
  assert.ok(Math.abs(heard.median - TONE_HZ) < 40, `the tone heard at ${heard.median} Hz (said at ${TONE_HZ} Hz)`);
});

test('the call page link works once, and nothing without its token or on another host name gets in', async () => {
  const code = createSessionCode();
  const a = env.session(code, 'Ada');
  const ca = call(a);
  const page = new CallPage(ca);
  await page.ready();
  env.closeLater(() => page.close());
  const link = page.link();
  const first = await fetch(link);
  assert.equal(first.status, 200);
  const html = await first.text();
  assert.match(html, /Hyperpair call/);
  assert.equal((await fetch(link)).status, 200, 'loaded twice (browsers and proxies do) before a page attaches: still good');
  const token = /let TOKEN = "([0-9a-f]+)"/.exec(html)?.[1] ?? '';
  const origin = new URL(link).origin;
  const attached = await fetch(`${origin}/c/down`, { headers: { 'x-hyperpair-token': token } });
  assert.equal(attached.status, 200, 'the page attaches with its token');
  const again = await fetch(link);
  assert.equal(again.status, 403, 'once a page attached, the link is spent');
  assert.match(await again.text(), /already used/);
  await attached.body?.cancel();
  assert.equal((await fetch(`${origin}/c/down`)).status, 403, 'no token, no audio');
  assert.equal((await fetch(`${origin}/c/up`, { method: 'POST', body: 'x', headers: { 'x-hyperpair-token': 'f'.repeat(48) } })).status, 403, 'a wrong token is refused');
  // fetch() will not send another Host header: a plain request does, as a rebound DNS name would.
  const status = await new Promise<number | undefined>((resolve, reject) =>
    http.get({ host: '127.0.0.1', port: Number(new URL(link).port), path: '/c/' + '0'.repeat(48), headers: { host: 'evil.example:80' } }, (res) => resolve(res.resume().statusCode)).on('error', reject),
  );
  assert.equal(status, 421, 'another host name (DNS rebinding) is refused');
});

test('frames go only to members in the call, and not while muted or out of it', async () => {
  const { ca, cb } = await adaAndBob();
  let heard = 0;
  cb.on('frame', () => heard++);
  const frame = { time: 1, level: 10, data: new Uint8Array([0xf8, 0xff, 0xfe]) };
  ca.join();
  assert.equal(ca.send(frame), true);
  assert.equal(ca.sent, 0, 'Bob is not in the call: nothing sent');
  cb.join();
  await waitFor(() => ca.members().length === 1, 'Ada to see Bob join');
  ca.setMuted(true);
  ca.send(frame);
  ca.setMuted(false);
  ca.send(frame);
  await waitFor(() => heard === 1, 'Bob to hear the one unmuted frame');
  cb.leave();
  await waitFor(() => ca.members().length === 0, 'Ada to see Bob leave');
  ca.send(frame);
  assert.equal(ca.sent, 1);
});
