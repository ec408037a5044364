/**
 * The product as a person meets it, in two real VS Code instances: Alice starts an "ask me" session;
 * Bob mistypes the code, then joins with the right one and waits to be let in; Alice admits him
 * read-only from the notification and denies a stranger; both see the Participants view; Bob follows
 * Alice from file to file; Bob cannot change text; both leave.
 */
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AdmissionDeniedError, startPeer } from '../../src/app/peer';
import { editorTest as fixtureTest, startPair, until, type Pair } from './fixture';
import { tempDir } from '../helpers/tree';

let pair: Pair;
let code = '';

before(async () => {
  pair = await startPair(
    {
      'README.md': '# Shared project\n',
      'src/one.ts': 'export const one = 1;\n',
      'src/two.ts': 'export const two = 2;\n',
    },
    { a: { 'hyperpair.admission': 'ask' } },
  );
  await until(() => pair.a.agent<boolean>('extensionActive'), 'A active', 60_000);
  await until(() => pair.b.agent<boolean>('extensionActive'), 'B active', 60_000);
}, { timeout: 300_000 });

after(async () => {
  await pair?.stop();
});

const editorTest = (name: string, fn: () => Promise<void>, timeout?: number) => fixtureTest(() => pair, name, fn, timeout);

/**
 * README's screenshots are of this run: with HYPERPAIR_SCREENSHOTS=docs/screenshots, key moments are
 * saved there (`npm run screenshots`).
 */
async function shot(e: Pair['a'], name: string, focus?: WalkthroughFocus): Promise<void> {
  const dir = process.env.HYPERPAIR_SCREENSHOTS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  await e.page.waitForTimeout(800); // let toasts finish fading in, presence settle
  await e.page.screenshot({ path: path.join(dir, `${name}.png`) });
  // The walkthrough shows its pictures at about half the window's width: only the part that
  // matters, at full size, stays readable there (issue 16, item 6).
  if (focus) await e.page.screenshot({ path: path.join(WALKTHROUGH_MEDIA, `${name}.png`), clip: focus });
}

type WalkthroughFocus = { x: number; y: number; width: number; height: number };
const WALKTHROUGH_MEDIA = path.resolve(__dirname, '../../../media/walkthrough');
/** The regions of the 1400×900 window each walkthrough picture keeps. */
const FOCUS: Record<string, WalkthroughFocus> = {
  'join-mistyped-code': { x: 380, y: 0, width: 640, height: 110 },
  'admission-request': { x: 880, y: 650, width: 520, height: 250 },
  'participants-and-cursor': { x: 0, y: 30, width: 700, height: 870 },
};

/** Clicks a button of the notification whose text matches. */
async function clickNotification(editor: Pair['a'], text: RegExp, button: string): Promise<void> {
  const toast = editor.page.locator('.notification-toast', { hasText: text }).first();
  const shown = await toast.waitFor({ state: 'visible', timeout: 30_000 }).then(() => true, () => false);
  if (shown) return toast.getByRole('button', { name: button, exact: true }).click();
  // VS Code sometimes files a notification in its notification center without a toast (a fresh run
  // saw no toast for Mallory's request, logged as received): a person opens the bell and answers there.
  await editor.agent('executeCommand', 'notifications.showList');
  const listed = editor.page.locator('.notifications-center .monaco-list-row', { hasText: text }).first();
  await listed.waitFor({ state: 'visible', timeout: 15_000 });
  await listed.getByRole('button', { name: button, exact: true }).click();
}

editorTest('Alice starts an "ask me" session; Bob\'s mistyped code is refused in the input box at once', async () => {
  await pair.a.palette('Hyperpair: Start Session');
  await until(async () => (await pair.a.testApi<string | null>('sessionCode')) !== null, 'a session code', 60_000);
  code = (await pair.a.testApi<string>('sessionCode'))!;

  await pair.b.palette('Hyperpair: Join Session');
  const input = pair.b.page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  // One character changed: the checksum catches it while typing, before any network wait.
  const typo = code.slice(0, 3) + (code[3] === 'X' ? 'Y' : 'X') + code.slice(4);
  await input.fill(typo);
  const message = pair.b.page.locator('.quick-input-message');
  await until(async () => /typo — check the code/.test((await message.textContent()) ?? ''), 'the typo message', 10_000);
  await shot(pair.b, 'join-mistyped-code', FOCUS['join-mistyped-code']);
  await pair.b.page.keyboard.press('Enter'); // refused: the box stays open
  assert.ok(await input.isVisible(), 'a mistyped code is not accepted');
  assert.equal(await pair.b.testApi('state'), 'idle');
});

