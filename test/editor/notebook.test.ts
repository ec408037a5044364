/**
 * Notebooks co-edited cell by cell in two real VS Code instances (issue 18): one `.ipynb` open in
 * VS Code's notebook editor (its built-in ipynb support, no kernel) in both, and a headless peer with
 * the notebook closed. Typing concurrently in one cell and in different cells; inserting, deleting
 * and moving cells concurrently; one editor saving while the other types. Both notebooks end
 * identical, and the file on all three disks is the same valid nbformat 4 notebook.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after } from 'node:test';
import { startPeer, type RunningPeer } from '../../src/app/peer';
import { assertValidNotebook, sampleNotebookText } from '../helpers/notebook';
import { tempDir } from '../helpers/tree';
import { sessionPairSuite, until, type Editor } from './fixture';

const NB = 'nb.ipynb';
const IN_FOLDER = 'nbs/inner.ipynb';
const { pair, editorTest } = sessionPairSuite({ [NB]: sampleNotebookText(4), [IN_FOLDER]: sampleNotebookText(3), 'readme.md': 'notebook tests\n' });

let headless: RunningPeer | undefined;
let headlessDir = '';
after(async () => {
  await headless?.close();
});

interface Cells {
  dirty: boolean;
  cells: Array<{ kind: string; language: string; text: string; id: string | null }>;
}

const cellsOf = (e: Editor) => e.agent<Cells>('notebookCells', NB);
const shape = (c: Cells) => JSON.stringify(c.cells.map(({ kind, text, id }) => ({ kind, text, id })));

/**
 * Both notebook editors show the same cells (kinds, texts, ids), and `ready` holds for them; returns
 * them. (`ready`: keys sent by the keyboard may not have reached the editor yet when typing returns,
 * and both editors agree before they do.)
 */
async function converged(what: string, ready: (c: Cells) => boolean = () => true): Promise<Cells> {
  let cells: Cells | undefined;
  await until(async () => {
    const [a, b] = await Promise.all([cellsOf(pair().a), cellsOf(pair().b)]);
    cells = a;
    return shape(a) === shape(b) && ready(a);
  }, what, 60_000);
  return cells!;
}

/** Both editors save; then both disks and the headless peer's hold the same valid notebook. */
async function sameFileEverywhere(what: string): Promise<string> {
  const { a, b } = pair();
  await a.agent('saveNotebook', NB);
  await b.agent('saveNotebook', NB);
  let text = '';
  await until(async () => {
    const [ta, tb] = await Promise.all([a.diskText(NB), b.diskText(NB)]);
    const th = fs.readFileSync(path.join(headlessDir, NB), 'utf8');
    text = ta ?? '';
    return ta !== null && ta === tb && ta === th;
  }, what, 60_000);
  assertValidNotebook(text, what);
  return text;
}

editorTest('VS Code opens the .ipynb in its notebook editor (built-in ipynb, no Jupyter extension) and both editors bind it cell by cell', async () => {
  const { a, b } = pair();
  headlessDir = path.join(tempDir(), 'headless');
  headless = await startPeer({ mode: 'join', code: await a.testApi<string>('sessionCode'), dir: headlessDir, name: 'Headless', network: pair().network.network });
  for (const e of [a, b]) {
    const opened = await e.agent<{ notebookType: string; activeType: string | null }>('openNotebook', NB);
    assert.equal(opened.notebookType, 'jupyter-notebook');
    assert.equal(opened.activeType, 'jupyter-notebook', 'shown in the notebook editor');
    await until(async () => (await e.testApi<string[]>('boundNotebooks')).includes(NB), `${e.options.name} binds the notebook`);
  }
  const cells = await converged('the same cells');
  assert.equal(cells.cells.length, 4);
  assert.deepEqual(cells.cells.map((c) => c.id), ['cell0', 'cell1', 'cell2', 'cell3']);
}, 180_000);

