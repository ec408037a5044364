/**
 * Notebooks on the wire (issue 18, docs/PROTOCOL.md §6.1 version 3): an `.ipynb` is shared as a
 * notebook document, cell by cell, between headless peers over a real hyperswarm testnet; concurrent
 * typing and structure edits, made through the model and through the files on disk, leave every
 * disk with the same valid notebook.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunningPeer } from '../../src/app/peer';
import { parseIpynb, writeIpynb } from '../../src/sync/notebook/ipynb';
import * as Y from 'yjs';
import { keepIds } from '../../src/sync/notebook/disk';
import { MAX_NOTEBOOK_CELLS, notebookProblem } from '../../src/sync/notebook/bounds';
import { isNotebookDoc } from '../../src/sync/notebook/first-state';
import { NotebookModel } from '../../src/sync/notebook/model';
import { spread } from '../../src/sync/notebook/positions';
import { assertValidNotebook, sampleNotebook, sampleNotebookText, sources } from '../helpers/notebook';
import { sameTrees, usePeers } from '../helpers/peers';
import { waitFor } from '../helpers/testnet';
import { tempDir, writeTree } from '../helpers/tree';

const testPeers = usePeers();
const start = (options: { mode: 'share' | 'join'; dir: string; name: string; code?: string }): Promise<RunningPeer> => testPeers.start(options);

async function three(files: Record<string, string>): Promise<{ dirs: string[]; peers: RunningPeer[] }> {
  const a = tempDir();
  writeTree(a, files);
  const pa = await start({ mode: 'share', dir: a, name: 'a' });
  const b = path.join(tempDir(), 'b');
  const c = path.join(tempDir(), 'c');
  const [pb, pc] = await Promise.all([start({ mode: 'join', code: pa.code, dir: b, name: 'b' }), start({ mode: 'join', code: pa.code, dir: c, name: 'c' })]);
  return { dirs: [a, b, c], peers: [pa, pb, pc] };
}

const read = (dir: string, rel = 'nb.ipynb') => fs.readFileSync(path.join(dir, rel), 'utf8');

/** Every disk holds the same file, with every one of `marks`, and it is a valid notebook. */
async function settled(dirs: string[], what: string, marks: string[] = []): Promise<string> {
  await waitFor(() => sameTrees(dirs)() && marks.every((m) => read(dirs[0]).includes(m)), what);
  const text = read(dirs[0]);
  for (const d of dirs) assertValidNotebook(read(d), d);
  return text;
}

test('an .ipynb is shared as a notebook: joiners write the same file, and the entry says notebook', async () => {
  const { dirs, peers } = await three({ 'nb.ipynb': sampleNotebookText(), 'broken.ipynb': '{ "cells": [' });
  await settled(dirs, 'the first copy on every disk');
  for (const p of peers) {
    assert.equal(p.workspace.byPath('nb.ipynb')?.kind, 'notebook');
    // Not a notebook (not JSON): shared as the text it is.
    assert.equal(p.workspace.byPath('broken.ipynb')?.kind, 'text');
  }
  assert.equal(read(dirs[1]), sampleNotebookText());
  await Promise.all(peers.map((p) => p.close()));
});

