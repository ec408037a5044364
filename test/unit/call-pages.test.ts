/**
 * More than one call page for one person (issue 19): a second tab, a page from a newer link, a reload.
 * The newest page has the microphone; the one before is told, stops its microphone and sound, and can
 * take the call back; a reload of the call's tab takes it back by itself; leaving ends every page.
 * Real Chromium with its fake microphone, real sessions on a loopback testnet; what the other member
 * hears shows that only one page speaks at a time (frames 20 ms apart on one clock, never two
 * pages' frames interleaved).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { VoiceFrame } from '../../src/session/voice/call';
import { CallPage } from '../../src/session/voice/page-server';
import { callPair } from '../helpers/call-pair';
import { waitFor } from '../helpers/testnet';
import { useSessions } from '../helpers/sessions';
import { fakeMicrophoneArgs, writeToneWav } from '../helpers/tone';

const env = useSessions();
const CHROMIUM = process.env.HYPERPAIR_CHROMIUM ?? '/usr/bin/chromium';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperpair-call-pages-'));
let browser: Browser;

before(async () => {
  const wav = path.join(dir, 'tone.wav');
  writeToneWav(wav, 30);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: fakeMicrophoneArgs(wav) });
});

after(async () => {
  await browser?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const state = async (tab: Page): Promise<string> => String(await tab.evaluate('window.hyperpairStats.state'));
/** Whether the page holds a live microphone track (the browser shows it recording). */
const micOn = async (tab: Page): Promise<boolean> => Boolean(await tab.evaluate("media?.getAudioTracks().some((t) => t.readyState === 'live') ?? false"));

/** The next `n` frames Bob hears are one speaker's: in order, 20 ms apart on one capture clock. */
async function onePageSpeaks(frames: VoiceFrame[], n: number, what: string): Promise<void> {
  const from = frames.length;
  await waitFor(() => frames.length >= from + n, `${n} frames ${what}`, 60_000);
  const times = frames.slice(from, from + n).map((f) => f.time);
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  assert.ok(gaps.every((g) => g > 0), `${what}: frames in order, one clock: ${gaps.join(' ')}`);
  assert.ok(gaps.filter((g) => Math.abs(g - 20) <= 2).length > gaps.length * 0.8, `${what}: frames 20 ms apart (two pages would interleave): ${gaps.join(' ')}`);
}

test('the newest call page has the microphone; the one before is told and stops, and can take the call back; a reload takes it back; leaving ends every page', { timeout: 240_000 }, async () => {
  const { ca, cb } = await callPair(env);
  cb.setMuted(true);
  const frames: VoiceFrame[] = [];
  cb.on('frame', (_peer, f) => frames.push(f));
  const page = new CallPage(ca);
  await page.ready();
  env.closeLater(() => page.close());

  const first = await browser.newPage();
  await first.goto(page.link());
  await waitFor(async () => (await state(first)) === 'in-call' && (await micOn(first)), 'the first page in the call with its microphone', 60_000);
  await onePageSpeaks(frames, 50, 'from the first page');

  // Join Call again (a new link) and the page opened from it: the newest page has the call.
  const second = await browser.newPage();
  await second.goto(page.link());
  await waitFor(async () => (await state(first)) === 'replaced', 'the first page to be told that a newer page has the call', 60_000);
  assert.equal(await micOn(first), false, 'the replaced page stopped its microphone');
  assert.match(await first.locator('#status').innerText(), /newer page/);
  assert.equal(await first.locator('#take').isVisible(), true, 'it offers to take the call back');
  await waitFor(async () => (await state(second)) === 'in-call' && (await micOn(second)), 'the second page in the call', 60_000);
  await onePageSpeaks(frames, 50, 'from the second page alone');

  // The first page takes the call back: now the second is told.
  await first.locator('#take').click();
  await waitFor(async () => (await state(second)) === 'replaced' && (await state(first)) === 'in-call', 'the second page replaced by the first again', 60_000);
  assert.equal(await micOn(second), false);
  await onePageSpeaks(frames, 50, 'from the first page, taken back');

  // A reload of the call's tab (its link is spent): it takes the call back with the token its tab kept.
  await second.locator('#take').click();
  await waitFor(async () => (await state(first)) === 'replaced', 'the first page replaced', 60_000);
  await first.reload();
  await waitFor(async () => (await state(first)) === 'in-call' && (await micOn(first)), 'the reloaded tab to take the call back', 60_000);
  await waitFor(async () => (await state(second)) === 'replaced', 'the second page told', 60_000);
  await onePageSpeaks(frames, 50, 'from the reloaded page alone');

  // Another tab with the spent link has no token: it is told so, and takes nothing.
  const stranger = await browser.newPage();
  const spent = await stranger.goto(new URL(first.url()).href);
  assert.equal(spent?.status(), 403);
  await waitFor(async () => (await state(stranger)) === 'spent', 'a new tab with the spent link to be refused', 30_000);
  assert.equal(await state(first), 'in-call', 'the call stays on its page');

  // Leaving the call ends every page: the one in the call stops its microphone.
  page.end();
  await waitFor(async () => (await state(first)) === 'ended', 'the page to be told the call ended', 60_000);
  assert.equal(await micOn(first), false);
  assert.match(await first.locator('#status').innerText(), /ended/);
  for (const tab of [first, second, stranger]) await tab.close();
});