editorTest('typing concurrently in one cell and in different cells: both notebooks end identical, every keystroke once', async () => {
  const { a, b } = pair();
  // A types with the real keyboard at the start of cell 1 while B inserts into cell 1 and cell 2.
  await a.agent('focusCell', NB, 1);
  // No Enter: in a code cell it may accept a word suggestion instead of breaking the line.
  const typing = a.type('typed_by_A = 0; ');
  const inserts: Array<Promise<unknown>> = [];
  for (let i = 0; i < 8; i++) {
    inserts.push(b.agent('cellInsert', NB, 1, 1e9, ` b${i}`));
    inserts.push(b.agent('cellInsert', NB, 2, 0, `c${i} `));
  }
  await Promise.all([typing, ...inserts]);
  const cells = await converged('the typing in both editors', (c) => c.cells.some((cell) => cell.text.includes('typed_by_A = 0; ')));
  const all = cells.cells.map((c) => c.text).join('\n');
  const once = (word: string) => assert.equal(all.split(word).length - 1, 1, `${JSON.stringify(word)} once in ${JSON.stringify(all)}`);
  once('typed_by_A = 0; ');
  for (let i = 0; i < 8; i++) once(` b${i}`), once(`c${i} `);
  assert.ok(cells.cells[1].text.startsWith('typed_by_A = 0; '), cells.cells[1].text);
  const text = await sameFileEverywhere('the typing on every disk');
  assert.ok(text.includes('typed_by_A = 0; '));
}, 180_000);

/** The cells' ids (or texts, for cells without one yet) in order, as A shows them once both agree. */
async function order(what: string): Promise<string[]> {
  return (await converged(what)).cells.map((c) => c.id ?? c.text);
}

editorTest('a cell inserted, moved or deleted in one editor is inserted, moved or deleted in the other', async () => {
  const { a, b } = pair();
  const start = await order('the start');
  await a.agent('insertCellBelow', NB, start[0], 'one_by_a = 1');
  let now = (await converged('an insert by A', (c) => c.cells.some((cell) => cell.text === 'one_by_a = 1'))).cells.map((c) => c.id ?? c.text);
  assert.equal(now.length, start.length + 1);
  const mine = (await cellsOf(b)).cells[1];
  assert.equal(mine.text, 'one_by_a = 1', 'the new cell below the first in B');
  await b.agent('moveCell', NB, start[2], 'up');
  now = await order('a move by B');
  const added = now[1];
  assert.deepEqual(now, [start[0], added, start[2], start[1], ...start.slice(3)], `B's move of ${start[2]} up`);
  await a.agent('deleteCell', NB, start[2]);
  now = await order('a delete by A');
  assert.ok(!now.includes(start[2]), `A's delete: ${now.join(' ')}`);
  assert.equal(now.length, start.length);
  await sameFileEverywhere('one by one, on every disk');
}, 180_000);

editorTest('inserting, deleting and moving cells concurrently: both editors agree, no cell lost, doubled or brought back', async () => {
  const { a, b } = pair();
  const before = await order('the start');
  // A inserts below the first cell and moves the third up; B, at once, deletes the last, inserts
  // below the second and moves the first down.
  await Promise.all([
    (async () => {
      await a.agent('insertCellBelow', NB, before[0], 'inserted_by_a = 1');
      await a.agent('moveCell', NB, before[2], 'up');
    })(),
    (async () => {
      await b.agent('deleteCell', NB, before[before.length - 1]);
      await b.agent('insertCellBelow', NB, before[1], 'inserted_by_b = 2');
      await b.agent('moveCell', NB, before[0], 'down');
    })(),
  ]);
  const cells = await converged('the structure edits in both editors', (c) => ['inserted_by_a = 1', 'inserted_by_b = 2'].every((t) => c.cells.some((cell) => cell.text === t)));
  const now = cells.cells.map((c) => c.id);
  const shown = cells.cells.map((c) => c.id ?? c.text).join(' | ');
  console.log(`# cells after the concurrent structure edits: ${shown} (texts: ${cells.cells.map((c) => c.text.split('\n')[0]).join(' | ')})`);
  assert.equal(new Set(now).size, now.length, `no cell twice: ${shown}`);
  // VS Code's notebook edits address cells by index: a collaborator's edit applied in the instant of
  // one's own may fall on another cell. Neither is taken for the other: B's delete stays a delete.
  assert.ok(!now.includes(before[before.length - 1]), `B's delete of ${before[before.length - 1]} holds: ${shown}`);
  for (const id of before.slice(0, -1)) assert.ok(now.includes(id), `cell ${id} is still there: ${shown}`);
  const texts = cells.cells.map((c) => c.text);
  assert.equal(texts.filter((t) => t === 'inserted_by_a = 1').length, 1, shown);
  assert.equal(texts.filter((t) => t === 'inserted_by_b = 2').length, 1, shown);
  assert.equal(now.length, before.length + 1, shown);
  await sameFileEverywhere('the structure edits on every disk');
}, 180_000);