test('three peers type in one cell and in others while cells are inserted, deleted and moved: every disk ends with the same valid notebook, nothing lost', async () => {
  const { dirs, peers } = await three({ 'nb.ipynb': sampleNotebookText(4) });
  await settled(dirs, 'the first copy');
  const id = peers[0].workspace.byPath('nb.ipynb')!.id;
  const [ma, mb, mc] = await Promise.all(peers.map((p) => p.workspace.notebook(id)));
  // Concurrently (no awaits in between): a and b type into cell1, c into cell2; a inserts a cell at
  // the top, b deletes cell3, c moves cell1 to the end; b inserts a markdown cell after cell0.
  ma.source('cell1')!.insert(0, '# typed by a\n');
  mb.source('cell1')!.insert(ma.source('cell1')!.length - '# typed by a\n'.length, '\n# typed by b');
  mc.source('cell2')!.insert(0, 'c = "typed by c"\n');
  const newA = ma.insertCell(0, { kind: 'code', source: 'inserted_by_a = 1' }, 'editor');
  mb.deleteCell('cell3', 'editor');
  mc.moveCell('cell1', 3, 'editor');
  const newB = mb.insertCell(1, { kind: 'markdown', source: 'inserted by b' }, 'editor');
  const text = await settled(dirs, 'the concurrent edits on every disk', ['typed by a', 'typed by b', 'typed by c', 'inserted_by_a', 'inserted by b']);
  await waitFor(() => !read(dirs[0]).includes('x3 = 3'), 'the delete on every disk');
  await settled(dirs, 'the delete on every disk');
  const nb = parseIpynb(text);
  const ids = nb.cells.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length, 'no cell twice');
  assert.ok(!ids.includes('cell3'), 'the deleted cell is gone');
  for (const want of [newA, newB, 'cell0', 'cell1', 'cell2']) assert.ok(ids.includes(want), `cell ${want} is there`);
  assert.equal(ids[ids.length - 1], 'cell1', 'the moved cell is last');
  const cell1 = nb.cells.find((c) => c.id === 'cell1')!.source;
  assert.ok(cell1.includes('# typed by a\n') && cell1.includes('# typed by b') && cell1.includes('print(x1)'), cell1);
  assert.ok(nb.cells.find((c) => c.id === 'cell2')!.source.startsWith('c = "typed by c"\n'));
  // Every model agrees with the disk.
  for (const m of [ma, mb, mc]) assert.equal(writeIpynb(m.toNotebook()), text);
  await Promise.all(peers.map((p) => p.close()));
});

test('a notebook edited on one disk (as Jupyter saves it) while others type merges: both edits everywhere', async () => {
  const { dirs, peers } = await three({ 'nb.ipynb': sampleNotebookText(3) });
  await settled(dirs, 'the first copy');
  const id = peers[0].workspace.byPath('nb.ipynb')!.id;
  const mc = await peers[2].workspace.notebook(id);
  // On b's disk: cell2's source changed, a new cell appended, cell0 deleted (what a Jupyter save does).
  const onDisk = sampleNotebook(3);
  onDisk.cells[2].source = 'x2 = 2\nprint("saved by b")';
  onDisk.cells.push({ id: 'fromdisk', kind: 'code', source: 'from_disk = True', metadata: {}, outputs: [], executionCount: null });
  onDisk.cells.shift();
  fs.writeFileSync(path.join(dirs[1], 'nb.ipynb'), writeIpynb(onDisk));
  // Meanwhile c types at the start of cell2 and in cell1.
  mc.source('cell2')!.insert(0, '# c was here\n');
  mc.source('cell1')!.insert(0, '# c in cell1\n');
  const text = await settled(dirs, 'the disk edit and the typing everywhere', ['# c was here', '# c in cell1', 'saved by b', 'from_disk']);
  assert.deepEqual(sources(text), ['# c in cell1\nx1 = 1\nprint(x1)', '# c was here\nx2 = 2\nprint("saved by b")', 'from_disk = True']);
  await Promise.all(peers.map((p) => p.close()));
});

