/**
 * A file no editor has open follows its shared text through the one buffer binding (disk-bindings.ts
 * over disk-copy.ts), and is handed to an editor and back (issue 13). Real folders, real Yjs, real
 * hyperswarm on a loopback testnet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BufferBinding, type EditorBuffer } from '../../src/sync/buffer-binding';
import { silentLogger } from '../../src/session/log';
import * as fsutil from '../../src/sync/fsutil';
import type { RunningPeer } from '../../src/app/peer';
import { usePeers } from '../helpers/peers';
import { waitFor } from '../helpers/testnet';
import { seededRandom, SimEditor } from '../helpers/sim-editor';
import { readTree, tempDir, writeTree } from '../helpers/tree';

const peers = usePeers();

async function pair(files: Record<string, string>): Promise<{ a: string; b: string; pa: RunningPeer; pb: RunningPeer }> {
  const a = tempDir();
  writeTree(a, files);
  const pa = await peers.start({ name: 'a', mode: 'share', dir: a });
  const b = path.join(tempDir(), 'b');
  const pb = await peers.start({ name: 'b', mode: 'join', code: pa.code, dir: b });
  return { a, b, pa, pb };
}

const read = (dir: string, rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');
const count = (text: string, part: string) => text.split(part).length - 1;

/** An editor buffer that never changes by itself: enough to claim a shared text. */
const idleBuffer = (text: string): EditorBuffer => ({ getText: () => text, version: () => 1, applyEdits: async () => false });

test('an editor takes a file over from the mirror, types and saves, and hands it back before its save was read: nothing doubled, nothing lost', async () => {
  const { a, b, pa, pb } = await pair({ 'notes.txt': 'one\n' });
  fs.appendFileSync(path.join(a, 'notes.txt'), 'from a\n');
  await waitFor(() => read(b, 'notes.txt') === 'one\nfrom a\n', "a's edit on b's disk");
  const id = pb.workspace.byPath('notes.txt')!.id;
  const text = await pb.workspace.text(id);

  // The mirror's binding holds the text: a second binding is refused until it lets go.
  assert.throws(() => new BufferBinding(text, idleBuffer(text.toString()), { logger: silentLogger }), /bound to another buffer/);
  pb.mirror.handToEditor('notes.txt');
  pb.mirror.setEditorOwned('notes.txt', true);
  const editor = new BufferBinding(text, idleBuffer(text.toString()), { logger: silentLogger });
  editor.dispose(); // the editor's typing is played below as its binding would put it in

  // B's person types; the editor saves the buffer; then a's next line arrives, after the save.
  text.doc!.transact(() => text.insert(text.length, 'typed in b\n'), 'editor');
  const saved = text.toString();
  fs.appendFileSync(path.join(a, 'notes.txt'), 'later from a\n');
  await waitFor(() => text.toString().includes('later from a'), "a's second line in b's shared text");
  assert.equal(read(b, 'notes.txt'), 'one\nfrom a\n', 'the mirror wrote a file the editor owns');

  // The save lands (the editor says so, as VS Code's save event does) and the editor closes in the
  // same moment: the watcher has not reported the save yet.
  fs.writeFileSync(path.join(b, 'notes.txt'), saved);
  pb.mirror.editorSaved('notes.txt', saved);
  pb.mirror.setEditorOwned('notes.txt', false);

  const expected = (t: string) => count(t, 'typed in b\n') === 1 && count(t, 'later from a\n') === 1 && count(t, 'from a\n') === 2;
  await waitFor(() => expected(read(a, 'notes.txt')) && read(a, 'notes.txt') === read(b, 'notes.txt'), 'both disks with every line once').catch((err: Error) => {
    throw new Error(`${err.message}: a ${JSON.stringify(read(a, 'notes.txt'))}, b ${JSON.stringify(read(b, 'notes.txt'))}, b's text ${JSON.stringify(text.toString())}`);
  });
  await pb.mirror.idle();
  assert.equal(text.toString(), read(b, 'notes.txt'));
  assert.deepEqual(readTree(a), readTree(b));

  // And the file follows its text again: the next remote edit is written, a tool's edit is shared.
  fs.appendFileSync(path.join(a, 'notes.txt'), 'third from a\n');
  await waitFor(() => read(b, 'notes.txt').includes('third from a'), "a's third line on b's disk");
  fs.appendFileSync(path.join(b, 'notes.txt'), 'tool on b\n');
  await waitFor(() => read(a, 'notes.txt').includes('tool on b'), "b's tool edit on a's disk");
  assert.throws(() => new BufferBinding(text, idleBuffer(text.toString()), { logger: silentLogger }), /bound to another buffer/, 'bound again');
  await Promise.all([pa.close(), pb.close()]);
});