/**
 * The notebook binding's runs (reconcile-runs.ts) and the structure check (NotebookBinding.checkStructure).
 * Nothing in a working editor makes a run fail on demand, so B's binding is told to (`notebookFault`).
 * Before, a run that failed was only logged: B's cells stayed apart from the model until the next change.
 */
editorTest('a structure run that fails is tried again, and cells found apart from the shared notebook with nothing under way are brought to it and counted', async () => {
  const { a, b } = pair();
  const start = await order('the start');
  type Consistency = { repairs: number; divergences: number };
  const before = await b.testApi<Consistency>('notebookConsistency');
  // B's next three runs throw: A's insert still reaches B's editor, by B's tries again (not the check).
  assert.equal(await b.testApi<boolean>('notebookFault', NB, 'throw', 3), true);
  await a.agent('insertCellBelow', NB, start[0], 'retried_in_b = 1');
  const cells = await converged('an insert whose first runs failed in B', (c) => c.cells.some((cell) => cell.text === 'retried_in_b = 1'));
  const added = cells.cells.find((c) => c.text === 'retried_in_b = 1')!;
  assert.equal((await b.testApi<Consistency>('notebookConsistency')).divergences, before.divergences, 'brought by the tries again, before any check found it apart');
  // B's next three runs do nothing and report success: only the check finds B's cells apart.
  assert.equal(await b.testApi<boolean>('notebookFault', NB, 'skip', 3), true);
  await a.agent('deleteCell', NB, added.id ?? added.text);
  await converged('a delete whose runs did nothing in B', (c) => !c.cells.some((cell) => cell.text === 'retried_in_b = 1'));
  assert.deepEqual(await order('the end'), start);
  const after = await b.testApi<Consistency>('notebookConsistency');
  assert.ok(after.divergences > before.divergences, `the check counted B apart: ${JSON.stringify(after)}`);
  await sameFileEverywhere('after the faults, on every disk');
}, 180_000);

