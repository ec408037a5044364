/**
 * Shared terminals in two real VS Code instances: Alice shares a terminal (a real shell in VS Code's
 * own node-pty) and types into it with the keyboard; Bob sees the output in his own VS Code terminal,
 * cannot type until Alice allows him, then types a command with the keyboard whose output both see,
 * and both see who typed; when Alice stops sharing, Bob's terminal says so.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { ARTIFACTS, sessionPairSuite, until, type Editor } from './fixture';

const { pair, editorTest } = sessionPairSuite({ 'README.md': 'a shared terminal\n' });

interface View {
  key: string;
  name: string;
  mine: boolean;
  canType: boolean;
  shown: string;
  closed: boolean;
}

async function view(e: Editor, key: string): Promise<View | undefined> {
  return (await e.testApi<View[]>('terminals')).find((v) => v.key === key);
}

async function shows(e: Editor, key: string, text: string): Promise<void> {
  await until(async () => (await view(e, key))?.shown.includes(text) ?? false, `${e.options.name}'s terminal to show ${text}`, 30_000);
}

/** Shows the terminal and waits until the keyboard is in it, so that typing reaches it. */
async function focusTerminal(e: Editor, key: string): Promise<void> {
  await e.command('hyperpair.showSharedTerminal', key);
  await until(() => e.page.evaluate<boolean>(`!!document.activeElement?.closest('.xterm')`), `${e.options.name}'s keyboard in the terminal`, 15_000);
}

editorTest('Alice shares a terminal; Bob sees its output, cannot type until allowed, then runs a command both see', async () => {
  const { a, b } = pair();
  const bobId = (await a.testApi<Array<{ id: string }>>('peers'))[0].id;
  const key = await a.command<string>('hyperpair.shareTerminal');
  assert.ok(key, 'the command returns the shared terminal');
  await until(async () => !!(await view(b, key)), 'Bob to get a VS Code terminal for it', 30_000);

  // Typed once the shell shows its prompt (typed ahead, the tty would echo it before the prompt).
  await until(async () => /[#$%>] ?$/.test((await view(a, key))?.shown.trimEnd() ?? ''), 'the shell\'s prompt', 30_000);
  await focusTerminal(a, key);
  await a.type('echo alice-$[6*7]\n'); // no shifted keys: the headless browser's Shift+0 sometimes reaches the terminal twice
  await shows(a, key, 'alice-42');
  await shows(b, key, 'alice-42');
  const before = (await view(b, key))!;
  assert.equal(before.canType, false);
  assert.match(before.name, /^Alice's .* \(read-only\)/);

  // Bob types while read-only: nothing reaches Alice's shell.
  await focusTerminal(b, key);
  await b.type('echo bob-$((2*3))\n');

  await a.command('hyperpair.allowTerminalTyping', { id: bobId }, key);
  await until(async () => (await view(b, key))?.canType === true, 'Bob to be allowed to type');
  assert.match((await view(b, key))!.name, /\(you may type\)/);
  await focusTerminal(b, key);
  await b.type('echo bob-$((2*21))\n');
  await shows(a, key, 'bob-42');
  await shows(b, key, 'bob-42');
  assert.ok(!(await view(a, key))!.shown.includes('bob-6'), 'what Bob typed while read-only never ran');
  await until(async () => /Bob typed/.test((await view(a, key))?.name ?? ''), 'Alice\'s terminal to say that Bob typed');
  const dir = path.join(ARTIFACTS, 'terminal');
  await a.screenshot(dir, 'alice-shared-terminal');
  await b.screenshot(dir, 'bob-shared-terminal');
  // `HYPERPAIR_SCREENSHOTS=docs/screenshots`: the README's picture of a shared terminal.
  if (process.env.HYPERPAIR_SCREENSHOTS) await b.screenshot(path.resolve(process.env.HYPERPAIR_SCREENSHOTS), 'shared-terminal');

  await a.command('hyperpair.revokeTerminalTyping', { id: bobId }, key);
  await until(async () => (await view(b, key))?.canType === false, 'Bob read-only again');

  await a.command('hyperpair.stopSharingTerminal', key);
  await until(async () => (await view(b, key))?.closed === true, 'Bob to see the terminal closed');
  assert.match((await view(b, key))!.shown, /terminal closed: Alice: stopped sharing/);
}, 240_000);
