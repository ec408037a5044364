/**
 * Folders kept identical by headless peers over real hyperswarm on a loopback testnet.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createSessionCode } from '../../src/session';
import { startPeer, type RunningPeer } from '../../src/sync/peer';
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