editorTest('cells moved in A while B types in a cell with the keyboard: B\'s cell is never redrawn, its caret and every key stay', async () => {
  const { a, b } = pair();
  const start = (await converged('the start')).cells;
  // B's cell: a code cell with two cells below it (one moves up past it, then it moves down).
  const index = start.findIndex((c, i) => c.id !== null && c.kind === 'code' && c.text.length >= 3 && i + 2 < start.length && start[i + 1].id !== null);
  assert.ok(index >= 0, `a code cell with two below: ${start.map((c) => c.id).join(' ')}`);
  const mine = start[index].id!;
  const below = start[index + 1].id!;
  const original = start[index].text;
  await b.agent('selectInCell', NB, mine, 0, 0);
  // The caret to the cell's end with the keyboard: a caret set through the API can reach the cell's
  // editor after the first keys (they went elsewhere in the cell under load).
  await b.page.keyboard.press('Control+End');
  await until(async () => JSON.stringify(await b.agent<number[][]>('selections')) === JSON.stringify([[original.length, original.length]]), 'B\'s caret at the cell\'s end', 10_000);
  // Words typed with the real keyboard (no Enter: in a code cell it may accept a suggestion). Were the
  // cell redrawn, its editor would go, and the keys after would act on the notebook (a, b, d, m, y
  // are its commands there) or be lost.
  const words = Array.from({ length: 50 }, (_, i) => ` m${i}`).join('');
  let typingDone = false;
  const typing = b.type(words).then(() => (typingDone = true));
  // A acts once B's typing is under way: moves the cell below B's up past it, then B's cell down.
  await until(async () => (await cellsOf(a)).cells.some((c) => c.id === mine && c.text.includes(' m1 ')), 'B\'s typing at A');
  await a.agent('moveCell', NB, below, 'up');
  await a.agent('moveCell', NB, mine, 'down');
  const moved = (await cellsOf(a)).cells.map((c) => c.id);
  const ids = start.map((c) => c.id);
  const want = [...ids.slice(0, index), below, ids[index + 2], mine, ...ids.slice(index + 3)];
  assert.deepEqual(moved, want, 'A\'s two moves');
  await until(async () => JSON.stringify((await cellsOf(b)).cells.map((c) => c.id)) === JSON.stringify(want), 'the moves in B', 30_000);
  assert.equal(typingDone, false, 'the moves reached B while it typed (type longer if not)');
  await typing;
  // Every key in B's cell, in order, where its caret was (keys sent may still be on their way).
  const typed = original + words;
  let last = '';
  const cells = await converged('the typing and the moves', (c) => (last = c.cells.find((cell) => cell.id === mine)?.text ?? '') === typed).catch((err: Error) =>
    assert.fail(`${err.message}: B's cell holds ${JSON.stringify(last)}, not ${JSON.stringify(typed)}`),
  );
  const at = cells.cells.findIndex((c) => c.id === mine);
  assert.equal(cells.cells.length, start.length, 'no cell added or removed by a key');
  for (const [i, c] of cells.cells.entries()) if (i !== at) assert.ok(!c.text.includes(' m4'), `no key in another cell: ${c.text}`);
  type View = { caret: { cell: number; anchor: number; head: number } | null };
  const caret = (await b.agent<View>('notebookView')).caret;
  assert.deepEqual(caret, { cell: at, anchor: typed.length, head: typed.length }, 'B\'s caret after its last key');
  await sameFileEverywhere('the moves and the typing on every disk');
}, 180_000);

editorTest('one editor saves while the other types: nothing lost, the same file on every disk', async () => {
  const { a, b } = pair();
  const typing = (async () => {
    for (let i = 0; i < 20; i++) await b.agent('cellInsert', NB, 0, 1e9, ` w${i};`);
  })();
  const saving = (async () => {
    for (let i = 0; i < 6; i++) await a.agent('saveNotebook', NB);
  })();
  await Promise.all([typing, saving]);
  const cells = await converged('the typing');
  for (let i = 0; i < 20; i++) assert.equal(cells.cells[0].text.split(` w${i};`).length - 1, 1, cells.cells[0].text);
  const text = await sameFileEverywhere('the typing on every disk');
  assert.ok(text.includes(' w19;'));
}, 180_000);

editorTest('outputs of a cell run in one editor (a stand-in kernel) reach the other editor and every disk', async () => {
  const { a, b } = pair();
  await order('the start');
  const code = (await cellsOf(a)).cells.find((c) => c.kind === 'code' && c.id !== null)!;
  const id = code.id!;
  const first = code.text.split('\n')[0];
  await a.agent('runCell', NB, id);
  const want = `ran: ${first}\n`;
  await until(async () => (await a.agent<{ outputs: string[] }>('cellOutputs', NB, id)).outputs.join('') === want, 'the output in A', 30_000);
  await until(async () => (await b.agent<{ outputs: string[] }>('cellOutputs', NB, id)).outputs.join('') === want, "A's output in B", 30_000);
  // The count follows the outputs: VS Code's ipynb support saves it (in the cell's metadata) once the
  // run has ended, and that is the count shared.
  type Ran = { order: number | null };
  let inA: Ran = { order: null };
  let inB: Ran = { order: null };
  await until(async () => {
    [inA, inB] = await Promise.all([a.agent<Ran>('cellOutputs', NB, id), b.agent<Ran>('cellOutputs', NB, id)]);
    return inA.order !== null && inB.order === inA.order;
  }, 'the same execution count in both', 30_000).catch((err: Error) => assert.fail(`${err.message}: A ${inA.order}, B ${inB.order}`));
  const text = await sameFileEverywhere('the output on every disk');
  const cell = assertValidNotebook(text).cells.find((c) => c.id === id)!;
  assert.deepEqual(cell.outputs, [{ name: 'stdout', output_type: 'stream', text: [want] }]);
  assert.equal(cell.execution_count, inA.order);
  // Typing into a cell that ran makes VS Code's ipynb support drop the count it saves (the cell's
  // text no longer is what ran): every peer writes the same, the headless one too.
  const index = (await cellsOf(b)).cells.findIndex((c) => c.id === id);
  await b.agent('cellInsert', NB, index, 0, '# edited after the run\n');
  await converged('the typing after the run', (c) => c.cells[index].text.startsWith('# edited after the run'));
  const edited = assertValidNotebook(await sameFileEverywhere('the count after typing, on every disk')).cells.find((c) => c.id === id)!;
  assert.deepEqual(edited.outputs, [{ name: 'stdout', output_type: 'stream', text: [want] }], 'the outputs stay');
}, 180_000);