editorTest('with the right code Bob waits to be let in; Alice admits him read-only from the notification', async () => {
  assert.ok(code, 'needs the session of the previous test');
  const input = pair.b.page.locator('.quick-input-widget input');
  await input.fill(code);
  await pair.b.page.keyboard.press('Enter');
  const here = pair.b.page.locator('.quick-input-list .monaco-list-row', { hasText: 'This empty folder' });
  await here.waitFor({ state: 'visible', timeout: 20_000 });
  await here.click();
  // Bob sees the progress notification say he is waiting for Alice.
  await pair.b.page.getByText(/waiting to be let in/).first().waitFor({ state: 'visible', timeout: 60_000 });
  assert.equal(await pair.a.testApi('state'), 'alone', 'nobody is in before Alice answers');
  await pair.a.page.locator('.notification-toast', { hasText: /Bob wants to join/ }).first().waitFor({ state: 'visible', timeout: 60_000 });
  await shot(pair.a, 'admission-request', FOCUS['admission-request']);
  await clickNotification(pair.a, /Bob wants to join your session/, 'Admit Read-Only');
  await until(async () => (await pair.b.testApi<string>('state')) === 'connected', 'B to connect', 90_000);
  await until(async () => (await pair.b.agent<string[]>('files')).length === 3, 'B has the files', 30_000);
  assert.equal(await pair.b.testApi('readOnly'), true);
  const peersOfA = await pair.a.testApi<Array<{ name: string; readOnly: boolean }>>('peers');
  assert.deepEqual(peersOfA, [{ ...peersOfA[0], name: 'Bob', readOnly: true }]);
  await pair.b.page.getByText(/Hyperpair: 2 people \(read-only\)/).first().waitFor({ state: 'visible', timeout: 20_000 });
  // The first arrivals of a session pop up (hyperpair.peerNotifications: first-few).
  await pair.a.page.locator('.notification-toast', { hasText: /Bob joined the session/ }).first().waitFor({ state: 'visible', timeout: 20_000 });
});

editorTest('a stranger with the code is denied from Alice\'s notification, and is told so', async () => {
  // VS Code shows at most three toasts; clear the earlier ones, as a person would.
  await pair.a.agent('executeCommand', 'notifications.clearAll');
  const dir = path.join(tempDir('hyperpair-stranger-'), 'joined');
  // Mallory's join waits for an answer as long as it takes: if none comes, the test stops it, or her
  // swarm would keep this file's process running until the suite's time limit.
  const stop = new AbortController();
  const joining = startPeer({
    mode: 'join',
    code,
    dir,
    name: 'Mallory',
    network: pair.network.network,
    signal: stop.signal,
  });
  // Expect the denial before clicking: it can arrive before the click returns, and a rejection
  // nobody listens to yet fails the test run.
  const denied = assert.rejects(joining, (err: Error) => err instanceof AdmissionDeniedError && /Alice denied your request/.test(err.message));
  try {
    await clickNotification(pair.a, /Mallory wants to join your session/, 'Deny');
  } catch (err) {
    stop.abort();
    await joining.catch(() => undefined);
    throw err;
  }
  await denied;
  assert.ok(!fs.existsSync(path.join(dir, 'README.md')), 'nothing was shared with Mallory');
  const names = (await pair.a.testApi<Array<{ name: string }>>('peers')).map((p) => p.name);
  assert.deepEqual(names, ['Bob']);
});

editorTest('the Participants view lists both people in both editors', async () => {
  for (const e of [pair.a, pair.b]) {
    await e.agent('executeCommand', 'workbench.view.explorer');
    await e.agent('executeCommand', 'hyperpair.participants.focus');
    const view = e.page.locator('.pane', { has: e.page.locator('.pane-header', { hasText: /Participants/i }) });
    for (const name of ['Alice', 'Bob']) {
      await view.locator('.monaco-list-row', { hasText: name }).first().waitFor({ state: 'visible', timeout: 30_000 });
    }
  }
  await pair.a.page.locator('.monaco-list-row', { hasText: 'Bob (read-only)' }).first().waitFor({ state: 'visible', timeout: 30_000 });
  await pair.b.page.locator('.monaco-list-row', { hasText: 'Bob (you, read-only)' }).first().waitFor({ state: 'visible', timeout: 30_000 });
  await pair.a.agent('openFile', 'src/one.ts');
  await pair.b.agent('openFile', 'src/one.ts');
  await pair.a.agent('setSelection', 'src/one.ts', 7, 12);
  await until(async () => (await pair.b.decorations('src/one.ts')).length > 0, 'Alice\'s cursor in B', 20_000);
  await shot(pair.b, 'participants-and-cursor', FOCUS['participants-and-cursor']);
});

