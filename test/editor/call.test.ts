/**
 * The call in two real VS Code windows (issue 19): each person joins through the command palette,
 * the call page opens in their browser (whose fake microphone plays a tone), each page plays what the
 * other says, the status bar counts who is in, mute and leave reach the other side, and a headless
 * member recording the call hears the tone each of them said. The participants view shows who is in
 * the call and who is speaking.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { spawnCli } from '../helpers/cli';
import { listen, TONE_HZ } from '../helpers/tone';
import { sessionPairSuite, until, type Editor } from './fixture';

const suite = sessionPairSuite({ 'a.txt': 'hello\n' });

type CallState = { inCall: boolean; muted: boolean; members: Array<{ name: string; muted: boolean; speaking: boolean }> };
type Row = { person: string; call?: { muted: boolean; speaking: boolean; level: number } };

/** `who`'s row in `e`'s participants view, once `check` holds for it. */
async function callRow(e: Editor, who: string, check: (r: Row) => boolean, what: string): Promise<Row> {
  let row: Row | undefined;
  await until(async () => {
    row = (await e.testApi<Row[]>('participants')).find((r) => r.person === who);
    return !!row && check(row);
  }, `${what} (the row: ${JSON.stringify(row)})`, 30_000);
  return row!;
}

async function joinCall(e: Editor): Promise<Page> {
  const opened = e.context.waitForEvent('page', { timeout: 60_000 });
  await e.palette('Hyperpair: Join Call');
  const page = await opened;
  await page.waitForLoadState();
  await page
    .locator('#status', { hasText: 'In the call.' })
    .waitFor({ timeout: 60_000 })
    .catch(async (err: Error) => {
      throw new Error(`${err.message}\nthe page at ${page.url()} says: ${await page.locator('body').innerText().catch(() => '?')}`);
    });
  return page;
}

/** What a call page says and counts (for failure messages). */
const pageState = async (p: Page): Promise<string> =>
  String(await p.evaluate('JSON.stringify({ ...window.hyperpairStats, latencies: window.hyperpairStats.latencies.slice(-3), status: document.getElementById("status").textContent, hidden: document.hidden, ctx: typeof ctx === "undefined" ? "?" : ctx.state })').catch((e: Error) => e.message));

const played = async (p: Page): Promise<number> => Number(await p.evaluate('window.hyperpairStats.played'));

suite.editorTest('both join the call from the palette, hear each other, see mute and leave; a headless member records both voices', async () => {
  const { a, b, network } = suite.pair();
  const pageA = await joinCall(a);
  const pageB = await joinCall(b);
  await until(async () => (await a.testApi<CallState>('call')).members.some((m) => m.name === 'Bob'), 'Alice to see Bob in the call', 60_000);
  await a.page.locator('.statusbar-item', { hasText: 'Call: 2' }).waitFor({ timeout: 30_000 });
  // Each page plays the other's voice: two seconds of frames scheduled on time (late ones are dropped).
  await until(async () => (await played(pageA)) > 100 && (await played(pageB)) > 100, 'each page to play 2 s of the other', 60_000).catch(async (err: Error) => {
    throw new Error(`${err.message}: A's page ${await pageState(pageA)}, B's page ${await pageState(pageB)}, A ${JSON.stringify(await a.testApi('call'))}, B ${JSON.stringify(await b.testApi('call'))}`);
  });

  // Who speaks, in the participants view: from the level each speaker's page measures. Each sees the
  // other speaking (the fake microphone's tone bursts) and itself in the call.
  // Through code-server's port forwarding, frames come down one stream, not long polls (the page falls
  // back to those only when a proxy holds the stream back).
  assert.deepEqual([await pageA.evaluate('hyperpairStats.down'), await pageB.evaluate('hyperpairStats.down')], ['stream', 'stream']);
  await callRow(a, 'Bob', (r) => r.call?.speaking === true, 'Alice to see Bob speaking in her participants view');
  await callRow(b, 'Alice', (r) => r.call?.speaking === true, 'Bob to see Alice speaking in his participants view');
  await callRow(a, 'Alice', (r) => r.call !== undefined, 'Alice to see herself in the call');
  await a.agent('executeCommand', 'workbench.view.explorer');
  await a.agent('executeCommand', 'hyperpair.participants.focus');
  const view = a.page.locator('.pane', { has: a.page.locator('.pane-header', { hasText: /Participants/i }) });
  await view.locator('.monaco-list-row', { hasText: 'Bob' }).filter({ hasText: /speaking [▂▄▆█]+/ }).first().waitFor({ state: 'visible', timeout: 30_000 });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperpair-call-'));
  const file = path.join(dir, 'call.ogg');
  const code = await a.testApi<string>('sessionCode');
  const started = Date.now();
  const recorder = spawnCli(['join', code, path.join(dir, 'files'), '--name', 'Rec', '--record-call', file, '--bootstrap', network.bootstrapSpec, '--host', '127.0.0.1', '--no-lan', '--log-level', 'debug'], []);
  try {
    await until(() => recorder.events.filter((e) => e.event === 'call-recording').length === 2, 'the recorder to hear Alice and Bob', 90_000).catch(async (err: Error) => {
      throw new Error(`${err.message}: its events ${JSON.stringify(recorder.events)}, A ${JSON.stringify(await a.testApi('call'))}, B ${JSON.stringify(await b.testApi('call'))}, A's page ${await pageState(pageA)}, B's page ${await pageState(pageB)}\n${recorder.stderr().slice(-6000)}`);
    });
    console.log(`# the recorder heard both ${((Date.now() - started) / 1000).toFixed(1)} s after it started: ${recorder.events.map((e) => e.event).join(' ')}`);
    const files = recorder.events.filter((e) => e.event === 'call-recording').map((e) => String(e.file));
    await until(() => files.every((f) => fs.existsSync(f) && fs.statSync(f).size > 150 * 40), '3 s of each voice recorded', 60_000);
    recorder.child.kill('SIGINT');
    await recorder.exit;
    for (const f of files) {
      const heard = await listen(pageA, f);
      assert.ok(heard.loudWindows >= 30 && Math.abs(heard.median - TONE_HZ) < 40, `${path.basename(f)}: the tone heard (${JSON.stringify(heard)})`);
    }
  } finally {
    if (recorder.child.exitCode === null) recorder.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }

  await a.palette('Hyperpair: Mute or Unmute in the Call');
  await until(async () => (await b.testApi<CallState>('call')).members.find((m) => m.name === 'Alice')?.muted === true, 'Bob to see Alice muted', 30_000);
  await callRow(b, 'Alice', (r) => r.call?.muted === true && !r.call.speaking, 'Bob\'s participants view to show Alice muted, not speaking');
  await a.page.locator('.statusbar-item', { hasText: 'Call: 2' }).locator('.codicon-mute').waitFor({ timeout: 30_000 });
  await b.palette('Hyperpair: Leave Call');
  await until(async () => (await a.testApi<CallState>('call')).members.length === 0, 'Alice to see Bob leave the call', 30_000);
  await callRow(a, 'Bob', (r) => r.call === undefined, 'Alice\'s participants view to show Bob out of the call');
  assert.equal((await b.testApi<CallState>('call')).inCall, false);
  await pageA.close();
  await pageB.close();
}, 300_000);