interface Applied {
  kind: 'cursor' | 'selection' | 'label';
  start: [number, number];
  end: [number, number];
  text?: string;
}
type Drawn = { name: string; anchor: number; head: number };

/** What B drew for collaborators in each of the notebook's cells, and in the notebook as a file. */
async function drawnInB(ids: string[]): Promise<{ cursors: Map<string, Drawn[]>; applied: Map<string, Applied[]>; file: number }> {
  const b = pair().b;
  const cursors = new Map<string, Drawn[]>();
  const applied = new Map<string, Applied[]>();
  for (const id of ids) {
    cursors.set(id, await b.testApi<Drawn[]>('cursorsIn', NB, id));
    applied.set(id, await b.testApi<Applied[]>('decorationsApplied', NB, id));
  }
  const file = (await b.testApi<unknown[]>('cursorsIn', NB)).length + (await b.testApi<unknown[]>('decorationsApplied', NB)).length;
  return { cursors, applied, file };
}

/** Exactly one cell shows Alice's caret: with the selection `[anchor, head]` on line 0, cursor, band and label. */
function onlyIn(d: Awaited<ReturnType<typeof drawnInB>>, cell: string, anchor: number, head: number): boolean {
  for (const [id, list] of d.cursors) if (id !== cell && (list.length || d.applied.get(id)?.length)) return false;
  const cursors = d.cursors.get(cell) ?? [];
  const applied = d.applied.get(cell) ?? [];
  const has = (kind: Applied['kind'], start: [number, number], end: [number, number], text?: string) =>
    applied.some((x) => x.kind === kind && String(x.start) === String(start) && String(x.end) === String(end) && (text === undefined || x.text === text));
  const selection = anchor === head || has('selection', [0, Math.min(anchor, head)], [0, Math.max(anchor, head)]);
  return (
    d.file === 0 &&
    cursors.length === 1 &&
    cursors[0].name === 'Alice' &&
    cursors[0].anchor === anchor &&
    cursors[0].head === head &&
    has('cursor', [0, head], [0, head]) &&
    selection &&
    applied.some((x) => x.kind === 'label' && x.text === 'Alice')
  );
}

