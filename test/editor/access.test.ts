/**
 * Control of who is in and the rough edges of the first ten minutes (issues 16 and 17), in two real
 * VS Code instances: following stays visible in the status bar (a click stops it); rows say who owns
 * the session and who may edit; the owner makes Bob read-only from the participants view's context
 * menu and an editor again; files a collaborator changed are marked until opened; "Bring everyone
 * here"; the connection report is a read-only virtual document, in a session and outside one; and
 * the owner removes Bob, who is told and leaves.
 */
import assert from 'node:assert/strict';
import { sessionPairSuite, until } from './fixture';

const FILES: Record<string, string> = {
  'notes.txt': 'first line\nsecond line\n',
  'src/main.js': 'console.log("main");\n',
  'src/util.js': 'export const u = 1;\n',
  'other.txt': 'nobody has this open\n',
};

const { pair, editorTest } = sessionPairSuite(FILES);

interface Row {
  clientId: number;
  id: string;
  name: string;
  standing?: string;
  connection: string;
}
type Doc = { scheme: string; path: string; dirty: boolean; untitled: boolean; text: string } | null;

async function rowOf(who: 'a' | 'b', name: string): Promise<Row> {
  let row: Row | undefined;
  await until(async () => {
    row = (await pair()[who].testApi<Row[]>('participants')).find((r) => r.name.startsWith(name));
    return !!row;
  }, `${name}'s row in ${who}'s participants view`);
  return row!;
}

editorTest('rows say who owns the session and who may edit', async () => {
  const alice = await rowOf('b', 'Alice');
  assert.equal(alice.standing, 'owner');
  assert.equal(alice.name, 'Alice (owner)');
  assert.equal((await rowOf('b', 'Bob')).name, 'Bob (you)');
  assert.equal((await rowOf('a', 'Alice')).name, 'Alice (you, owner)');
  assert.equal((await rowOf('a', 'Bob')).standing, 'editor');
});

editorTest('following stays in the status bar while the followed person moves between files; a click stops it', async () => {
  const { a, b } = pair();
  await a.agent('openFile', 'notes.txt');
  await b.command('hyperpair.followParticipant', await rowOf('b', 'Alice'));
  await until(async () => (await b.agent('activeFile')) === 'notes.txt', 'B to follow Alice to notes.txt');
  await a.agent('openFile', 'src/main.js');
  await until(async () => (await b.agent('activeFile')) === 'src/main.js', 'B to follow Alice to src/main.js');
  await a.agent('openFile', 'src/util.js');
  await until(async () => (await b.agent('activeFile')) === 'src/util.js', 'B to follow Alice to src/util.js');
  assert.equal(await b.testApi('followStatus'), '$(eye) Following Alice');
  const item = b.page.locator('.statusbar-item', { hasText: 'Following Alice' });
  await item.waitFor({ state: 'visible', timeout: 10_000 });
  await item.click();
  await until(async () => (await b.testApi('following')) === null, 'the click to stop following');
  await item.waitFor({ state: 'hidden', timeout: 10_000 });
});

