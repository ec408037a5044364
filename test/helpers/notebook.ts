/**
 * Notebooks for tests (issue 18): a small nbformat 4.5 notebook as Jupyter writes it, and a check that
 * a file is a notebook Jupyter would accept (JSON, nbformat 4, every key nbformat's schema requires,
 * of the right type), shared by the headless and the two-editor tests.
 */
import assert from 'node:assert/strict';
import { writeIpynb, type Notebook } from '../../src/sync/notebook/ipynb';

export function sampleNotebook(cells = 3): Notebook {
  return {
    nbformat: 4,
    nbformatMinor: 5,
    metadata: { kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' }, language_info: { name: 'python' } },
    cells: Array.from({ length: cells }, (_, i) => ({
      id: `cell${i}`,
      kind: i === 0 ? ('markdown' as const) : ('code' as const),
      source: i === 0 ? '# Notes\n\nShared.' : `x${i} = ${i}\nprint(x${i})`,
      metadata: {},
      outputs: [],
      executionCount: null,
    })),
  };
}

export function sampleNotebookText(cells = 3): string {
  return writeIpynb(sampleNotebook(cells));
}

/** Asserts that `text` is an nbformat 4 notebook with every required key; returns it parsed. */
export function assertValidNotebook(text: string, where = 'notebook'): { cells: Array<Record<string, unknown>>; nbformat_minor: number } {
  let nb: Record<string, unknown>;
  try {
    nb = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    assert.fail(`${where} is not JSON: ${(err as Error).message}`);
  }
  assert.equal(nb.nbformat, 4, `${where}: nbformat`);
  assert.equal(typeof nb.nbformat_minor, 'number', `${where}: nbformat_minor`);
  assert.ok(isObject(nb.metadata), `${where}: metadata`);
  assert.ok(Array.isArray(nb.cells), `${where}: cells`);
  const minor = nb.nbformat_minor as number;
  const ids = new Set<string>();
  for (const [i, c] of (nb.cells as unknown[]).entries()) {
    assert.ok(isObject(c), `${where}: cell ${i} is an object`);
    const cell = c as Record<string, unknown>;
    assert.ok(['code', 'markdown', 'raw'].includes(cell.cell_type as string), `${where}: cell ${i} cell_type`);
    assert.ok(isObject(cell.metadata), `${where}: cell ${i} metadata`);
    assert.ok(Array.isArray(cell.source) && cell.source.every((l) => typeof l === 'string'), `${where}: cell ${i} source is a list of lines`);
    if (minor >= 5) {
      assert.ok(typeof cell.id === 'string' && /^[a-zA-Z0-9-_]{1,64}$/.test(cell.id), `${where}: cell ${i} id`);
      assert.ok(!ids.has(cell.id as string), `${where}: cell ${i} id is unique`);
      ids.add(cell.id as string);
    }
    if (cell.cell_type === 'code') {
      assert.ok(Array.isArray(cell.outputs), `${where}: cell ${i} outputs`);
      assert.ok(cell.execution_count === null || typeof cell.execution_count === 'number', `${where}: cell ${i} execution_count`);
    } else {
      assert.ok(!('outputs' in cell) && !('execution_count' in cell), `${where}: cell ${i} (${String(cell.cell_type)}) has no outputs`);
    }
  }
  return nb as { cells: Array<Record<string, unknown>>; nbformat_minor: number };
}

/** The cells' sources of a notebook file, in order. */
export function sources(text: string): string[] {
  return assertValidNotebook(text).cells.map((c) => (c.source as string[]).join(''));
}

function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