editorTest('a collaborator\'s caret and selection in a notebook cell are drawn in that cell only, follow its text, move with them and vanish when they leave', async () => {
  const { a, b } = pair();
  const cells = (await converged('the start')).cells;
  const ids = cells.map((c) => c.id).filter((id): id is string => id !== null);
  // Code cells: a Markdown cell shows its rendering, not a text editor, until someone edits it.
  const [first, second] = cells.filter((c) => c.id !== null && c.kind === 'code' && c.text.length >= 4).map((c) => c.id!);
  await b.agent('openNotebook', NB);
  const visible = await b.agent<Array<string | null>>('visibleCells', NB);
  assert.ok(visible.includes(first) && visible.includes(second), `B shows both cells' editors: ${visible.join(' ')}`);
  await a.agent('selectInCell', NB, first, 0, 4);
  let last: unknown;
  const drawn = async (cell: string, anchor: number, head: number) => {
    const d = await drawnInB(ids);
    last = { cursors: [...d.cursors], applied: [...d.applied], file: d.file };
    return onlyIn(d, cell, anchor, head);
  };
  await until(() => drawn(first, 0, 4), `A's selection drawn in B's cell ${first} only`, 30_000).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(last)}`));
  if (process.env.HYPERPAIR_SCREENSHOTS) await b.screenshot(process.env.HYPERPAIR_SCREENSHOTS, 'notebook-cursor');
  // Text B types before it moves it along.
  await b.agent('cellInsert', NB, cells.findIndex((c) => c.id === first), 0, '>> ');
  await until(() => drawn(first, 3, 7), 'the selection to follow the cell\'s text', 30_000).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(last)}`));
  // A's caret moves to another cell: drawn there, gone from the first.
  await a.agent('selectInCell', NB, second, 2, 2);
  await until(() => drawn(second, 2, 2), `A's caret in B's cell ${second} only`, 30_000).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(last)}`));
  // A leaves the notebook: nothing of A's is drawn in it.
  await a.agent('openFile', 'readme.md');
  await until(async () => {
    const d = await drawnInB(ids);
    last = { cursors: [...d.cursors], applied: [...d.applied], file: d.file };
    return d.file === 0 && [...d.cursors.values(), ...d.applied.values()].every((l) => l.length === 0);
  }, 'A\'s caret to leave the notebook', 30_000).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(last)}`));
}, 180_000);

editorTest('following a collaborator into a notebook opens it in the notebook editor with their cell selected, and follows them from cell to cell', async () => {
  const { a, b } = pair();
  const cells = (await converged('the start')).cells;
  const code = cells.map((c, i) => ({ c, i })).filter(({ c }) => c.id !== null && c.kind === 'code');
  await b.agent('openFile', 'readme.md');
  await a.agent('selectInCell', NB, code[0].c.id!, 0, 0);
  const alice = (await b.testApi<Array<{ name: string }>>('participants')).find((r) => r.name.startsWith('Alice'));
  assert.ok(alice, 'Alice in B\'s participants view');
  await b.command('hyperpair.followParticipant', alice);
  type View = { active: string | null; selected: number | null };
  let view: View | undefined;
  const shows = (index: number) => async () => {
    view = await b.agent<View>('notebookView');
    return view.active === NB && view.selected === index;
  };
  await until(shows(code[0].i), 'B to follow Alice into the notebook, to her cell', 30_000).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(view)}`));
  await a.agent('selectInCell', NB, code[1].c.id!, 0, 0);
  await until(shows(code[1].i), 'B to follow Alice to her next cell', 30_000).catch(async (err: Error) => {
    const ids = async (e: Editor) => (await e.agent<{ cells: Array<{ id: string | null; modelId: string | null }> }>('notebookCells', NB)).cells.map((c) => `${c.id}/${c.modelId}`);
    assert.fail(`${err.message}: ${JSON.stringify(view)}; Alice in ${code[1].c.id}; cells (metadata id/shared id) A ${(await ids(a)).join(' ')}, B ${(await ids(b)).join(' ')}`);
  });
  assert.notEqual(await b.testApi('following'), null, 'still following');
  assert.equal((await b.agent<{ tabs: unknown[] }>('notebookView')).tabs.length, 1, 'one notebook tab (never its JSON as text)');
  assert.ok(!(await b.agent<Array<{ path: string }>>('tabs')).some((t) => t.path === NB), 'no text tab of the .ipynb');
  await b.command('hyperpair.stopFollowing');
}, 180_000);

/**
 * After a move to `rel`: B types `<word>_b ` with the keyboard (its caret is in cell `index`, which
 * holds `typed`, at offset `caret`), A inserts `<word>_a ` at the start of cell `other`; both notebooks
 * show both, B's word where its caret was, and both save.
 */
async function typeOnAfterMove(rel: string, index: number, other: number, typed: string, word: string, caret: number): Promise<void> {
  const { a, b } = pair();
  await b.type(`${word}_b `);
  await a.agent('cellInsert', rel, other, 0, `${word}_a `);
  const texts = async (e: Editor) => (await e.agent<Cells>('notebookCells', rel)).cells.map((c) => c.text);
  let last: unknown;
  await until(async () => {
    const [ta, tb] = await Promise.all([texts(a), texts(b)]);
    last = { ta, tb };
    return JSON.stringify(ta) === JSON.stringify(tb) && ta[index].includes(typed) && ta[index].includes(`${word}_b `) && ta[other].startsWith(`${word}_a `);
  }, `the typing under ${rel} in both`, 60_000).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(last)}`));
  const cell = (await texts(b))[index];
  assert.ok(cell.slice(caret).startsWith(`${word}_b `), `B's keys where its caret was (offset ${caret}): ${JSON.stringify(cell)}`);
  await a.agent('saveNotebook', rel);
  await b.agent('saveNotebook', rel);
}

