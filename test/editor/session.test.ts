/**
 * Two real VS Code instances in one Hyperpair session, driven as people drive them: the command
 * palette, the input box, the keyboard.
 */
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { editorTest as fixtureTest, startPair, until, type Pair } from './fixture';

let pair: Pair;
let code = '';

before(async () => {
  pair = await startPair({ 'hello.txt': 'Hello from Alice\n', 'src/app.ts': 'export const x = 1;\n' });
}, { timeout: 300_000 });

after(async () => {
  await pair?.stop();
});

const editorTest = (name: string, fn: () => Promise<void>, timeout?: number) => fixtureTest(() => pair, name, fn, timeout);

editorTest('the extension activates in both editors, in a real VS Code', async () => {
  for (const e of [pair.a, pair.b]) {
    await until(() => e.agent<boolean>('extensionActive'), `${e.options.name}: Hyperpair to activate`, 60_000);
    const commands = await e.agent<string[]>('commands');
    assert.ok(commands.includes('hyperpair.startSession') && commands.includes('hyperpair.joinSession'));
    const info = await e.agent<{ version: string }>('ping');
    assert.match(info.version, /^1\.\d+\.\d+/);
    // The bundle's banner marked when its code began to load: activation is measured from there.
    const t = await e.testApi<{ loadMs: number; activateMs: number }>('activationTime');
    assert.ok(t.loadMs > 0 && t.activateMs > 0, `activation time measured: ${JSON.stringify(t)}`);
  }
});

editorTest('Start Session in editor A, from the command palette, produces a session code', async () => {
  await pair.a.palette('Hyperpair: Start Session');
  await until(async () => (await pair.a.testApi<string | null>('sessionCode')) !== null, 'a session code', 60_000);
  code = (await pair.a.testApi<string>('sessionCode'))!;
  assert.match(code, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){5}$/);
  // The person sees it too: the notification shows the code.
  await pair.a.page.getByText(code, { exact: false }).first().waitFor({ timeout: 30_000 });
});

editorTest('Join Session in editor B with that code connects both', async () => {
  assert.ok(code, 'needs the session from the previous test');
  await pair.b.palette('Hyperpair: Join Session');
  const input = pair.b.page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(code.toLowerCase().replace(/-/g, ' ')); // as pasted from a chat, sloppily
  await pair.b.page.keyboard.press('Enter');
  // Where should the workspace go? B has an empty folder open: join into it.
  const here = pair.b.page.locator('.quick-input-list .monaco-list-row', { hasText: 'This empty folder' });
  await here.waitFor({ state: 'visible', timeout: 20_000 });
  await here.click();
  await until(async () => (await pair.b.testApi<string>('state')) === 'connected', 'B to connect', 90_000);
  await until(async () => (await pair.a.testApi<string>('state')) === 'connected', 'A to see B', 30_000);
  const peersOfA = await pair.a.testApi<Array<{ name: string }>>('peers');
  assert.deepEqual(peersOfA.map((p) => p.name), ['Bob']);
});

editorTest('a file of A\'s workspace appears in B\'s, with its content', async () => {
  await until(async () => (await pair.b.diskText('hello.txt')) === 'Hello from Alice\n', 'hello.txt on B\'s disk', 30_000);
  const files = await pair.b.agent<string[]>('files');
  assert.deepEqual(files, ['hello.txt', 'src/app.ts']);
});

editorTest('text typed in A appears in B\'s buffer and on B\'s disk', async () => {
  await pair.b.agent('openFile', 'hello.txt');
  await pair.a.agent('openFile', 'hello.txt');
  await pair.a.caretAt(0, 5);
  await pair.a.type(', typed by Alice');
  const expected = 'Hello, typed by Alice from Alice\n';
  await until(async () => (await pair.a.text('hello.txt')) === expected, 'A\'s own buffer', 20_000);
  await until(async () => (await pair.b.text('hello.txt')) === expected, 'the text in B\'s buffer', 30_000);
  await until(async () => (await pair.b.diskText('hello.txt')) === expected, 'the text on B\'s disk', 30_000);
});
