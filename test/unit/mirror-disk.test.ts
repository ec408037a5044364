/**
 * The mirror's disk side: the watcher, renames that keep a file's identity, whole-folder changes as
 * git checkout makes them, the mirror's own writes not echoed back, .gitignore on a joiner, files an
 * editor owns, and joining with --force. Real folders, real hyperswarm on a loopback testnet.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChangeOrigin, FileEntry } from '../../src/sync/api';
import { silentLogger } from '../../src/session/log';
import { FolderWatcher } from '../../src/sync/watcher';
import { TEMP_SUFFIX } from '../../src/sync/fsutil';
import { startPeer, type RunningPeer } from '../../src/app/peer';
import { sameTrees, startPair } from '../helpers/peers';
import { createTestNetwork, waitFor, type TestNetwork } from '../helpers/testnet';
import { readTree, tempDir, writeTree } from '../helpers/tree';

let net: TestNetwork;
const running: RunningPeer[] = [];
before(async () => {
  net = await createTestNetwork();
});
after(async () => {
  await Promise.all(running.map((p) => p.close()));
  await net.destroy();
});

const pair = (files: Record<string, string | Uint8Array>) => startPair(net, running, files);
const same = sameTrees;

test('the watcher reports creates, renames (both names in one batch) and new folders, never its temp files', async () => {
  const root = tempDir();
  writeTree(root, { 'a.txt': 'a' });
  const batches: string[][] = [];
  const w = new FolderWatcher(root, (paths) => batches.push(paths.sort()), silentLogger);
  await w.start();
  try {
    const seen = () => new Set(batches.flat());
    fs.renameSync(path.join(root, 'a.txt'), path.join(root, 'b.txt'));
    await waitFor(() => seen().has('b.txt'), 'the rename');
    assert.ok(batches.some((b) => b.includes('a.txt') && b.includes('b.txt')), `a rename in one batch: ${JSON.stringify(batches)}`);
    fs.mkdirSync(path.join(root, 'new/deeper'), { recursive: true });
    await waitFor(() => seen().has('new'), 'the new folder');
    // Files in a folder that appeared after start are watched too.
    await new Promise((r) => setTimeout(r, 100));
    fs.writeFileSync(path.join(root, 'new/deeper/file.txt'), 'x');
    fs.writeFileSync(path.join(root, `.x${TEMP_SUFFIX}`), 'temp');
    await waitFor(() => seen().has('new/deeper/file.txt') || seen().has('new/deeper'), 'a file in the new folder');
    assert.ok(![...seen()].some((p) => p.endsWith(TEMP_SUFFIX)));
  } finally {
    w.close();
  }
});

test('a rename on disk keeps the file\'s identity on the other peers, and the mirror\'s own writes are not echoed', async () => {
  const { a, b, pa, pb } = await pair({ 'docs/old name.md': 'history\n', 'other.txt': 'x\n' });
  const id = pa.workspace.byPath('docs/old name.md')!.id;
  const diskChangesOnB: string[] = [];
  const record = (e: FileEntry, o: ChangeOrigin) => o === 'disk' && diskChangesOnB.push(e.path);
  pb.workspace.on('text-changed', record).on('file-added', record).on('binary-changed', record);

  fs.mkdirSync(path.join(a, 'moved'));
  fs.renameSync(path.join(a, 'docs/old name.md'), path.join(a, 'moved/new name.md'));
  await waitFor(same([a, b]), 'the rename on b');
  assert.equal(pb.workspace.byPath('moved/new name.md')?.id, id, 'the renamed file kept its id');
  // The folder the rename emptied stays on a, so it does on b: empty folders are shared (mirror-tree.test.ts).
  await waitFor(() => fs.existsSync(path.join(a, 'docs')) && fs.existsSync(path.join(b, 'docs')) && fs.readdirSync(path.join(b, 'docs')).length === 0, 'the emptied folder, empty on b too');

  fs.writeFileSync(path.join(a, 'other.txt'), 'x\nmore from a\n');
  writeTree(a, { 'fresh.txt': 'fresh\n' });
  await waitFor(same([a, b]), 'the edit and the new file on b');
  await pb.mirror.idle();
  await new Promise((r) => setTimeout(r, 300)); // let b's watcher report b's own writes
  await pb.mirror.idle();
  assert.deepEqual(diskChangesOnB, [], 'b took its own writes for changes made on its disk');
  await Promise.all([pa.close(), pb.close()]);
});

test('a git-checkout-like change (folders replaced, many files at once) reaches the other disk', async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 30; i++) files[`src/mod${i % 3}/f${i}.ts`] = `export const v${i} = ${i};\n`;
  const { a, b } = await pair(files);
  // What a branch switch does: whole folders vanish, others appear, files change.
  fs.rmSync(path.join(a, 'src/mod0'), { recursive: true });
  fs.renameSync(path.join(a, 'src/mod1'), path.join(a, 'lib'));
  writeTree(a, { 'src/mod3/new.ts': 'new\n', 'src/mod2/f2.ts': 'changed\n', 'src/mod3/nested/deep.ts': 'deep\n' });
  await waitFor(same([a, b]), 'the checkout on b', 30_000);
  assert.ok(fs.existsSync(path.join(b, 'lib/f1.ts')) && !fs.existsSync(path.join(b, 'src/mod0')));
});

test('a joiner honours the .gitignore it received, and a .gitignore edited later', async () => {
  const { a, b, pb } = await pair({ '.gitignore': 'build/\n', 'src/a.ts': 'a\n' });
  writeTree(b, { 'build/out.js': 'generated on b\n', 'src/b.ts': 'b\n' });
  await waitFor(() => fs.existsSync(path.join(a, 'src/b.ts')), 'b\'s new source file on a');
  await pb.mirror.idle();
  assert.equal(pb.workspace.byPath('build/out.js'), undefined);
  assert.ok(!fs.existsSync(path.join(a, 'build')));

  fs.writeFileSync(path.join(b, '.gitignore'), 'build/\n*.log\n');
  await waitFor(() => fs.readFileSync(path.join(a, '.gitignore'), 'utf8').includes('*.log'), 'the new .gitignore on a');
  writeTree(b, { 'debug.log': 'noise\n', 'src/c.ts': 'c\n' });
  await waitFor(() => fs.existsSync(path.join(a, 'src/c.ts')), 'c.ts on a');
  await pb.mirror.idle();
  assert.equal(pb.workspace.byPath('debug.log'), undefined);
});

test('a file an editor owns is left to the editor until it lets go', async () => {
  const { a, b, pb } = await pair({ 'open.txt': 'v1\n' });
  pb.mirror.setEditorOwned('open.txt', true);
  fs.writeFileSync(path.join(a, 'open.txt'), 'v2 from a\n');
  await waitFor(() => pb.workspace.loadedText(pb.workspace.byPath('open.txt')!.id)?.toString() === 'v2 from a\n', 'the edit in b\'s model');
  await pb.mirror.idle();
  assert.equal(fs.readFileSync(path.join(b, 'open.txt'), 'utf8'), 'v1\n', 'the mirror wrote a file the editor owns');
  pb.mirror.setEditorOwned('open.txt', false);
  await pb.mirror.idle();
  assert.equal(fs.readFileSync(path.join(b, 'open.txt'), 'utf8'), 'v2 from a\n');
});

test('joining with force keeps the folder\'s own files and shares them; on the same path the session\'s file wins and the folder\'s is kept beside it', async () => {
  const a = tempDir();
  writeTree(a, { 'shared.txt': 'from the session\n' });
  const pa = await startPeer({ mode: 'share', dir: a, name: 'a', network: net.network });
  running.push(pa);
  const b = tempDir();
  writeTree(b, { 'shared.txt': 'local copy\n', 'only-here.txt': 'mine\n' });
  const pb = await startPeer({ mode: 'join', code: pa.code, dir: b, name: 'b', network: net.network, force: true });
  running.push(pb);
  assert.equal(fs.readFileSync(path.join(b, 'shared.txt'), 'utf8'), 'from the session\n');
  await waitFor(() => fs.existsSync(path.join(a, 'only-here.txt')), 'b\'s own file on a');
  await waitFor(same([a, b]), 'identical folders');
  const kept = fs.readdirSync(a).find((n) => n.startsWith('shared (conflict '));
  assert.ok(kept, 'b\'s own version of shared.txt was lost');
  assert.equal(fs.readFileSync(path.join(a, kept), 'utf8'), 'local copy\n');
});

test('a peer with a smaller size limit still receives larger files; what its own disk adds over the limits stays unshared', async () => {
  const a = tempDir();
  writeTree(a, { 'big.bin': Buffer.alloc(3000, 7) });
  const caps = { maxFiles: 4 };
  const pa = await startPeer({ mode: 'share', dir: a, name: 'a', network: net.network, caps });
  running.push(pa);
  const b = path.join(tempDir(), 'b');
  const pb = await startPeer({ mode: 'join', code: pa.code, dir: b, name: 'b', network: net.network, caps, maxFileSize: 1024 });
  running.push(pb);
  const leaves: string[] = [];
  pa.session.on('peer-leave', (_p, reason) => leaves.push(reason));
  pb.session.on('peer-leave', (_p, reason) => leaves.push(reason));
  assert.deepEqual(readTree(b), readTree(a), 'b took the file larger than its own limit');

  writeTree(b, { 'too big on b.bin': Buffer.alloc(2000, 1), 'small.txt': 'ok\n' });
  await waitFor(() => fs.existsSync(path.join(a, 'small.txt')), 'the small file on a');
  writeTree(a, { 'f3.txt': 'the third file\n', 'f4.txt': 'the fourth file\n' });
  await waitFor(() => fs.existsSync(path.join(b, 'f4.txt')), 'the fourth file on b');
  // f5 in one batch with an edit: once the edit has reached b, a has handled f5 too.
  writeTree(a, { 'f5.txt': 'one file too many\n', 'f4.txt': 'the fourth file, edited\n' });
  await waitFor(() => fs.readFileSync(path.join(b, 'f4.txt'), 'utf8').includes('edited'), 'the edit on b');
  await pa.mirror.idle();
  await pb.mirror.idle();
  assert.equal(pb.workspace.byPath('too big on b.bin'), undefined);
  assert.equal(pa.workspace.files().length, 4, 'the file cap (4) would have been passed');
  assert.equal(pa.workspace.byPath('f5.txt'), undefined);
  assert.ok(!fs.existsSync(path.join(b, 'f5.txt')));
  assert.ok(!fs.existsSync(path.join(a, 'too big on b.bin')));
  assert.deepEqual(leaves, [], 'no one was cut off');
  assert.deepEqual(pa.session.peers().map((p) => p.name), ['b']);
});