test('a burst of remote edits to a large file reaches the disk whole, written only over what the mirror last saw', async () => {
  const line = (i: number) => `line ${i} ${'x'.repeat(60)}\n`;
  const big = Array.from({ length: 20_000 }, (_, i) => line(i)).join(''); // ~1.4 MB
  const { a, b, pa, pb } = await pair({ 'big.txt': big });
  const id = pa.workspace.byPath('big.txt')!.id;
  const text = await pa.workspace.text(id);
  // A peer typing at two places at once; B's build tool appends to the file meanwhile.
  for (let i = 0; i < 200; i++) {
    text.doc!.transact(() => {
      text.insert(0, `${i},`);
      text.insert(text.length, `${i};`);
    }, 'editor');
    if (i === 100) fs.appendFileSync(path.join(b, 'big.txt'), '\ntool on b\n');
    if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  await waitFor(() => read(b, 'big.txt') === read(a, 'big.txt') && read(a, 'big.txt').includes('tool on b') && read(a, 'big.txt').includes('199;'), 'identical disks with every edit', 60_000);
  const final = read(a, 'big.txt');
  for (let i = 0; i < 200; i++) assert.equal(count(final, `${i},`) >= 1 && count(final, `${i};`) >= 1, true, `edit ${i} missing`);
  assert.equal(count(final, 'tool on b'), 1);
  assert.equal(final.replace(/\d+[,;]/g, '').replace('\ntool on b\n', ''), big, 'the original lines intact');
  await Promise.all([pa.close(), pb.close()]);
});

test('a file that disagrees with its shared text while nothing is pending is brought to it by a merge, and counted', async () => {
  const { a, b, pa, pb } = await pair({ 'notes.txt': 'one\n' });
  fs.appendFileSync(path.join(a, 'notes.txt'), 'from a\n');
  await waitFor(() => read(b, 'notes.txt') === 'one\nfrom a\n', "a's edit on b's disk");
  await pb.mirror.idle();
  // Fault injection: a change of b's shared text that its file's binding never hears of (made with the
  // binding's own origin, which it takes for its own). The periodic check finds the file lacking it.
  const text = await pb.workspace.text(pb.workspace.byPath('notes.txt')!.id);
  text.doc!.transact(() => text.insert(0, 'never reached the file\n'), 'disk');
  await waitFor(() => read(a, 'notes.txt').startsWith('never reached the file\n'), "the line on a's disk");
  assert.equal(read(b, 'notes.txt'), 'one\nfrom a\n', 'the binding heard of it after all: the injection tests nothing');
  await waitFor(() => pb.mirror.repairs === 1, 'the disagreement found and merged', 30_000);
  await waitFor(() => read(b, 'notes.txt') === 'never reached the file\none\nfrom a\n', "the merged text on b's disk");
  assert.equal(read(a, 'notes.txt'), read(b, 'notes.txt'));
  await Promise.all([pa.close(), pb.close()]);
});

test('a lone surrogate typed in an editor is U+FFFD in every shared text, buffer and file alike; nothing written over and over', async (t) => {
  const writes = new Map<string, number>();
  const atomicWrite = fsutil.atomicWrite;
  (fsutil as { atomicWrite: typeof atomicWrite }).atomicWrite = async (...args) => {
    writes.set(args[0], (writes.get(args[0]) ?? 0) + 1);
    return atomicWrite(...args);
  };
  t.after(() => ((fsutil as { atomicWrite: typeof atomicWrite }).atomicWrite = atomicWrite));
  const { a, b, pa, pb } = await pair({ 'notes.txt': 'one\ntwo\n' });
  fs.appendFileSync(path.join(a, 'notes.txt'), 'from a\n');
  await waitFor(() => read(b, 'notes.txt') === 'one\ntwo\nfrom a\n', "a's edit on b's disk (b's file bound)");
  const id = pa.workspace.byPath('notes.txt')!.id;
  const [ta, tb] = await Promise.all([pa.workspace.text(id), pb.workspace.text(id)]);

  // A's person types a lone high surrogate (a paste, an extension's edit: VS Code's buffer can hold one).
  pa.mirror.handToEditor('notes.txt');
  pa.mirror.setEditorOwned('notes.txt', true);
  const editor = new SimEditor(ta.toString(), { rand: seededRandom(7) });
  const binding = new BufferBinding(ta, editor, { logger: silentLogger });
  editor.binding = binding;
  t.after(() => binding.dispose());
  editor.moveTo(4);
  editor.type('x\uD800y');
  const expected = 'one\nx\uFFFDytwo\nfrom a\n';
  // Yjs writes strings as UTF-8, so b receives U+FFFD; a's shared text and a's buffer must hold the same.
  await waitFor(() => tb.toString() === expected && ta.toString() === expected && editor.text === expected && binding.settled, 'U+FFFD in both shared texts and the buffer', 20_000);
  await waitFor(() => read(b, 'notes.txt') === expected, "U+FFFD on b's disk");
  assert.deepEqual([...fs.readFileSync(path.join(b, 'notes.txt')).subarray(4, 9)], [0x78, 0xef, 0xbf, 0xbd, 0x79], 'x, U+FFFD in UTF-8, y');

  // Nothing goes back and forth: b's file is written once for it, and stays; a tool's edit on b's disk
  // reaches a's buffer with the U+FFFD kept once.
  await pb.mirror.idle();
  const settledWrites = writes.get(b) ?? 0;
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(writes.get(b) ?? 0, settledWrites, "b's file written again with nothing new");
  fs.appendFileSync(path.join(b, 'notes.txt'), 'tool on b\n');
  await waitFor(() => editor.text === `${expected}tool on b\n` && ta.toString() === editor.text && binding.settled, "b's tool edit in a's buffer");
  assert.equal(tb.toString(), ta.toString());
  assert.equal(read(b, 'notes.txt'), tb.toString());
  assert.equal(binding.repairs + pb.mirror.repairs + pa.mirror.repairs, 0, 'no disagreement was found and merged');
  binding.dispose();
  await Promise.all([pa.close(), pb.close()]);
});
