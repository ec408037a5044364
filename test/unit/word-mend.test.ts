/**
 * A collaborator's text that Yjs ordered inside the person's word in progress goes after the word
 * (word-mend.ts): both typed at one spot at once, and the collaborator's client id came first.
 * Real Yjs documents, the real binding, a simulated asynchronous editor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { BufferBinding } from '../../src/sync/buffer-binding';
import { silentLogger } from '../../src/session/log';
import { SimEditor, seededRandom } from '../helpers/sim-editor';

const sync = (from: Y.Doc, to: Y.Doc): void => Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)), 'net');

async function settled(editor: SimEditor, binding: BufferBinding, ytext: Y.Text): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (binding.settled && editor.caughtUp && editor.text === ytext.toString()) return;
    await new Promise((r) => setImmediate(r));
  }
  assert.fail(`never settled: buffer ${JSON.stringify(editor.text)}, shared ${JSON.stringify(ytext.toString())}`);
}

/** A types in a bound editor (client id `a`); B is a bare document (client id `b`). */
function pair(text: string, a: number, b: number, seed: number) {
  const docA = new Y.Doc();
  docA.clientID = a;
  const docB = new Y.Doc();
  docB.clientID = b;
  docB.getText('content').insert(0, text);
  sync(docB, docA);
  const ytext = docA.getText('content');
  const editor = new SimEditor(text, { rand: seededRandom(seed), keepCarets: true });
  const binding = new BufferBinding(ytext, editor, { logger: silentLogger });
  editor.binding = binding;
  return { docA, docB, ytext, editor, binding };
}

type Pair = ReturnType<typeof pair>;

/** A has typed `word` after "x" and B has it. */
async function typedAndShared(p: Pair, word: string): Promise<void> {
  p.editor.moveTo(1);
  for (const ch of word) p.editor.type(ch);
  await settled(p.editor, p.binding, p.ytext);
  sync(p.docA, p.docB);
}

/** What each typed meanwhile reaches the other, and A's editor. */
async function exchange(p: Pair): Promise<void> {
  await settled(p.editor, p.binding, p.ytext);
  sync(p.docB, p.docA);
  await settled(p.editor, p.binding, p.ytext);
  sync(p.docA, p.docB);
}

test('a collaborator\'s text ordered inside the word being typed goes after it, on both peers', async () => {
  for (let seed = 1; seed <= 10; seed++) {
    // B's client id is the lower: Yjs puts B's insertion first where both inserted at one place.
    const p = pair('x\n', 20, 10, seed);
    const { docB, ytext, editor, binding } = p;
    await typedAndShared(p, ' A01');
    // At once: B, seeing "x A01", types at its end; A types the rest of its word.
    docB.getText('content').insert(5, ' B003y');
    for (const ch of '2x') editor.type(ch);
    await exchange(p);
    assert.equal(ytext.toString(), 'x A012x B003y\n', `seed ${seed}`);
    assert.equal(docB.getText('content').toString(), ytext.toString(), `seed ${seed}: both peers`);
    assert.equal(editor.text, ytext.toString());
    // A goes on typing its word, B its own: each stays whole.
    editor.type('9');
    docB.getText('content').insert(ytext.length - 1, 'Z');
    await exchange(p);
    assert.equal(ytext.toString(), 'x A012x9 B003yZ\n', `seed ${seed}`);
    assert.equal(docB.getText('content').toString(), ytext.toString());
    binding.dispose();
  }
});

test('a collaborator who typed inside the word on purpose (they saw the letter after) is left where they typed', async () => {
  const p = pair('x\n', 20, 10, 3);
  const { docB, ytext, editor, binding } = p;
  await typedAndShared(p, ' A012');
  docB.getText('content').insert(5, 'B'); // between A's "1" and "2", which B sees
  editor.type('x');
  await exchange(p);
  assert.equal(ytext.toString(), 'x A01B2x\n');
  assert.equal(docB.getText('content').toString(), ytext.toString());
  binding.dispose();
});

test('with the person\'s client id the lower, Yjs already keeps the word whole and nothing moves', async () => {
  const p = pair('x\n', 10, 20, 4);
  const { docA, docB, ytext, editor, binding } = p;
  await typedAndShared(p, ' A01');
  docB.getText('content').insert(5, ' B003y');
  for (const ch of '2x') editor.type(ch);
  await settled(editor, binding, ytext);
  const before = Y.getState(docA.store, docA.clientID);
  sync(docB, docA);
  await settled(editor, binding, ytext);
  assert.equal(ytext.toString(), 'x A012x B003y\n');
  assert.equal(Y.getState(docA.store, docA.clientID), before, 'no letter put again');
  binding.dispose();
});
