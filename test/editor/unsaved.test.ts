/**
 * Unsaved work from before a session is shared, never replaced (issue 11): typing in a file and in a
 * notebook that VS Code restored unsaved after a window reload (hot exit: the extension, activated
 * after, never saw them clean, so their files on disk are their clean texts), and in a notebook opened
 * clean and typed in before the session started. Until 2026-12-04 each was bound as an older copy of
 * the shared text, and the typing was replaced by it.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sampleNotebookText } from '../helpers/notebook';
import { pairSuite, startPair, until, type Editor } from './fixture';

const FILES = { 'notes.txt': 'one\ntwo\nthree\n', 'hot.ipynb': sampleNotebookText(3), 'fresh.ipynb': sampleNotebookText(3) };
const { pair: get, editorTest } = pairSuite(() => startPair(FILES));

interface Cells {
  dirty: boolean;
  cells: Array<{ text: string }>;
}

/** Whether some file under the editor's user data (where VS Code keeps its backups) holds `token`. */
function backedUp(e: Editor, token: string): boolean {
  const walk = (dir: string): boolean =>
    fs.readdirSync(dir, { withFileTypes: true }).some((d) => {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) return walk(p);
      return d.isFile() && fs.statSync(p).size < 1_000_000 && fs.readFileSync(p, 'utf8').includes(token);
    });
  const root = path.join(e.workspaceDir, '..', 'user-data');
  return fs.existsSync(root) && walk(root);
}

const cellText = async (e: Editor, rel: string, index: number) => (await e.agent<Cells>('notebookCells', rel)).cells[index]?.text ?? '';

editorTest('unsaved typing from before the session (a file and a notebook restored unsaved by a reload, a notebook typed in before) reaches the joiner and stays', async () => {
  const { a, b } = get();
  await until(() => a.agent<boolean>('extensionActive'), 'A active', 60_000);
  await until(() => b.agent<boolean>('extensionActive'), 'B active', 60_000);
  // No session yet. A types in notes.txt and in a cell of hot.ipynb, saves neither, and reloads.
  await a.agent('openFile', 'notes.txt');
  await a.caretAt(1, 0);
  await a.type('hot-text ');
  await a.agent('openNotebook', 'hot.ipynb');
  await a.agent('focusCell', 'hot.ipynb', 1);
  await a.type('hot_cell = 1; ');
  await until(async () => (await cellText(a, 'hot.ipynb', 1)).startsWith('hot_cell = 1; '), 'the typing in the cell');
  // VS Code backs unsaved documents up a moment after a change (hot exit restores from there).
  await until(() => backedUp(a, 'hot-text ') && backedUp(a, 'hot_cell = 1; '), 'both unsaved changes backed up', 60_000);
  await a.reloadWindow();
  await until(() => a.agent<boolean>('extensionActive'), 'A active again', 60_000);
  // VS Code restored both unsaved (hot exit).
  await a.agent('openNotebook', 'hot.ipynb');
  assert.ok((await cellText(a, 'hot.ipynb', 1)).startsWith('hot_cell = 1; '), 'the cell restored unsaved');
  // (Its tab shows it unsaved, but VS Code tells the extension host it is clean: `isDirty` false.)
  await a.agent('openFile', 'notes.txt');
  assert.equal(await a.agent<string>('text', 'notes.txt'), 'one\nhot-text two\nthree\n', 'the file restored unsaved');
  await until(async () => (await a.agent('isDirty', 'notes.txt')) === true, 'the file unsaved');
  // And a notebook opened clean now, typed in, not saved.
  await a.agent('openNotebook', 'fresh.ipynb');
  await a.agent('focusCell', 'fresh.ipynb', 0);
  await a.type('fresh_cell = 2; ');
  await until(async () => (await cellText(a, 'fresh.ipynb', 0)).startsWith('fresh_cell = 2; '), 'the typing in the fresh cell');

  await a.command('hyperpair.startSession');
  const code = await a.testApi<string>('sessionCode');
  await b.command('hyperpair.joinSession', { code });
  await until(async () => (await b.testApi<string>('state')) === 'connected', 'B connected', 90_000);
  const onB = async (rel: string, token: string) =>
    until(async () => ((await b.diskText(rel)) ?? '').includes(token), `A's unsaved ${JSON.stringify(token)} in ${rel} on B's disk`, 60_000).catch(async (err: Error) => {
      throw new Error(`${err.message}: B has ${JSON.stringify((await b.diskText(rel))?.slice(0, 400))}`);
    });
  await onB('notes.txt', 'hot-text two');
  await onB('hot.ipynb', 'hot_cell = 1; ');
  await onB('fresh.ipynb', 'fresh_cell = 2; ');
  // Still in A's editors, once each.
  assert.equal(await a.agent<string>('text', 'notes.txt'), 'one\nhot-text two\nthree\n');
  for (const [rel, index, token] of [['hot.ipynb', 1, 'hot_cell = 1; '], ['fresh.ipynb', 0, 'fresh_cell = 2; ']] as const) {
    const text = await cellText(a, rel, index);
    assert.equal(text.split(token).length - 1, 1, `${token} once in A's ${rel}: ${JSON.stringify(text)}`);
  }
}, 400_000);
