/**
 * The notebook model (issue 18): .ipynb read and written as Jupyter does, cells that never duplicate
 * or vanish under concurrent structure edits, and a fuzz of several peers against an exact oracle.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as Y from 'yjs';
import { applyNotebookChange, longestIncreasing } from '../../src/sync/notebook/apply';
import { NotebookFormatError, parseIpynb, splitLines, writeIpynb, type Notebook } from '../../src/sync/notebook/ipynb';
import { MAX_OUTPUT_BYTES, NotebookModel } from '../../src/sync/notebook/model';
import { between, spread } from '../../src/sync/notebook/positions';

/** Written by Jupyter (nbformat 4.5): the exact bytes must come back. */
const JUPYTER = `{
 "cells": [
  {
   "cell_type": "markdown",
   "id": "a1b2c3",
   "metadata": {},
   "source": [
    "# Title\\n",
    "\\n",
    "Some *text* — ünïcode"
   ]
  },
  {
   "cell_type": "code",
   "execution_count": 3,
   "id": "d4e5f6",
   "metadata": {
    "tags": [
     "x"
    ]
   },
   "outputs": [
    {
     "name": "stdout",
     "output_type": "stream",
     "text": [
      "hello\\n",
      "world\\n"
     ]
    },
    {
     "data": {
      "text/plain": [
       "42"
      ]
     },
     "execution_count": 3,
     "metadata": {},
     "output_type": "execute_result"
    }
   ],
   "source": [
    "print('hello')\\n",
    "print('world')\\n",
    "42"
   ]
  },
  {
   "cell_type": "code",
   "execution_count": null,
   "id": "g7",
   "metadata": {},
   "outputs": [],
   "source": []
  }
 ],
 "metadata": {
  "kernelspec": {
   "display_name": "Python 3",
   "language": "python",
   "name": "python3"
  },
  "language_info": {
   "name": "python"
  }
 },
 "nbformat": 4,
 "nbformat_minor": 5
}
`;

test('a notebook Jupyter wrote is written back byte for byte', () => {
  const nb = parseIpynb(JUPYTER);
  assert.equal(nb.cells.length, 3);
  assert.equal(nb.cells[1].source, "print('hello')\nprint('world')\n42");
  assert.equal(writeIpynb(nb), JUPYTER);
  // Through the model too.
  const m = new NotebookModel(new Y.Doc());
  m.load(nb);
  assert.equal(writeIpynb(m.toNotebook()), JUPYTER);
});

test('notebooks without cell ids get the same ids on every peer, and bad files are refused with the reason', () => {
  const old = JSON.parse(JUPYTER) as { cells: Array<Record<string, unknown>>; nbformat_minor: number };
  old.nbformat_minor = 4;
  for (const c of old.cells) delete c.id;
  const text = JSON.stringify(old);
  const a = parseIpynb(text);
  const b = parseIpynb(text);
  assert.deepEqual(a.cells.map((c) => c.id), b.cells.map((c) => c.id));
  assert.equal(new Set(a.cells.map((c) => c.id)).size, 3);
  assert.ok(!writeIpynb(a).includes('"id"'), 'nbformat 4.4 files are written without ids, as Jupyter does');
  assert.throws(() => parseIpynb('{'), NotebookFormatError);
  assert.throws(() => parseIpynb('{"nbformat": 3, "worksheets": []}'), /nbformat 3 is not supported/);
  assert.throws(() => parseIpynb('{"nbformat": 4, "cells": [{"cell_type": "bogus"}]}'), /unknown cell_type/);
  assert.deepEqual(splitLines('a\nb'), ['a\n', 'b']);
  assert.deepEqual(splitLines(''), []);
});

test('two peers loading one file at once hold one notebook, not two', () => {
  const nb = parseIpynb(JUPYTER);
  const [a, b] = [new Y.Doc(), new Y.Doc()];
  const [ma, mb] = [new NotebookModel(a), new NotebookModel(b)];
  ma.load(nb);
  mb.load(nb);
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
  assert.equal(ma.cells().length, 3);
  ma.source('d4e5f6')?.insert(0, '# A\n');
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
  assert.equal(writeIpynb(mb.toNotebook()), writeIpynb(ma.toNotebook()));
  assert.ok(mb.toNotebook().cells[1].source.startsWith('# A\nprint'));
});