editorTest('a notebook open in B, renamed in A, moves B\'s notebook editor (cell and caret kept); both keep co-editing it under the new name, and the old name is gone from every disk', async () => {
  const { a, b } = pair();
  const RENAMED = 'renamed.ipynb';
  const cells = (await converged('the start')).cells;
  const index = cells.findIndex((c) => c.id !== null && c.kind === 'code');
  await b.agent('openNotebook', NB);
  await b.agent('selectInCell', NB, cells[index].id!, 1, 1);
  // B's own typing (before the caret) leaves B's notebook unsaved: it moves too, and no old file
  // comes back. (Through the agent: keys typed now could race the caret just set.)
  const typed = 'before_rename_b ';
  await b.agent('cellInsert', NB, index, 0, typed);
  await until(async () => (await cellsOf(a)).cells[index].text.includes(typed), 'B\'s typing at A');
  assert.equal((await cellsOf(b)).dirty, true, 'B has unsaved changes');
  type View = { tabs: Array<{ path: string }>; active: string | null; selected: number | null; caret: { cell: number; anchor: number; head: number } | null };
  // Where B's caret is now (the editor may have placed it itself as the cell took the focus).
  const before = (await b.agent<View>('notebookView')).caret;
  assert.equal(before?.cell, index, 'B\'s caret in the cell');
  assert.equal(await a.agent('renameFile', NB, RENAMED), true);
  let view: View | undefined;
  await until(async () => {
    view = await b.agent<View>('notebookView');
    return view.active === RENAMED && !view.tabs.some((t) => t.path === NB) && view.caret !== null;
  }, 'B\'s notebook editor to follow the rename', 30_000).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(view)}`));
  assert.equal(view!.selected, index, 'the same cell selected');
  // The caret is put back once the moved cell shows the text it was in, and stays there. (It was
  // left at the cell's start when this test ran after the cell's output test: VS Code's ipynb support
  // dropped the saved count as the cell was typed in, the renamed notebook reported it, and every
  // editor redrew the cell to show the count. A count alone redraws nothing now.)
  await until(async () => JSON.stringify((view = await b.agent<View>('notebookView')).caret) === JSON.stringify(before), 'B\'s caret put back', 10_000).catch((err: Error) =>
    assert.fail(`${err.message}: ${JSON.stringify(view?.caret)}, was ${JSON.stringify(before)}`),
  );
  for (const e of [a, b]) {
    await until(async () => {
      const bound = await e.testApi<string[]>('boundNotebooks');
      return bound.includes(RENAMED) && !bound.includes(NB);
    }, `${e.options.name} binds the notebook under its new name only`, 30_000);
  }
  await until(async () => (await b.testApi<string[]>('notes')).some((n) => /^Alice renamed nb\.ipynb to renamed\.ipynb/.test(n)), 'B told who renamed it', 10_000);
  // B types on with the keyboard (the caret is in the cell), A into another cell: both reach both.
  // B's keys land where its caret was (a caret moved after it was put back would put them elsewhere).
  await typeOnAfterMove(RENAMED, index, cells.findIndex((c, i) => i !== index && c.id !== null), typed, 'after_rename', before!.head);
  let disks: unknown;
  await until(async () => {
    const [ta, tb, oa, ob] = await Promise.all([a.diskText(RENAMED), b.diskText(RENAMED), a.diskText(NB), b.diskText(NB)]);
    const th = fs.existsSync(path.join(headlessDir, RENAMED)) ? fs.readFileSync(path.join(headlessDir, RENAMED), 'utf8') : null;
    const oh = fs.existsSync(path.join(headlessDir, NB));
    disks = { a: ta?.length, b: tb?.length, headless: th?.length, old: [oa !== null, ob !== null, oh] };
    return ta !== null && ta === tb && ta === th && ta.includes('after_rename_b ') && oa === null && ob === null && !oh;
  }, 'the renamed notebook on every disk, the old name on none', 60_000).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(disks)}`));
  assertValidNotebook((await a.diskText(RENAMED))!, RENAMED);
}, 180_000);