test('a notebook created on a disk after joining is shared as a notebook; a file that is no notebook any more is neither taken nor written over', async () => {
  const { dirs, peers } = await three({ 'readme.md': 'hi\n' });
  fs.writeFileSync(path.join(dirs[2], 'nb.ipynb'), sampleNotebookText(2));
  await settled(dirs, 'the new notebook everywhere', ['x1 = 1']);
  await waitFor(() => peers[0].workspace.byPath('nb.ipynb')?.kind === 'notebook', 'the entry a notebook');
  const id = peers[0].workspace.byPath('nb.ipynb')!.id;
  // Half written on a's disk (a tool in the middle of a save): not taken, and not overwritten while
  // b types.
  const half = sampleNotebookText(2).slice(0, 40);
  fs.writeFileSync(path.join(dirs[0], 'nb.ipynb'), half);
  const mb = await peers[1].workspace.notebook(id);
  mb.source('cell1')!.insert(0, '# b typed\n');
  await waitFor(() => read(dirs[2]).includes('# b typed'), "b's typing on c's disk");
  const ma = await peers[0].workspace.notebook(id);
  await waitFor(() => ma.toNotebook().cells[1].source.includes('# b typed'), "b's typing in a's model");
  await peers[0].mirror.idle(); // a's mirror has done what it would with it
  assert.equal(read(dirs[0]), half, 'the half-written file is not written over');
  assert.equal(writeIpynb(ma.toNotebook()), read(dirs[2]), 'nothing of it taken');
  // The save completes (on top of what a saw last): taken, with b's typing kept.
  const done = sampleNotebook(2);
  done.cells[0].source = '# Notes, saved by a';
  fs.writeFileSync(path.join(dirs[0], 'nb.ipynb'), writeIpynb(done));
  const text = await settled(dirs, 'the completed save everywhere', ['saved by a']);
  assert.deepEqual(sources(text), ['# Notes, saved by a', '# b typed\nx1 = 1\nprint(x1)']);
  await Promise.all(peers.map((p) => p.close()));
});

test('a notebook without cell ids (nbformat 4.4): a cell edited on disk keeps its identity', () => {
  const base = parseIpynb(writeIpynb({ ...sampleNotebook(3), nbformatMinor: 4 }));
  const edited = { ...sampleNotebook(3), nbformatMinor: 4 };
  edited.cells[1].source = 'changed';
  const next = parseIpynb(writeIpynb(edited));
  assert.notEqual(next.cells[1].id, base.cells[1].id, 'derived ids differ');
  assert.deepEqual(keepIds(base, next).cells.map((c) => c.id), base.cells.map((c) => c.id));
});

test('spec (§6.1, version 3): a notebook\'s first state is the same bytes from the same file, its positions as written, and its bounds hold', () => {
  const nb = sampleNotebook(3);
  const one = NotebookModel.initialState(nb);
  const two = NotebookModel.initialState(parseIpynb(writeIpynb(nb)));
  assert.deepEqual(Buffer.from(one), Buffer.from(two));
  // i-th of n cells: ((i + 1) × ⌊36^w / (n + 1)⌋) in base 36, w digits, then "i".
  assert.deepEqual(spread(3), ['9i', 'ii', 'ri']);
  const doc = new Y.Doc();
  Y.applyUpdate(doc, one);
  assert.ok(isNotebookDoc(doc));
  assert.equal(notebookProblem(doc, 100), undefined);
  assert.match(notebookProblem(doc, 10) ?? '', /over 10 characters/);
  const cells = doc.getMap('cells');
  doc.transact(() => {
    for (let i = 0; i <= MAX_NOTEBOOK_CELLS; i++) cells.set(`c${i}`, new Y.Map());
  });
  assert.match(notebookProblem(doc, 100) ?? '', /more than 10000 cells/);
  // Read defensively: a peer's wrong-shaped values are written as a well-formed notebook.
  const hostile = new Y.Doc();
  Y.applyUpdate(hostile, one);
  const m = new NotebookModel(hostile);
  const cell = hostile.getMap<Y.Map<unknown>>('cells').get('cell1')!;
  hostile.transact(() => {
    cell.set('kind', 'evil');
    cell.set('metadata', [1, 2]);
    cell.set('outputs', ['x', { output_type: 'stream', name: 'stdout', text: 'ok' }]);
    cell.set('executionCount', -3);
    hostile.getMap('notebook').set('nbformat', 5);
  });
  const text = writeIpynb(m.toNotebook());
  const parsed = assertValidNotebook(text);
  assert.equal(parsed.cells[1].cell_type, 'code');
  assert.deepEqual(parsed.cells[1].metadata, {});
  assert.equal((parsed.cells[1].outputs as unknown[]).length, 1);
  assert.equal(parsed.cells[1].execution_count, null);
  m.dispose();
});

