/**
 * A document the editor reloads from disk (VS Code reloads a clean document whose file changed). If
 * the disk mirror wrote that text as the document was opening, it is an older copy of the shared
 * text: the buffer gets the shared text back, and nothing of it changes (two real editors: taken for
 * typing, the whole-line replacement put the old line back over a collaborator's '// B ' and moved
 * it). Another tool's write is an edit, and reaches the shared text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { BufferBinding } from '../../src/sync/buffer-binding';
import { silentLogger } from '../../src/session/log';
import { SimEditor, seededRandom, ticks } from '../helpers/sim-editor';

async function settled(binding: BufferBinding, editor: SimEditor, ytext: Y.Text): Promise<void> {
  for (let i = 0; i < 20_000; i++) {
    if (binding.settled && editor.caughtUp && editor.text === ytext.toString()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never settled: buffer ${JSON.stringify(editor.text)}, shared ${JSON.stringify(ytext.toString())}`);
}

function setUp(seed: number, text: string): { doc: Y.Doc; ytext: Y.Text; editor: SimEditor; binding: BufferBinding; peer(f: (t: Y.Text) => void): void } {
  const doc = new Y.Doc();
  const ytext = doc.getText('content');
  ytext.insert(0, text);
  const editor = new SimEditor(text, { rand: seededRandom(seed) });
  const binding = new BufferBinding(ytext, editor, { logger: silentLogger });
  editor.binding = binding;
  return { doc, ytext, editor, binding, peer: (f) => doc.transact(() => f(ytext), 'peer') };
}

test('a reload of a text the mirror wrote is no edit: the buffer gets the shared text back, which keeps every word', async () => {
  for (let seed = 1; seed <= 30; seed++) {
    const s = setUp(seed, 'console.log(x);\n');
    const rand = seededRandom(seed + 1000);
    s.peer((t) => t.insert(0, '/')); // the mirror writes this state to disk...
    const written = s.ytext.toString();
    for (const ch of '/ B ') {
      await ticks(rand, 3);
      s.peer((t) => t.insert(t.toString().indexOf('console'), ch));
    }
    await ticks(rand, 4);
    s.editor.reload(written, true); // ...and the editor reloads it, some keystrokes later
    await settled(s.binding, s.editor, s.ytext);
    assert.equal(s.ytext.toString(), '// B console.log(x);\n', `seed ${seed}`);
    assert.equal(s.editor.text, '// B console.log(x);\n');
    s.binding.dispose();
  }
});

test("another tool's write, reloaded by the editor, is an edit of the shared text", async () => {
  const s = setUp(7, 'console.log(x);\n');
  await settled(s.binding, s.editor, s.ytext);
  s.editor.reload('console.log(x);\n// added by a tool\n', false);
  await settled(s.binding, s.editor, s.ytext);
  assert.equal(s.ytext.toString(), 'console.log(x);\n// added by a tool\n');
  s.binding.dispose();
});