test('positions: between always lands strictly between, spread is ordered', () => {
  let r = 1;
  const random = (): number => ((r = (r * 16807) % 2147483647) / 2147483647);
  const keys = spread(50);
  for (let i = 1; i < keys.length; i++) assert.ok(keys[i - 1] < keys[i]);
  let list = ['', ''];
  for (let i = 0; i < 2000; i++) {
    const inner = list.slice(1, -1);
    const k = Math.floor(random() * (inner.length + 1));
    const a = k === 0 ? '' : inner[k - 1];
    const b = k === inner.length ? '' : inner[k];
    const key = between(a, b, random);
    assert.ok((a === '' || a < key) && (b === '' || key < b), `${a} < ${key} < ${b}`);
    list = ['', ...inner.slice(0, k), key, ...inner.slice(k), ''];
  }
  assert.deepEqual(longestIncreasing([3, 1, 2, 5, 4]).length, 3);
});

test('a cell deleted while someone typed in it comes back, with their text, on both peers', () => {
  const [a, b] = [new Y.Doc(), new Y.Doc()];
  const [ma, mb] = [new NotebookModel(a), new NotebookModel(b)];
  ma.load(parseIpynb(JUPYTER));
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
  const restored: string[] = [];
  ma.on('restored', (id) => restored.push(`A ${id}`));
  mb.on('restored', (id) => restored.push(`B ${id}`));
  ma.deleteCell('d4e5f6');
  mb.source('d4e5f6')?.insert(0, 'typed while deleted ');
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
  for (const m of [ma, mb]) {
    const cell = m.cells().find((c) => c.id === 'd4e5f6');
    assert.ok(cell?.source.startsWith('typed while deleted '), 'the cell is back with the text');
  }
  assert.deepEqual(restored.sort(), ['A d4e5f6', 'B d4e5f6'], 'both are told');
  // A delete nobody raced with stays deleted, and can be restored by hand.
  ma.deleteCell('a1b2c3');
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
  assert.deepEqual(mb.cells().map((c) => c.id), ['d4e5f6', 'g7']);
  assert.deepEqual(mb.deletedCells().map((c) => c.id), ['a1b2c3']);
  mb.restoreCell('a1b2c3');
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
  assert.deepEqual(ma.cells().map((c) => c.id), ['a1b2c3', 'd4e5f6', 'g7']);
});

test('outputs larger than the bound are summarised, not shared whole', () => {
  const m = new NotebookModel(new Y.Doc());
  m.load(parseIpynb(JUPYTER));
  m.setOutputs('d4e5f6', [{ output_type: 'stream', name: 'stdout', text: 'x'.repeat(MAX_OUTPUT_BYTES + 10) }], 4);
  const cell = m.cells()[1];
  assert.equal(cell.outputs.length, 1);
  assert.match(String(cell.outputs[0].text), /not shared/);
  assert.equal(cell.executionCount, 4);
});

test('a change on disk is applied as a change: what others did meanwhile stays', () => {
  const [a, b] = [new Y.Doc(), new Y.Doc()];
  const [ma, mb] = [new NotebookModel(a), new NotebookModel(b)];
  const base = parseIpynb(JUPYTER);
  ma.load(base);
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
  // B types in the code cell and adds a cell at the end; meanwhile a tool on A's disk moves the
  // empty cell first, edits the markdown and inserts a raw cell after it.
  mb.source('d4e5f6')?.insert(0, '# from B\n');
  mb.insertCell(3, { kind: 'markdown', source: 'B at the end', id: 'bend' });
  const next: Notebook = structuredClone(base);
  next.cells = [next.cells[2], next.cells[0], { ...next.cells[0], id: 'raw1', kind: 'raw', source: 'raw!' }, next.cells[1]];
  next.cells[1] = { ...next.cells[1], source: '# Title changed on disk\n\nSome *text* — ünïcode' };
  applyNotebookChange(ma, base, next);
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
  for (const m of [ma, mb]) {
    assert.deepEqual(m.cells().map((c) => c.id), ['g7', 'a1b2c3', 'raw1', 'd4e5f6', 'bend']);
    assert.equal(m.cells()[1].source, '# Title changed on disk\n\nSome *text* — ünïcode');
    assert.ok(m.cells()[3].source.startsWith('# from B\nprint'));
  }
  assert.equal(writeIpynb(ma.toNotebook()), writeIpynb(mb.toNotebook()));
});