editorTest('the owner makes Bob read-only from the participants view\'s context menu, then an editor again', async () => {
  const { a, b } = pair();
  // The Participants view is a section of the Explorer: show it, then right-click Bob's row.
  await a.palette('Focus on Hyperpair Participants View');
  const bobRow = a.page.locator('.monaco-list-row', { hasText: 'Bob' }).first();
  await bobRow.waitFor({ state: 'visible', timeout: 15_000 });
  await bobRow.click({ button: 'right' });
  const menuItem = a.page.locator('.context-view .action-label', { hasText: 'Make Read-Only' }).first();
  await menuItem.waitFor({ state: 'visible', timeout: 10_000 });
  const labels = await a.page.locator('.context-view .action-label').allInnerTexts();
  for (const want of ['Follow Participant', "Go to Participant's Cursor", 'Make Read-Only', 'Remove from Session…']) {
    assert.ok(labels.some((l) => l.includes(want)), `"${want}" in the menu: ${JSON.stringify(labels)}`);
  }
  assert.ok(!labels.some((l) => l.includes('Let Edit')), 'no Let Edit for an editor');
  await menuItem.click();
  await until(async () => {
    if ((await b.testApi<boolean>('readOnly')) === true) return true;
    // The click missed now and then (a fresh-clone run: the menu stayed open, its item highlighted, no
    // command ran; the view redraws Bob's row as he moves): a person clicks again.
    if (await menuItem.isVisible().catch(() => false)) await menuItem.click({ timeout: 2_000 }).catch(() => {});
    return false;
  }, 'Bob read-only at once');
  await until(async () => (await rowOf('a', 'Bob')).name === 'Bob (read-only)', 'Alice\'s row of Bob to say read-only');
  assert.equal((await rowOf('b', 'Bob')).name, 'Bob (you, read-only)');
  // Bob's typing is refused in his editor and by Alice.
  await b.agent('insert', 'notes.txt', 0, 'BOB ').catch(() => false);
  assert.ok(!(await a.text('notes.txt')).includes('BOB '));

  await a.command('hyperpair.makeEditor', await rowOf('a', 'Bob'));
  await until(async () => (await b.testApi<boolean>('readOnly')) === false, 'Bob an editor again');
  await b.insert('notes.txt', 0, 'bob edits ');
  await until(async () => (await a.text('notes.txt')).startsWith('bob edits '), 'Bob\'s edit at Alice');
});

editorTest('a file a collaborator changed is marked (by whom) until it is opened', async () => {
  const { a, b } = pair();
  await a.insert('other.txt', 0, 'alice was here ');
  await until(async () => (await b.testApi<Array<{ path: string; names: string[] }>>('changedFiles')).some((f) => f.path === 'other.txt' && f.names.join() === 'Alice'), 'other.txt marked as changed by Alice at B');
  await b.agent('openFile', 'other.txt');
  await until(async () => !(await b.testApi<Array<{ path: string }>>('changedFiles')).some((f) => f.path === 'other.txt'), 'the mark cleared when B opens it');
});

editorTest('"Bring everyone here": Bob follows Alice to her file', async () => {
  const { a, b } = pair();
  await b.agent('openFile', 'notes.txt');
  await a.agent('openFile', 'src/main.js');
  await a.palette('Hyperpair: Bring Everyone Here');
  await until(async () => (await b.testApi('following')) !== null && (await b.agent('activeFile')) === 'src/main.js', 'Bob to follow Alice');
  assert.equal(await b.testApi('followStatus'), '$(eye) Following Alice');
  await b.command('hyperpair.stopFollowing');
});

editorTest('the connection report is a read-only virtual document: no Untitled, nothing to save', async () => {
  const { b } = pair();
  await b.command('hyperpair.diagnose');
  let doc: Doc = null;
  await until(async () => (doc = await b.agent<Doc>('activeDocument'))?.scheme === 'hyperpair-report', 'the report beside the editor');
  assert.equal(doc!.dirty, false);
  assert.equal(doc!.untitled, false);
  assert.match(doc!.text, /people in the session: 2 \(you and 1 connected to you directly\)/);
});

editorTest('the owner removes Bob: he is told, leaves, and can diagnose his connection outside the session', async () => {
  const { a, b } = pair();
  await a.command('hyperpair.removeParticipant', await rowOf('a', 'Bob'), { confirmed: true });
  await until(async () => (await b.testApi('state')) === 'idle', 'Bob out of the session');
  await until(async () => (await a.testApi<unknown[]>('peers')).length === 0, 'Alice alone');
  assert.equal(await b.diskText('notes.txt') !== null, true, 'Bob keeps his files');
  await b.command('hyperpair.diagnose');
  let doc: Doc = null;
  await until(async () => /outside any session/.test((doc = await b.agent<Doc>('activeDocument'))?.text ?? ''), 'the report outside a session', 60_000);
  assert.match(doc!.text, /reachable: yes/);
});
