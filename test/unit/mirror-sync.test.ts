/**
 * Folders kept identical by headless peers over real hyperswarm on a loopback testnet, and the hand-over
 * of an open file's rename to the editor.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createSessionCode } from '../../src/session';
import { startPeer, type RunningPeer } from '../../src/app/peer';
import { sameTrees } from '../helpers/peers';
import { createTestNetwork, waitFor, type TestNetwork } from '../helpers/testnet';
import { readTree, sampleTree, tempDir, writeTree } from '../helpers/tree';

let net: TestNetwork;
const running: RunningPeer[] = [];
before(async () => {
  net = await createTestNetwork();
});
after(async () => {
  await Promise.all(running.map((p) => p.close()));
  await net.destroy();
});

async function share(dir: string, name = 'sharer'): Promise<RunningPeer> {
  const p = await startPeer({ mode: 'share', dir, name, network: net.network });
  running.push(p);
  return p;
}

async function join(code: string, dir: string, name: string): Promise<RunningPeer> {
  const p = await startPeer({ mode: 'join', code, dir, name, network: net.network });
  running.push(p);
  return p;
}

const same = sameTrees;

test('initial sync of a varied tree leaves byte-identical folders on 2 and 3 peers', async () => {
  const a = tempDir();
  writeTree(a, sampleTree());
  const sharer = await share(a);
  const b = path.join(tempDir(), 'joined');
  const c = path.join(tempDir(), 'joined');
  const [pb, pc] = await Promise.all([join(sharer.code, b, 'b'), join(sharer.code, c, 'c')]);
  assert.deepEqual(readTree(b), readTree(a));
  assert.deepEqual(readTree(c), readTree(a));
  assert.ok(readTree(a)['assets/big.bin'].length === 1_400_000);
  await Promise.all([pb.close(), pc.close(), sharer.close()]);
});

test('edits, creates, deletes and renames on any peer\'s disk reach the others\' disks', async () => {
  const a = tempDir();
  writeTree(a, { 'one.txt': 'one\n', 'dir/two.txt': 'two\n', 'bin.dat': Uint8Array.from([0, 1, 2]) });
  const pa = await share(a);
  const b = path.join(tempDir(), 'b');
  const c = path.join(tempDir(), 'c');
  const pb = await join(pa.code, b, 'b');
  const pc = await join(pa.code, c, 'c');
  const all = [a, b, c];

  fs.appendFileSync(path.join(b, 'one.txt'), 'edited on b\n');
  await waitFor(same(all), 'an edit on b everywhere');
  assert.equal(fs.readFileSync(path.join(a, 'one.txt'), 'utf8'), 'one\nedited on b\n');

  writeTree(c, { 'new/from-c.md': 'made on c\n' });
  await waitFor(same(all), 'a create on c everywhere');
  assert.ok(fs.existsSync(path.join(a, 'new/from-c.md')));

  fs.renameSync(path.join(a, 'dir/two.txt'), path.join(a, 'dir/three.txt'));
  await waitFor(same(all), 'a rename on a everywhere');
  assert.ok(!fs.existsSync(path.join(b, 'dir/two.txt')) && fs.existsSync(path.join(b, 'dir/three.txt')));

  fs.writeFileSync(path.join(b, 'bin.dat'), Uint8Array.from([9, 9, 9, 0]));
  await waitFor(same(all), 'a binary replaced on b everywhere');

  fs.rmSync(path.join(c, 'one.txt'));
  await waitFor(same(all), 'a delete on c everywhere');
  assert.ok(!fs.existsSync(path.join(a, 'one.txt')));
  await Promise.all([pa.close(), pb.close(), pc.close()]);
});

test('concurrent edits of one file from two peers\' disks converge to identical bytes everywhere', async () => {
  const a = tempDir();
  writeTree(a, { 'shared.txt': 'line 1\nline 2\nline 3\n' });
  const pa = await share(a);
  const b = path.join(tempDir(), 'b');
  const pb = await join(pa.code, b, 'b');
  for (let i = 0; i < 10; i++) {
    const fa = path.join(a, 'shared.txt');
    const fb = path.join(b, 'shared.txt');
    fs.writeFileSync(fa, fs.readFileSync(fa, 'utf8').replace('line 1', `line 1 a${i}`));
    fs.writeFileSync(fb, fs.readFileSync(fb, 'utf8').replace('line 3', `line 3 b${i}`));
  }
  await waitFor(same([a, b]), 'convergence');
  const text = fs.readFileSync(path.join(a, 'shared.txt'), 'utf8');
  assert.match(text, /a9/);
  assert.match(text, /b9/);
  await Promise.all([pa.close(), pb.close()]);
});

test('a joiner refuses a folder that has files, and a mistyped code, with clear messages', async () => {
  const full = tempDir();
  writeTree(full, { 'mine.txt': 'precious' });
  await assert.rejects(
    startPeer({ mode: 'join', code: createSessionCode(), dir: full, name: 'x', network: net.network }),
    /not empty/,
  );
  assert.equal(fs.readFileSync(path.join(full, 'mine.txt'), 'utf8'), 'precious');
  const code = createSessionCode();
  await assert.rejects(
    startPeer({ mode: 'join', code: code.slice(0, -1) + (code.endsWith('A') ? 'B' : 'A'), dir: tempDir(), name: 'x', network: net.network }),
    /check the code/,
  );
});

test('a path through a symlink planted in the folder is never written through', async () => {
  const a = tempDir();
  writeTree(a, { 'link/target.txt': 'inside\n' });
  const pa = await share(a);
  const b = path.join(tempDir(), 'b');
  const outside = tempDir();
  const pb = await join(pa.code, b, 'b');
  // On b, someone replaces the folder with a symlink pointing outside the shared folder.
  fs.rmSync(path.join(b, 'link'), { recursive: true });
  fs.symlinkSync(outside, path.join(b, 'link'));
  await pb.mirror.idle();
  fs.writeFileSync(path.join(a, 'link/target.txt'), 'changed by a\n');
  writeTree(a, { 'link/new.txt': 'new\n' });
  await waitFor(() => pb.workspace.byPath('link/new.txt') !== undefined, 'b to hear of the new file');
  await pb.mirror.idle();
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(fs.readdirSync(outside), [], 'nothing was written outside the shared folder');
  await Promise.all([pa.close(), pb.close()]);
});

// A rename of a file an editor has open is the editor's to carry out (Mirror.handOverMove /
// editorMoveDone): the mirror leaves the file where it is, writes nothing at the new path meanwhile,
// and afterwards neither duplicates nor reverts anything. The "editor" is the test, moving the file
// as VS Code would.
async function editorPair(files: Record<string, string>): Promise<{ a: RunningPeer; b: RunningPeer; dirA: string; dirB: string }> {
  const dirA = tempDir();
  writeTree(dirA, files);
  const a = await share(dirA, 'a');
  const dirB = path.join(tempDir(), 'b');
  const b = await join(a.code, dirB, 'b');
  return { a, b, dirA, dirB };
}

test('an open file renamed by a peer is left for the editor to move; once moved, nothing is duplicated or reverted, and the emptied folder goes', async () => {
  const { a, b, dirB } = await editorPair({ 'src/main.js': 'main\n', 'src/util.js': 'util\n' });
  b.mirror.setEditorOwned('src/main.js', true); // B's editor has it open
  const main = a.workspace.byPath('src/main.js')!;
  const util = a.workspace.byPath('src/util.js')!;
  // The folder is renamed at A: one rename per file.
  a.workspace.rename(main.id, 'lib/main.js', 'editor');
  a.workspace.rename(util.id, 'lib/util.js', 'editor');
  await waitFor(() => b.workspace.byPath('lib/main.js') !== undefined && fs.existsSync(path.join(dirB, 'lib/util.js')), 'the renames at B');
  await b.mirror.idle();
  assert.equal(b.mirror.isEditorMove('src/main.js', 'lib/main.js'), true);
  assert.equal(fs.readFileSync(path.join(dirB, 'src/main.js'), 'utf8'), 'main\n', 'the open file stays for the editor to move');
  assert.equal(fs.existsSync(path.join(dirB, 'lib/main.js')), false, 'nothing is written at the new path meanwhile');

  // Meanwhile B's person typed (the editor's binding shares it; the buffer is unsaved).
  const text = await b.workspace.text(main.id);
  text.insert(text.length, 'typed while moving\n');

  // The editor moves the file as it was on disk (its unsaved text stays in its buffer), then says so.
  fs.mkdirSync(path.join(dirB, 'lib'), { recursive: true });
  fs.renameSync(path.join(dirB, 'src/main.js'), path.join(dirB, 'lib/main.js'));
  b.mirror.setEditorOwned('src/main.js', false);
  b.mirror.setEditorOwned('lib/main.js', true);
  b.mirror.editorMoveDone('src/main.js', 'lib/main.js', true);
  await waitFor(() => !fs.existsSync(path.join(dirB, 'src')), 'the emptied folder removed');
  // The watcher sees the move: it must not bring the old name back, create a second file, or take
  // the disk's older text for an edit that removes what was typed. A file written after the move
  // reaching A means the watcher has handled the move too (its batches are handled in order).
  fs.writeFileSync(path.join(dirB, 'marker.txt'), 'm\n');
  await waitFor(() => a.workspace.byPath('marker.txt') !== undefined, 'a later disk change at A');
  await b.mirror.idle();
  await waitFor(() => (a.workspace.loadedText(main.id)?.toString() ?? '').includes('typed while moving'), 'B\'s typing at A');
  assert.deepEqual(b.workspace.files().map((f) => f.path).sort(), ['lib/main.js', 'lib/util.js', 'marker.txt']);
  assert.equal(text.toString(), 'main\ntyped while moving\n');
  assert.deepEqual(Object.keys(readTree(dirB)).sort(), ['lib/main.js', 'lib/util.js', 'marker.txt']);
});

for (const apart of [false, true]) {
  test(`an open file moved here by VS Code with a disk copy that is neither the shared text nor what the mirror saw stays one file (VS Code announced the move${apart ? '; the watcher reports its halves apart' : ''})`, async () => {
    const { a, b, dirB } = await editorPair({ 'src/notes.txt': 'notes\n' });
    const notes = a.workspace.byPath('src/notes.txt')!;
    b.mirror.setEditorOwned('src/notes.txt', true); // B's editor has it open
    const atA = await a.workspace.text(notes.id);
    atA.insert(atA.length, 'from A\n');
    const atB = await b.workspace.text(notes.id);
    await waitFor(() => atB.toString() === 'notes\nfrom A\n', 'A\'s line at B');
    // B's editor saves a copy of the shared text (what its buffer held a moment ago, with a line A
    // has since removed) and moves the file at once: one watcher report holds the save and the move.
    // (Matched by content, the copy is neither what the mirror saw nor the shared text.)
    b.mirror.announceMove('src', 'lib');
    b.mirror.setEditorOwned('lib/notes.txt', true);
    fs.writeFileSync(path.join(dirB, 'src/notes.txt'), 'notes\nfrom A\nfrom B, unsaved then removed\n');
    fs.mkdirSync(path.join(dirB, 'lib'));
    fs.renameSync(path.join(dirB, 'src/notes.txt'), path.join(dirB, 'lib/notes.txt'));
    if (!apart) fs.rmdirSync(path.join(dirB, 'src'));
    else {
      // The new half alone first (a report of its own), the old one's report later.
      await waitFor(() => b.workspace.byPath('lib/notes.txt') !== undefined, 'the new half taken at B');
      fs.rmdirSync(path.join(dirB, 'src'));
    }
    await waitFor(() => a.workspace.byPath('lib/notes.txt') !== undefined, 'the move at A');
    fs.writeFileSync(path.join(dirB, 'marker.txt'), 'm\n');
    await waitFor(() => a.workspace.byPath('marker.txt') !== undefined, 'a later disk change at A');
    await b.mirror.idle();
    for (const peer of [a, b]) {
      assert.deepEqual(peer.workspace.files().map((f) => f.path).sort(), ['lib/notes.txt', 'marker.txt'], 'one file, moved: no delete and no new file');
      assert.equal(peer.workspace.byPath('lib/notes.txt')!.id, notes.id, 'the same file (its history kept)');
    }
    assert.equal(a.workspace.loadedText(notes.id)?.toString(), atB.toString());
    assert.ok(atB.toString().startsWith('notes\nfrom A\n'), atB.toString());
  });
}

test('a file renamed in the session while this peer takes a batch of disk changes that holds it is moved, not shared again as a new file', async () => {
  // Seen in a fresh-clone run (the test above, about 1 in 100 under load): A's write of B's line into
  // src/notes.txt came back from A's watcher in a batch A's mirror was still taking when the rename
  // arrived. The batch found the file at a path no entry held any more and shared it as a new file,
  // beside the renamed one.
  const { a, b, dirA } = await editorPair({ 'src/a.txt': 'a\n', 'src/notes.txt': 'notes\n' });
  const notes = a.workspace.byPath('src/notes.txt')!;
  let renamed = false;
  a.workspace.on('text-changed', (e, origin) => {
    if (renamed || e.path !== 'src/a.txt' || origin !== 'disk') return;
    renamed = true;
    // Between the batch's two files: the move is queued behind the batch, as a member's rename is.
    a.workspace.rename(notes.id, 'lib/notes.txt', 'editor');
  });
  // One watcher batch: a change of src/a.txt, then src/notes.txt written as A's mirror last saw it.
  fs.writeFileSync(path.join(dirA, 'src/a.txt'), 'a\nchanged\n');
  fs.writeFileSync(path.join(dirA, 'src/notes.txt'), 'notes\n');
  await waitFor(() => renamed && fs.existsSync(path.join(dirA, 'lib/notes.txt')), 'the rename and the move at A');
  fs.writeFileSync(path.join(dirA, 'marker.txt'), 'm\n');
  await waitFor(() => b.workspace.byPath('marker.txt') !== undefined, 'a later disk change at B');
  await a.mirror.idle();
  await b.mirror.idle();
  for (const peer of [a, b]) {
    assert.deepEqual(peer.workspace.files().map((f) => f.path).sort(), ['lib/notes.txt', 'marker.txt', 'src/a.txt'], 'one file, moved: none new at its old path');
    assert.equal(peer.workspace.byPath('lib/notes.txt')!.id, notes.id);
  }
  assert.equal(fs.existsSync(path.join(dirA, 'src/notes.txt')), false);
});

test('if the editor cannot move an open file, the mirror does', async () => {
  const { a, b, dirB } = await editorPair({ 'notes.txt': 'notes\n' });
  b.mirror.setEditorOwned('notes.txt', true);
  const notes = a.workspace.byPath('notes.txt')!;
  a.workspace.rename(notes.id, 'renamed.txt', 'editor');
  await waitFor(() => b.mirror.isEditorMove('notes.txt', 'renamed.txt'), 'the hand-over at B');
  b.mirror.editorMoveDone('notes.txt', 'renamed.txt', false);
  b.mirror.setEditorOwned('notes.txt', false);
  await waitFor(() => fs.existsSync(path.join(dirB, 'renamed.txt')) && !fs.existsSync(path.join(dirB, 'notes.txt')), 'the mirror\'s move');
  await b.mirror.idle();
  assert.deepEqual(Object.keys(readTree(dirB)), ['renamed.txt']);
  assert.equal(fs.readFileSync(path.join(dirB, 'renamed.txt'), 'utf8'), 'notes\n');
  assert.deepEqual(b.workspace.files().map((f) => f.path), ['renamed.txt']);
});

test('an open file renamed by a peer: the mirror moves it, and the old tab saved under the old name and removed is no change', async () => {
  // What the editor does when it follows a rename (follow-files.ts): the mirror moves the file, the
  // new document takes over, and the old tab, dirty, is saved under its old name, closed and removed.
  const { a, b, dirB } = await editorPair({ 'notes.txt': 'notes\n' });
  b.mirror.setEditorOwned('notes.txt', true);
  const notes = a.workspace.byPath('notes.txt')!;
  a.workspace.rename(notes.id, 'renamed.txt', 'editor');
  await waitFor(() => b.mirror.isEditorMove('notes.txt', 'renamed.txt'), 'the hand-over at B');
  const text = await b.workspace.text(notes.id);
  text.insert(text.length, 'typed, unsaved\n'); // B's person typing in the old tab
  b.mirror.leaveAlone('notes.txt', true);
  b.mirror.editorMoveDone('notes.txt', 'renamed.txt', false);
  await waitFor(() => fs.existsSync(path.join(dirB, 'renamed.txt')) && !fs.existsSync(path.join(dirB, 'notes.txt')), 'the mirror\'s move');
  b.mirror.setEditorOwned('renamed.txt', true); // the new document
  b.mirror.setEditorOwned('notes.txt', false); // the old one let go
  fs.writeFileSync(path.join(dirB, 'notes.txt'), text.toString()); // the old tab saved, so that it closes without asking
  fs.writeFileSync(path.join(dirB, 'marker1.txt'), 'm\n');
  await waitFor(() => a.workspace.byPath('marker1.txt') !== undefined, 'a later disk change at A');
  fs.rmSync(path.join(dirB, 'notes.txt'));
  fs.writeFileSync(path.join(dirB, 'marker2.txt'), 'm\n');
  await waitFor(() => a.workspace.byPath('marker2.txt') !== undefined, 'a later disk change at A');
  await b.mirror.idle();
  for (const peer of [a, b]) assert.deepEqual(peer.workspace.files().map((f) => f.path).sort(), ['marker1.txt', 'marker2.txt', 'renamed.txt']);
  await waitFor(() => a.workspace.loadedText(notes.id)?.toString() === 'notes\ntyped, unsaved\n', 'B\'s typing at A');
  b.mirror.leaveAlone('notes.txt', false);
});