/** Several peers edit structure and text at once, messages delivered late and out of turn. */
function fuzz(seed: number, peers: number, ops: number): void {
  let r = seed;
  const random = (): number => ((r = (r * 48271) % 2147483647) / 2147483647);
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
  const docs = Array.from({ length: peers }, () => new Y.Doc());
  const models = docs.map((d) => new NotebookModel(d, random));
  models[0].load(parseIpynb(JUPYTER));
  for (const d of docs.slice(1)) Y.applyUpdate(d, Y.encodeStateAsUpdate(docs[0]));
  // Updates queued per receiver, delivered in random batches (Yjs tolerates any order).
  const inbox: Uint8Array[][] = docs.map(() => []);
  docs.forEach((d, i) =>
    d.on('update', (u: Uint8Array, origin: unknown) => {
      if (origin === 'remote') return;
      docs.forEach((_, j) => j !== i && inbox[j].push(u));
    }),
  );
  const deliver = (j: number, n: number): void => {
    for (const u of inbox[j].splice(0, n)) Y.applyUpdate(docs[j], u, 'remote');
  };
  const tokens = new Map<string, string>(); // token -> the cell it was typed in
  const inserted = new Set<string>(['a1b2c3', 'd4e5f6', 'g7']);
  for (let op = 0; op < ops; op++) {
    const p = Math.floor(random() * peers);
    const m = models[p];
    const live = m.cells();
    const roll = random();
    if (roll < 0.5 && live.length) {
      const cell = pick(live);
      const text = m.source(cell.id) as Y.Text;
      const token = `<${String.fromCharCode(65 + p)}${op}>`;
      // Between tokens, never inside one (a token split by another is the oracle's mistake, not a loss).
      const s = text.toString();
      const offsets = [0];
      for (let i = 0, depth = 0; i < s.length; i++) {
        depth += s[i] === '<' ? 1 : s[i] === '>' ? -1 : 0;
        if (depth === 0) offsets.push(i + 1);
      }
      text.insert(pick(offsets), token);
      tokens.set(token, cell.id);
    } else if (roll < 0.65) {
      inserted.add(m.insertCell(Math.floor(random() * (live.length + 1)), { kind: random() < 0.5 ? 'code' : 'markdown' }));
    } else if (roll < 0.75 && live.length > 1) {
      m.deleteCell(pick(live).id);
    } else if (roll < 0.9 && live.length) {
      m.moveCell(pick(live).id, Math.floor(random() * live.length));
    } else if (roll < 0.95 && live.length) {
      m.setOutputs(pick(live).id, [{ output_type: 'stream', name: 'stdout', text: `run ${op}\n` }], op);
    } else {
      const dead = m.deletedCells();
      if (dead.length) m.restoreCell(pick(dead).id);
    }
    deliver(Math.floor(random() * peers), Math.floor(random() * 4));
  }
  // Until quiet: a peer that brings a cell back on receiving a delete sends that too.
  while (inbox.some((q) => q.length)) for (let j = 0; j < peers; j++) deliver(j, Infinity);
  const replay = `seed ${seed}, ${peers} peers, ${ops} operations`;
  const files = models.map((m) => writeIpynb(m.toNotebook()));
  for (const f of files) assert.equal(f, files[0], `every peer writes the same file (${replay})`);
  const all = [...models[0].cells(), ...models[0].deletedCells()];
  assert.deepEqual(new Set(all.map((c) => c.id)), inserted, `every cell ever inserted is there once, live or deleted (${replay})`);
  const ids = models[0].cells().map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length, `no cell twice (${replay})`);
  for (const [token, id] of tokens) {
    const cell = all.find((c) => c.id === id);
    assert.equal(cell?.source.split(token).length, 2, `${token} once in cell ${id} (${replay})`);
  }
  for (const dead of models[0].deletedCells()) {
    // A deleted cell holds nothing its deleter did not see: otherwise it would have come back.
    const m = docs[0].getMap<Y.Map<unknown>>('cells').get(dead.id);
    assert.equal(dead.source, m?.get('deletedSource'), `deleted cell ${dead.id} hides no typing (${replay})`);
  }
  assert.deepEqual(parseIpynb(files[0]).cells.map((c) => c.id), ids, `the file reads back (${replay})`);
}

test('fuzz: concurrent structure and text edits converge without losing or duplicating a cell or a token', () => {
  const seeds = Number(process.env.HYPERPAIR_NOTEBOOK_FUZZ_SEEDS ?? 60);
  for (let seed = 1; seed <= seeds; seed++) fuzz(seed, 2 + (seed % 3), 300);
});
