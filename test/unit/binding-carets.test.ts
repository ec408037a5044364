/**
 * The binding puts back a caret that a collaborator's insertion pushed along, and only such a caret.
 * The extension host hears of caret moves late: the carets read when a collaborator's edit is sent
 * may be where the person's caret was before they moved it. Putting one of those "back" sent the next
 * keystrokes into the middle of other words (the keyboard fuzz in two VS Codes, seed 1078646258:
 * "B003004y y", "B02y00y").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { BufferBinding } from '../../src/sync/buffer-binding';
import { silentLogger } from '../../src/session/log';
import { SimEditor, seededRandom } from '../helpers/sim-editor';

async function settled(editor: SimEditor, binding: BufferBinding, ytext: Y.Text): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (binding.settled && editor.caughtUp && editor.text === ytext.toString()) return;
    await new Promise((r) => setImmediate(r));
  }
  assert.fail(`never settled: buffer ${JSON.stringify(editor.text)}, shared ${JSON.stringify(ytext.toString())}`);
}

function bound(text: string, seed: number): { ytext: Y.Text; editor: SimEditor; binding: BufferBinding } {
  const ytext = new Y.Doc().getText('content');
  ytext.insert(0, text);
  const editor = new SimEditor(text, { rand: seededRandom(seed), keepCarets: true });
  const binding = new BufferBinding(ytext, editor, { logger: silentLogger });
  editor.binding = binding;
  return { ytext, editor, binding };
}

const fromPeer = (ytext: Y.Text, offset: number, text: string): void => ytext.doc!.transact(() => ytext.insert(offset, text), 'net');

test('a caret the person moved after the carets were read stays where they put it when a collaborator\'s edit lands', async () => {
  for (let seed = 1; seed <= 20; seed++) {
    const { ytext, editor, binding } = bound('hello world\n', seed);
    editor.type('a'); // at the start; its change event is on its way to the extension host
    editor.moveTo(editor.text.indexOf('\n')); // End: the extension host hears of it only later
    fromPeer(ytext, 6, 'PEER ');
    await settled(editor, binding, ytext);
    editor.type('Z');
    await settled(editor, binding, ytext);
    assert.equal(editor.text, 'ahello PEER worldZ\n', `seed ${seed}: the keystroke went where the caret was put`);
    assert.equal(ytext.toString(), editor.text);
    binding.dispose();
  }
});

test('a caret a collaborator\'s insertion pushed along goes back before the arriving text', async () => {
  const { ytext, editor, binding } = bound('end', 7);
  editor.moveTo(3); // at the very end: the insertion cannot be widened over a next character
  fromPeer(ytext, 3, ' PEER');
  await settled(editor, binding, ytext);
  editor.type('!');
  await settled(editor, binding, ytext);
  assert.equal(editor.text, 'end! PEER');
  assert.equal(ytext.toString(), 'end! PEER');
  binding.dispose();
});