test('a peer that stops, has its notebook edited on disk while away, and joins again: its edit and the others\' meanwhile are on both disks', async () => {
  const a = tempDir();
  writeTree(a, { 'nb.ipynb': sampleNotebookText(3) });
  const pa = await start({ mode: 'share', dir: a, name: 'a' });
  const b = path.join(tempDir(), 'b');
  const pb = await start({ mode: 'join', code: pa.code, dir: b, name: 'b' });
  await settled([a, b], 'the first copy');
  await pb.close();
  // Away: b's disk changes cell1 (Jupyter saving); a types in cell2 and adds a cell.
  const edited = sampleNotebook(3);
  edited.cells[1].source = 'x1 = 100  # edited on b while away\nprint(x1)';
  fs.writeFileSync(path.join(b, 'nb.ipynb'), writeIpynb(edited));
  const ma = await pa.workspace.notebook(pa.workspace.byPath('nb.ipynb')!.id);
  ma.source('cell2')!.insert(0, '# a meanwhile\n');
  ma.insertCell(3, { kind: 'markdown', source: 'added by a meanwhile' }, 'editor');
  await waitFor(() => read(a).includes('added by a meanwhile'), "a's change on a's disk");
  const pb2 = await start({ mode: 'join', code: pa.code, dir: b, name: 'b' });
  const text = await settled([a, b], 'both sides after b came back', ['edited on b while away', '# a meanwhile', 'added by a meanwhile']);
  assert.deepEqual(sources(text), ['# Notes\n\nShared.', 'x1 = 100  # edited on b while away\nprint(x1)', '# a meanwhile\nx2 = 2\nprint(x2)', 'added by a meanwhile']);
  await Promise.all([pa.close(), pb2.close()]);
});

test('a lone surrogate escaped in an .ipynb ("\\ud800", which JSON allows) is U+FFFD in the shared cell on every peer and disk', async () => {
  const nb = sampleNotebook(2);
  // The file as a tool that escapes non-ASCII writes it: the lone surrogate only as an escape.
  const text = JSON.stringify({ ...JSON.parse(writeIpynb(nb)), metadata: { 'k\ud800': 'v\udc00' } });
  const withLone = text.replace(/("source":\s*\[)/, '$1"a\\ud800b \\ud83d\\ude00",');
  assert.match(withLone, /\\ud800/);
  assert.equal(parseIpynb(withLone).cells[0].source.startsWith('a\ufffdb \u{1F600}'), true, JSON.stringify(parseIpynb(withLone).cells[0].source));
  assert.deepEqual(parseIpynb(withLone).metadata, { 'k\ufffd': 'v\ufffd' });
  const a = tempDir();
  writeTree(a, { 'nb.ipynb': withLone });
  const pa = await start({ mode: 'share', dir: a, name: 'a' });
  const b = path.join(tempDir(), 'b');
  const pb = await start({ mode: 'join', code: pa.code, dir: b, name: 'b' });
  const cells = async (p: RunningPeer) => (await p.workspace.notebook(p.workspace.byPath('nb.ipynb')!.id)).cells().map((c) => c.source);
  const [ca, cb] = [await cells(pa), await cells(pb)];
  assert.deepEqual(ca, cb);
  assert.ok(ca[0].startsWith('a\ufffdb \u{1F600}'), JSON.stringify(ca[0]));
  assert.ok(sources(read(b))[0].startsWith('a\ufffdb \u{1F600}'));
  // An edit on b's disk goes through a's parse of the same file: a's cell and file follow, the same.
  fs.writeFileSync(path.join(b, 'nb.ipynb'), read(b).replace('a\ufffdb', 'a\ufffdbc'));
  await waitFor(async () => (await cells(pa))[0].startsWith('a\ufffdbc') && sameTrees([a, b])(), 'b\'s edit on a, identical disks');
  await Promise.all([pa.close(), pb.close()]);
});