editorTest('a folder renamed in A moves B\'s open notebook inside it (cell and caret kept); both keep co-editing it, and the old folder is gone from every disk', async () => {
  const { a, b } = pair();
  const MOVED = 'moved/inner.ipynb';
  const cells = (await b.agent<Cells>('notebookCells', IN_FOLDER)).cells;
  const index = cells.findIndex((c) => c.id !== null && c.kind === 'code');
  await b.agent('openNotebook', IN_FOLDER);
  await until(async () => (await b.testApi<string[]>('boundNotebooks')).includes(IN_FOLDER), 'B binds the notebook in the folder');
  await b.agent('selectInCell', IN_FOLDER, cells[index].id!, 1, 1);
  const typed = 'before_folder_b ';
  await b.agent('cellInsert', IN_FOLDER, index, 0, typed);
  await until(async () => (await a.agent<Cells>('notebookCells', IN_FOLDER)).cells[index].text.startsWith(typed), 'B\'s typing at A');
  type View = { tabs: Array<{ path: string }>; active: string | null; selected: number | null; caret: { cell: number; anchor: number; head: number } | null };
  const before = (await b.agent<View>('notebookView')).caret;
  assert.equal(before?.cell, index, 'B\'s caret in the cell');
  assert.equal(await a.agent('renameFile', 'nbs', 'moved'), true);
  let view: View | undefined;
  await until(async () => {
    view = await b.agent<View>('notebookView');
    return view.active === MOVED && !view.tabs.some((t) => t.path === IN_FOLDER) && JSON.stringify(view.caret) === JSON.stringify(before);
  }, 'B\'s notebook editor to follow the folder, caret where it was', 30_000).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(view)}, caret was ${JSON.stringify(before)}`));
  assert.equal(view!.selected, index, 'the same cell selected');
  for (const e of [a, b]) {
    await until(async () => {
      const bound = await e.testApi<string[]>('boundNotebooks');
      return !bound.includes(IN_FOLDER) && (e === a || bound.includes(MOVED));
    }, `${e.options.name} binds the notebook under its new path only`, 30_000);
  }
  await until(async () => (await b.testApi<string[]>('notes')).some((n) => n.startsWith(`Alice renamed ${IN_FOLDER} to ${MOVED}`)), 'B told who moved it', 10_000);
  // B types on with the keyboard, A into another cell (A opens the moved notebook): both reach both.
  await a.agent('openNotebook', MOVED);
  await typeOnAfterMove(MOVED, index, cells.findIndex((c, i) => i !== index && c.id !== null), typed, 'after_folder', before!.head);
  let disks: unknown;
  await until(async () => {
    const [ta, tb] = await Promise.all([a.diskText(MOVED), b.diskText(MOVED)]);
    const th = fs.existsSync(path.join(headlessDir, MOVED)) ? fs.readFileSync(path.join(headlessDir, MOVED), 'utf8') : null;
    const oldFolder = [a.workspaceDir, b.workspaceDir, headlessDir].map((dir) => fs.existsSync(path.join(dir, 'nbs')));
    disks = { a: ta?.length, b: tb?.length, headless: th?.length, oldFolder };
    return ta !== null && ta === tb && ta === th && ta.includes('after_folder_b ') && ta.includes('after_folder_a ') && oldFolder.every((x) => !x);
  }, 'the moved notebook on every disk, the old folder on none', 60_000).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(disks)}`));
  assertValidNotebook((await a.diskText(MOVED))!, MOVED);
}, 180_000);
