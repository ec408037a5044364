/**
 * Sessions survive a window reload, and you can rejoin into your own folder (issue 11, items 3 and
 * 4), in two real VS Code instances: B reloads its window and is back in the session by itself; B
 * leaves, both edit while apart, and B joins again into the same folder through the command palette:
 * what each did is on both sides, merged, and nothing of either is overwritten (a file B deleted and A
 * changed comes back, and B is told).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { editorTest as fixtureTest, sessionPairSuite, until } from './fixture';

const FILES: Record<string, string> = {
  'both.txt': 'one\ntwo\nthree\nfour\nfive\n',
  'a-only.txt': 'alice\n',
  'b-only.txt': 'bob\n',
};

const suite = sessionPairSuite(FILES);
const editorTest = suite.editorTest;

async function bothHave(rel: string, check: (text: string | null) => boolean, what: string): Promise<void> {
  await until(async () => check(await suite.pair().a.diskText(rel)) && check(await suite.pair().b.diskText(rel)), what, 60_000).catch(async (err: Error) => {
    throw new Error(`${err.message}: A ${JSON.stringify(await suite.pair().a.diskText(rel))}, B ${JSON.stringify(await suite.pair().b.diskText(rel))}`);
  });
}

fixtureTest(suite.pair, 'after B reloads its window, B is back in the session by itself and edits flow both ways', async () => {
  const code = await suite.pair().a.testApi<string>('sessionCode');
  await suite.pair().b.reloadWindow();
  await until(async () => (await suite.pair().b.testApi<string>('state').catch(() => 'idle')) === 'connected', 'B back in the session', 120_000);
  assert.equal(await suite.pair().b.testApi<string>('sessionCode'), code, 'the same session');
  assert.equal(await suite.pair().b.testApi<string>('sessionRoot'), suite.pair().b.workspaceDir, 'into the same folder');
  await until(async () => (await suite.pair().a.testApi<Array<{ name: string }>>('peers')).some((p) => p.name === 'Bob'), 'A sees B again', 60_000);

  // B has the file open before A's edit arrives (opening it in the very moment the mirror writes
  // that edit is a separate race: VS Code then refuses B's save as "File Modified Since").
  await suite.pair().b.agent('openFile', 'both.txt');
  await until(async () => (await suite.pair().b.text('both.txt')) === (await suite.pair().a.text('both.txt')), 'both.txt open in B, as in A');
  await suite.pair().a.insert('both.txt', 0, 'A after reload\n');
  await until(async () => (await suite.pair().b.text('both.txt')).startsWith('A after reload\n'), 'A\'s edit at B');
  await suite.pair().b.insert('both.txt', 1e9, 'B after reload\n');
  await until(async () => (await suite.pair().a.text('both.txt')).endsWith('B after reload\n'), 'B\'s edit at A');
  await suite.pair().a.agent('save', 'both.txt');
  await suite.pair().b.agent('save', 'both.txt');
  await bothHave('both.txt', (t) => t === 'A after reload\none\ntwo\nthree\nfour\nfive\nB after reload\n', 'both.txt on both disks');
  // Only one B: when code-server kept the old window's extension host (its reload's shutdown failed
  // now and then), that host's session had gone on as a second Bob mirroring into the same folder.
  await oneBobAtA();
}, 300_000);

async function oneBobAtA(): Promise<void> {
  const bobs = async () => (await suite.pair().a.testApi<Array<{ name: string }>>('peers')).filter((p) => p.name === 'Bob').length;
  await until(async () => (await bobs()) === 1, 'A sees one Bob', 60_000).catch(async (err: Error) => {
    throw new Error(`${err.message}: A sees ${await bobs()}`);
  });
}

editorTest('B leaves, both edit apart, B joins again into its folder: both sides have all of it, merged', async () => {
  const code = await suite.pair().a.testApi<string>('sessionCode');
  await suite.pair().b.command('workbench.action.closeAllEditors');
  await suite.pair().b.command('hyperpair.leaveSession');
  await until(async () => (await suite.pair().b.testApi<string>('state')) === 'idle', 'B out of the session');
  await until(async () => (await suite.pair().a.testApi<unknown[]>('peers')).length === 0, 'A alone');

  // Apart: A edits through its editor (the session), B on its disk (no session); one file each,
  // and different lines of one file both edit.
  await suite.pair().a.insert('a-only.txt', 1e9, 'A while apart\n');
  await suite.pair().a.agent('save', 'a-only.txt');
  const before = await suite.pair().a.text('both.txt'); // whatever the reload test left
  await suite.pair().a.insert('both.txt', before.indexOf('one\n'), 'A while apart: ');
  await suite.pair().a.agent('save', 'both.txt');
  const bDir = suite.pair().b.workspaceDir;
  fs.appendFileSync(path.join(bDir, 'b-only.txt'), 'B while apart\n');
  const both = fs.readFileSync(path.join(bDir, 'both.txt'), 'utf8');
  fs.writeFileSync(path.join(bDir, 'both.txt'), both.replace('five\n', 'five (B while apart)\n'));
  fs.writeFileSync(path.join(bDir, 'new-from-b.txt'), 'made by B while apart\n');
  // B deletes a file that A changed meanwhile: it comes back with A's change, and B is told so.
  fs.rmSync(path.join(bDir, 'a-only.txt'));

  // B joins again as a person does: Join Session, the code, and "this folder".
  await suite.pair().b.palette('Hyperpair: Join Session');
  const input = suite.pair().b.page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(code);
  await suite.pair().b.page.keyboard.press('Enter');
  const here = suite.pair().b.page.locator('.quick-input-list .monaco-list-row', { hasText: 'This folder (joined before)' });
  await here.waitFor({ state: 'visible', timeout: 20_000 });
  await here.click();
  // Told while the join reads B's folder, before it is back in the session (that notice was lost).
  const told = suite.pair().b.page.locator('.notifications-toasts .notification-toast', { hasText: 'a-only.txt was deleted here while the session changed it' });
  await told.first().waitFor({ state: 'visible', timeout: 120_000 });
  await until(async () => (await suite.pair().b.testApi<string>('state')) === 'connected', 'B back in the session', 120_000);

  await bothHave('a-only.txt', (t) => t === 'alice\nA while apart\n', 'A\'s edit on both disks');
  await bothHave('b-only.txt', (t) => t === 'bob\nB while apart\n', 'B\'s edit on both disks');
  await bothHave('new-from-b.txt', (t) => t === 'made by B while apart\n', 'B\'s new file on both disks');
  await bothHave(
    'both.txt',
    (t) => t === before.replace('one\n', 'A while apart: one\n').replace('five\n', 'five (B while apart)\n'),
    'both edits of both.txt, merged, on both disks',
  );
}, 300_000);

// Last in this file: B's first window is left without a session (and its agent answers no more).
editorTest('a second window on B\'s folder takes its session over; the first leaves it and is told so', async () => {
  const { a, b } = suite.pair();
  await until(async () => (await b.testApi<string>('state')) === 'connected', 'B in the session');
  const first = b.page;
  const second = await b.openSecondWindow();
  try {
    await until(async () => (await b.testApi<string>('state')) === 'connected', 'the second window in the session', 120_000);
    // Told by the folder's claim (folder-claim.ts): one peer per folder.
    const told = first.locator('.notifications-toasts .notification-toast', { hasText: 'this one has left its session there' });
    await told.first().waitFor({ state: 'visible', timeout: 60_000 });
    await oneBobAtA();
    // And edits flow between A and B's second window, to B's disk.
    await b.agent('openFile', 'b-only.txt');
    await a.insert('b-only.txt', 0, 'A to the second window\n');
    await until(async () => (await b.text('b-only.txt')).startsWith('A to the second window\n'), 'A\'s edit in B\'s second window');
    await b.insert('b-only.txt', 1e9, 'from the second window\n');
    await until(async () => (await a.text('b-only.txt')).endsWith('from the second window\n'), 'the second window\'s edit at A');
    await a.agent('save', 'b-only.txt');
    await b.agent('save', 'b-only.txt');
    await bothHave('b-only.txt', (t) => t !== null && t.startsWith('A to the second window\n') && t.endsWith('from the second window\n'), 'both edits on both disks');
  } finally {
    await second.close();
  }
}, 300_000);