editorTest('Bob follows Alice: his editor opens each file she switches to', async () => {
  await pair.a.agent('openFile', 'src/one.ts');
  await pair.b.palette('Hyperpair: Follow Participant');
  const alice = pair.b.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Alice' }).first();
  await alice.waitFor({ state: 'visible', timeout: 20_000 });
  await alice.click();
  await until(async () => (await pair.b.agent<string | null>('activeFile')) === 'src/one.ts', 'B to open src/one.ts', 30_000);
  await pair.a.agent('openFile', 'src/two.ts');
  await until(async () => (await pair.b.agent<string | null>('activeFile')) === 'src/two.ts', 'B to follow to src/two.ts', 30_000);
  await pair.a.agent('openFile', 'README.md');
  await until(async () => (await pair.b.agent<string | null>('activeFile')) === 'README.md', 'B to follow to README.md', 30_000);
  assert.notEqual(await pair.b.testApi('following'), null);
  await pair.b.palette('Hyperpair: Stop Following');
  await until(async () => (await pair.b.testApi('following')) === null, 'following to stop', 10_000);
});

editorTest('Bob, a read-only guest, cannot change the text; Alice\'s edits still reach him', async () => {
  await pair.b.agent('openFile', 'README.md');
  await pair.a.agent('openFile', 'README.md');
  await pair.b.caretAt(0, 2);
  await pair.b.type('HACKED ');
  await pair.a.insert('README.md', 0, 'Alice: ');
  const expected = 'Alice: # Shared project\n';
  await until(async () => (await pair.b.text('README.md')) === expected, 'A\'s edit in B, and none of B\'s keystrokes', 30_000);
  await new Promise((r) => setTimeout(r, 1000)); // B's keystrokes have had time to travel
  assert.equal(await pair.a.text('README.md'), expected);
  assert.equal(await pair.b.text('README.md'), expected);
});

editorTest('leaving in both editors: Bob leaves, Alice sees it; then Alice leaves', async () => {
  await pair.b.palette('Hyperpair: Leave Session');
  await until(async () => (await pair.b.testApi<string>('state')) === 'idle', 'B idle', 30_000);
  await until(async () => (await pair.a.testApi<unknown[]>('peers')).length === 0, 'A to see B leave', 30_000);
  await pair.a.page.getByText(/Bob left the session/).first().waitFor({ state: 'visible', timeout: 30_000 });
  await pair.a.palette('Hyperpair: Leave Session');
  await until(async () => (await pair.a.testApi<string>('state')) === 'idle', 'A idle', 30_000);
});

editorTest('the Get Started walkthrough shows its steps, with their screenshots and pages', async () => {
  await pair.a.agent('executeCommand', 'workbench.action.openWalkthrough', 'hyperpair.hyperpair#getStarted', false);
  const page = pair.a.page;
  await page.getByText('Get started with Hyperpair').first().waitFor({ state: 'visible', timeout: 30_000 });
  for (const step of ['Start a session', 'Join with a code', 'Choose who gets in', 'Follow someone', 'When people cannot connect', 'Leave, and trust']) {
    await page.getByText(step, { exact: true }).first().waitFor({ state: 'visible', timeout: 10_000 });
  }
  // The first step's media: the focused crop of README's screenshot (media/walkthrough), shipped with the extension.
  await page.locator('.getting-started-media img[alt*="Participants view"]').first().waitFor({ state: 'visible', timeout: 20_000 });
  await page.getByText('Follow someone', { exact: true }).first().click();
  // A markdown page renders in a webview (nested frames): look for its text in every frame.
  const pageShows = async (text: string) => {
    for (const f of page.frames()) if ((await f.getByText(text).count().catch(() => 0)) > 0) return true;
    return false;
  };
  await until(() => pageShows('Hyperpair: Stop Following'), 'the Follow step page', 20_000);
  await shot(pair.a, 'walkthrough');
});
