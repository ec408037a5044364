/**
 * A notebook moved on disk by VS Code's notebook editor is recognised by its cells (issue 18): VS Code
 * writes the cells in a form of its own, so neither the bytes the mirror last saw nor the shared
 * notebook as Jupyter writes it match the moved file; `holdsCells` compares ids, kinds and sources.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as Y from 'yjs';
import { holdsCells } from '../../src/sync/notebook/disk';
import { notebookText } from '../../src/sync/notebook/first-state';
import { writeIpynb } from '../../src/sync/notebook/ipynb';
import { NotebookModel } from '../../src/sync/notebook/model';
import { sampleNotebook } from '../helpers/notebook';

test('a file holding the model\'s cells in another formatting matches; one with any cell different does not', () => {
  const model = new NotebookModel(new Y.Doc());
  model.load(sampleNotebook(3));
  model.source('cell1')!.insert(0, 'typed ');
  const jupyter = notebookText(model);
  assert.equal(holdsCells(jupyter, model), true);
  // As another writer formats it: other indentation, other metadata.
  const other = JSON.stringify({ ...JSON.parse(jupyter), metadata: { vscode: { x: 1 } } }, null, 4);
  assert.notEqual(other, jupyter);
  assert.equal(holdsCells(other, model), true);
  const nb = model.toNotebook();
  const changed = (f: (cells: typeof nb.cells) => typeof nb.cells) => writeIpynb({ ...nb, cells: f(nb.cells.map((c) => ({ ...c }))) });
  assert.equal(holdsCells(changed((c) => (c[1].source += '!', c)), model), false, 'a source');
  assert.equal(holdsCells(changed((c) => c.slice(1)), model), false, 'a cell fewer');
  assert.equal(holdsCells(changed((c) => [c[1], c[0], c[2]]), model), false, 'the order');
  assert.equal(holdsCells(changed((c) => (c[2].id = 'other', c)), model), false, 'an id');
  assert.equal(holdsCells('{"not": "a notebook"}', model), false, 'no notebook');
});
