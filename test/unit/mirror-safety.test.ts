/**
 * What a peer's disk may never do to the others, and what it keeps for its person: a deleted or
 * emptied folder does not delete everything everywhere; what a remote change replaces or deletes is
 * kept in a local history that `hyperpair restore` brings back; a full disk is reported, not called
 * success, and retried; temp files left by a killed write are cleaned up at start.
 * Real folders, real hyperswarm on a loopback testnet, real processes for the CLI.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FolderGuard, type Halt } from '../../src/sync/folder-guard';
import { contentHash } from '../../src/sync/hash';
import { FileHistory } from '../../src/sync/history';
import { describeWriteError, summarizeFailures } from '../../src/sync/write-failures';
import { startPeer, type RunningPeer } from '../../src/app/peer';
import { CLI, spawnCli } from '../helpers/cli';
import { sameTrees, startPair } from '../helpers/peers';
import { createTestNetwork, waitFor, type TestNetwork } from '../helpers/testnet';
import { readTree, tempDir, writeTree } from '../helpers/tree';

const STATE = tempDir('hyperpair-state-');
process.env.HYPERPAIR_STATE_DIR = STATE;

let net: TestNetwork;
const running: RunningPeer[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
const mounts: string[] = [];
before(async () => {
  net = await createTestNetwork();
});
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await Promise.all(running.map((p) => p.close()));
  await net.destroy();
  for (const m of mounts) spawnSync('umount', ['-l', m]);
});

const pair = (files: Record<string, string | Uint8Array>) => startPair(net, running, files);
const same = sameTrees;

function numbered(n: number, prefix = 'f'): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${String(i).padStart(2, '0')}.txt`, `file ${i}\n`]));
}

function halts(p: RunningPeer): Halt[] {
  const seen: Halt[] = [];
  p.mirror.on('halted', (h) => seen.push(h));
  return seen;
}

test('rm -rf of a joiner\'s folder deletes nothing elsewhere; the peer says it stopped, and can write the files back', async () => {
  const files = { ...numbered(4), 'src/deep/code.ts': 'export {};\n' };
  const { a, b, pa, pb } = await pair(files);
  const before = readTree(a);
  const seen = halts(pb);
  fs.rmSync(b, { recursive: true, force: true });
  await waitFor(() => seen.length > 0, 'the joiner stopping');
  assert.equal(seen[0].reason, 'vanished');
  assert.match(seen[0].message, /stopped sharing/);
  assert.equal(pb.mirror.halted?.reason, 'vanished');
  // The joiner removes a file from its own model before sending the removal: none was removed.
  assert.equal(pb.workspace.files().length, 5, 'the joiner propagated deletes');
  // A change from the sharer after the halt still reaches the joiner's model (the session goes on)…
  fs.writeFileSync(path.join(a, 'after.txt'), 'after\n');
  await waitFor(() => !!pb.workspace.byPath('after.txt'), 'the sharer\'s new file in the joiner\'s model');
  // …but the joiner writes nothing into a folder it stopped following.
  assert.ok(!fs.existsSync(b), 'the halted joiner wrote into its deleted folder');
  assert.deepEqual(readTree(a), { ...before, 'after.txt': Buffer.from('after\n').toString('hex') }, 'the sharer lost files');
  assert.equal(pa.workspace.files().length, 6);

  const resumed: string[] = [];
  pb.mirror.on('resumed', (how) => resumed.push(how));
  assert.equal(await pb.mirror.restoreMassDelete(), 5);
  await waitFor(same([a, b]), 'the files written back on the joiner');
  assert.deepEqual(resumed, ['restored']);
  // The recreated folder is followed again: an edit there reaches the sharer.
  fs.writeFileSync(path.join(b, 'f00.txt'), 'edited after the restore\n');
  await waitFor(() => fs.readFileSync(path.join(a, 'f00.txt'), 'utf8') === 'edited after the restore\n', 'the edit on the sharer');
});

test('a few deletes go through at once; emptying most of a folder in one batch waits for a confirmation', async () => {
  const { a, b, pa, pb } = await pair(numbered(20));
  const seen = halts(pb);
  // 3 of 20: an ordinary clean-up, shared at once.
  for (const n of ['f00', 'f01', 'f02']) fs.rmSync(path.join(b, `${n}.txt`));
  await waitFor(() => !fs.existsSync(path.join(a, 'f02.txt')), 'the small delete on the sharer');
  await waitFor(same([a, b]), 'both folders alike');
  // 15 of the remaining 17 in one go: held.
  for (let i = 3; i < 18; i++) fs.rmSync(path.join(b, `f${String(i).padStart(2, '0')}.txt`));
  await waitFor(() => seen.length > 0, 'the joiner stopping');
  assert.equal(seen[0].reason, 'mass-delete');
  assert.equal(seen[0].paths.length, 15);
  assert.match(seen[0].message, /15 of the 17 shared files/);
  assert.equal(pb.workspace.files().length, 17, 'the joiner propagated the mass delete');
  assert.equal(Object.keys(readTree(a)).length, 17);
  // Confirmed: deleted on every peer, and the folder is followed again.
  assert.equal(await pb.mirror.confirmMassDelete(), 15);
  await waitFor(() => Object.keys(readTree(a)).length === 2, 'the confirmed delete on the sharer');
  assert.deepEqual(Object.keys(readTree(a)).sort(), ['f18.txt', 'f19.txt']);
  assert.equal(pa.workspace.files().length, 2);
  fs.writeFileSync(path.join(b, 'new.txt'), 'new\n');
  await waitFor(() => fs.existsSync(path.join(a, 'new.txt')), 'a new file after the confirmation');
});

const cli = (args: string[]) => spawnCli(args, children, true, { ...process.env, HYPERPAIR_STATE_DIR: STATE });

function restoreCli(args: string[]): { status: number | null; events: Array<Record<string, unknown>>; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'restore', ...args, '--json'], { encoding: 'utf8', env: { ...process.env, HYPERPAIR_STATE_DIR: STATE } });
  const events = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, events, stderr: r.stderr };
}

/** A folder of `n` files shared in this process, and a headless peer (its own process) to join it into `dest`. */
async function sharedToCli(n: number) {
  const src = tempDir();
  writeTree(src, numbered(n));
  const pa = await startPeer({ mode: 'share', dir: src, name: 'a', network: net.network });
  running.push(pa);
  const dest = path.join(tempDir(), 'joined');
  const join = () => cli(['join', pa.code, dest, '--name', 'b', '--bootstrap', net.bootstrapSpec, '--host', '127.0.0.1']);
  return { src, pa, dest, join };
}

/** Answers a halted headless peer with `restore files`, waits for its files back in `dest`, and stops it. */
async function writtenBackAndStopped(p: ReturnType<typeof cli>, src: string, dest: string): Promise<void> {
  p.child.stdin.write('restore files\n');
  await waitFor(() => p.events.some((e) => e.event === 'resumed' && e.how === 'restored'), 'the resumed line');
  await waitFor(same([src, dest]), 'the files written back');
  p.child.kill('SIGINT');
  assert.equal(await p.exit, 0);
}

test('the headless peer says it stopped when its folder is deleted, and writes the files back when told to on standard input', async () => {
  const { src, pa, dest, join } = await sharedToCli(3);
  const joiner = join();
  await waitFor(() => joiner.events.some((e) => e.event === 'ready'), 'the join');
  fs.rmSync(dest, { recursive: true, force: true });
  await waitFor(() => joiner.events.some((e) => e.event === 'halted'), 'the halted line');
  const halted = joiner.events.find((e) => e.event === 'halted')!;
  assert.equal(halted.reason, 'vanished');
  assert.equal(halted.files, 3);
  assert.equal(pa.workspace.files().length, 3);
  assert.equal(Object.keys(readTree(src)).length, 3, 'the sharer lost files');
  await writtenBackAndStopped(joiner, src, dest);
  assert.ok(!/handle was still open/.test(joiner.stderr()), 'standard input kept the peer alive');
});

test('most of a folder deleted while out of the session is held when it joins again: nothing deleted elsewhere, told, written back when asked', async () => {
  const { src, pa, dest, join } = await sharedToCli(20);
  const first = join();
  await waitFor(() => first.events.some((e) => e.event === 'ready'), 'the first join');
  first.child.kill('SIGINT');
  assert.equal(await first.exit, 0);
  // A wrong `git clean` while Hyperpair is not running: 15 of the 20 files gone (the rejoin deleted them everywhere).
  for (let i = 0; i < 15; i++) fs.rmSync(path.join(dest, `f${String(i).padStart(2, '0')}.txt`));
  const again = join();
  await waitFor(() => again.events.some((e) => e.event === 'halted') || again.child.exitCode !== null, 'the halted line', 60_000);
  const halted = again.events.find((e) => e.event === 'halted');
  assert.ok(halted, JSON.stringify(again.events));
  assert.equal(halted.reason, 'mass-delete');
  assert.equal(halted.files, 15);
  assert.match(String(halted.message), /15 of the 20 shared files were deleted .* while it was out of the session/);
  await waitFor(() => again.events.some((e) => e.event === 'ready'), 'the rejoin');
  const joined = again.events.find((e) => e.event === 'joined');
  assert.equal(joined?.halted, true, 'the joined line says nothing was written');
  assert.equal(joined?.complete, false);
  assert.equal(pa.workspace.files().length, 20, 'the rejoin deleted files in the session');
  assert.equal(Object.keys(readTree(src)).length, 20, 'the sharer lost files');
  await writtenBackAndStopped(again, src, dest);
});

test('what a remote change replaces or deletes is kept in the history, and hyperpair restore brings it back', async () => {
  const { a, b, pb } = await pair({ 'notes.txt': 'my notes\n', 'gone.txt': 'soon deleted\n', 'keep.txt': 'x\n' });
  fs.writeFileSync(path.join(a, 'notes.txt'), 'replaced by a\n');
  await waitFor(() => fs.readFileSync(path.join(b, 'notes.txt'), 'utf8') === 'replaced by a\n', 'the replacement on b');
  fs.rmSync(path.join(a, 'gone.txt'));
  await waitFor(() => !fs.existsSync(path.join(b, 'gone.txt')), 'the delete on b');

  const history = new FileHistory(b);
  assert.ok(!history.dir.startsWith(b + path.sep), 'the history is outside the shared folder');
  assert.ok(history.dir.startsWith(STATE + path.sep));
  const notes = await history.versions('notes.txt');
  assert.equal(notes.length, 1);
  assert.equal(fs.readFileSync(notes[0].file, 'utf8'), 'my notes\n');
  assert.equal(notes[0].reason, 'replaced');

  const list = restoreCli([b]);
  assert.equal(list.status, 0, list.stderr);
  assert.deepEqual(list.events.find((e) => e.event === 'history')?.files, ['gone.txt', 'notes.txt']);
  const versions = restoreCli([b, 'gone.txt']);
  assert.equal(versions.status, 0, versions.stderr);
  assert.deepEqual(
    versions.events.filter((e) => e.event === 'version').map((e) => [e.n, e.reason]),
    [[1, 'deleted']],
  );
  const restored = restoreCli([b, 'gone.txt', '--version', '1']);
  assert.equal(restored.status, 0, restored.stderr);
  assert.equal(fs.readFileSync(path.join(b, 'gone.txt'), 'utf8'), 'soon deleted\n');
  // The running joiner shares the restored file as a local change.
  await waitFor(() => fs.existsSync(path.join(a, 'gone.txt')) && fs.readFileSync(path.join(a, 'gone.txt'), 'utf8') === 'soon deleted\n', 'the restored file on a');
  assert.ok(pb.workspace.byPath('gone.txt'));
  // Restoring over a file keeps what it held, so that a restore can be undone too.
  assert.equal(restoreCli([b, 'notes.txt', '--version', '1']).status, 0);
  assert.equal(fs.readFileSync(path.join(b, 'notes.txt'), 'utf8'), 'my notes\n');
  const after = await history.versions('notes.txt');
  assert.equal(after[0].reason, 'restored-over');
  assert.equal(fs.readFileSync(after[0].file, 'utf8'), 'replaced by a\n');
  await waitFor(() => fs.readFileSync(path.join(a, 'notes.txt'), 'utf8') === 'my notes\n', 'the restored notes on a');

  const bad = restoreCli([b, 'notes.txt', '--version', '9']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /has versions 1 to 2, not 9/);
});

test('the history is bounded: versions older than its age limit and over its size limit are pruned, oldest first', async () => {
  const root = tempDir();
  let now = Date.UTC(2026, 0, 1);
  const h = new FileHistory(root, { stateDir: tempDir('hyperpair-state-'), maxBytes: 100, maxAgeMs: 1000, minIntervalMs: 0, pruneEveryMs: 0, now: () => now });
  writeTree(root, { 'a.txt': 'x'.repeat(40) });
  await h.keep('a.txt', 'replaced');
  now += 10;
  writeTree(root, { 'a.txt': 'y'.repeat(40) });
  await h.keep('a.txt', 'replaced');
  now += 10;
  writeTree(root, { 'a.txt': 'z'.repeat(40) });
  await h.keep('a.txt', 'deleted');
  const v = await h.versions('a.txt');
  assert.deepEqual(v.map((x) => fs.readFileSync(x.file, 'utf8')[0]), ['z', 'y'], 'over 100 bytes: the oldest goes');
  now += 5000;
  writeTree(root, { 'b.txt': 'b' });
  await h.keep('b.txt', 'deleted');
  assert.deepEqual(await h.files(), ['b.txt'], 'versions older than the age limit go');
  // A file that already holds what replaces it loses nothing: no version.
  await h.keep('b.txt', 'replaced', undefined, contentHash(Buffer.from('b')));
  assert.equal((await h.versions('b.txt')).length, 1);
});

/** A tiny tmpfs (we are root in the test machine); undefined where mounting is not allowed. */
function tinyDisk(kb: number): string | undefined {
  const dir = tempDir('hyperpair-disk-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kb}k`, 'tmpfs', dir]);
  if (r.status !== 0) return undefined;
  mounts.push(dir);
  return dir;
}

test('a join onto a full disk says how many files could not be written and why, then writes them once there is space', async (t) => {
  const disk = tinyDisk(64);
  if (!disk) return t.skip('mount -t tmpfs is not allowed here');
  const src = tempDir();
  writeTree(src, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}.txt`, `${i}`.repeat(8000)])));
  const pa = await startPeer({ mode: 'share', dir: src, name: 'a', network: net.network });
  running.push(pa);
  const dest = path.join(disk, 'joined');
  const joiner = cli(['join', pa.code, dest, '--name', 'b', '--bootstrap', net.bootstrapSpec, '--host', '127.0.0.1']);
  await waitFor(() => joiner.events.some((e) => e.event === 'joined'), 'the joined line', 60_000);
  const joined = joiner.events.find((e) => e.event === 'joined')!;
  assert.equal(joined.complete, false, JSON.stringify(joined));
  assert.equal(joined.files, 20);
  const failed = joined.failed as Array<{ path: string; why: string; code: string }>;
  assert.ok(failed.length > 0);
  assert.equal(joined.written, 20 - failed.length);
  assert.ok(failed.every((f) => f.code === 'ENOSPC' && f.why === 'disk full'), JSON.stringify(failed));
  // Space again: the retries write every file.
  execFileSync('mount', ['-o', 'remount,size=4m', disk]);
  await waitFor(() => joiner.events.some((e) => e.event === 'write-recovered' && e.failing === 0), 'every file written', 30_000);
  // (readTree would list a temp file that a failed write left behind.)
  assert.deepEqual(readTree(dest), readTree(src));
  joiner.child.kill('SIGINT');
  assert.equal(await joiner.exit, 0);
});

test('a folder where a remote file must go is a write failure, told and retried; removing the folder deletes nothing anywhere', async () => {
  const { a, b, pb } = await pair({ 'x.txt': 'x\n' });
  const failed: string[] = [];
  pb.mirror.on('write-failed', (f) => failed.push(`${f.path}: ${f.why}`));
  fs.mkdirSync(path.join(b, 'blocked.txt'));
  fs.writeFileSync(path.join(a, 'blocked.txt'), 'from a\n');
  await waitFor(() => failed.includes('blocked.txt: a folder is in the way'), 'the write told as failed, with its reason');
  fs.rmdirSync(path.join(b, 'blocked.txt'));
  await waitFor(sameTrees([a, b]), 'the file written at b once the folder is gone', 20_000);
  assert.equal(fs.readFileSync(path.join(a, 'blocked.txt'), 'utf8'), 'from a\n', 'not deleted at a');
});

test('temporary files left by a killed write are removed at start; files merely named alike stay', async () => {
  const dir = tempDir();
  writeTree(dir, {
    'a.txt': 'a\n',
    '.0123456789ab.hyperpair-tmp': 'half a file',
    'sub/deeper/.abcdef012345.hyperpair-tmp': 'another half',
    'notes.hyperpair-tmp.txt': 'mine\n',
  });
  const p = await startPeer({ mode: 'share', dir, name: 'a', network: net.network });
  running.push(p);
  assert.deepEqual(Object.keys(readTree(dir)).sort(), ['a.txt', 'notes.hyperpair-tmp.txt']);
});

test('a large delete that is not most of the folder waits a moment: a folder deleted meanwhile (rm -rf still running) is caught', async () => {
  const root = tempDir();
  const guard = new FolderGuard(root, 300);
  await guard.remember();
  const gone = Array.from({ length: 12 }, (_, i) => `f${i}.txt`);
  // 12 of 100 alone would go through; the folder vanishing while the batch settles stops it.
  const checking = guard.check(gone, 100);
  fs.rmSync(root, { recursive: true });
  assert.equal((await checking)?.reason, 'vanished');
  assert.deepEqual(guard.halted?.paths, gone);
  // Made again, it is not the same folder: still halted until cleared.
  fs.mkdirSync(root);
  assert.equal(await guard.present(), false);
  await guard.clear();
  assert.equal(await guard.present(), true);
  assert.equal(await guard.check(gone, 100), undefined, 'an ordinary batch in a present folder goes through');
  assert.equal(await guard.check(['a.txt'], 1), undefined, 'one file is never a mass delete');
  assert.equal((await guard.check(gone, 20))?.reason, 'mass-delete');
});

test('failed writes are summarised by reason, in words', () => {
  const enospc = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
  const eacces = Object.assign(new Error('permission denied'), { code: 'EACCES' });
  const f = (p: string, err: Error) => ({ path: p, ...describeWriteError(err) });
  assert.equal(summarizeFailures([f('a', enospc), f('b', enospc)]), '2 could not be written: disk full');
  assert.equal(summarizeFailures([f('a', enospc), f('b', eacces), f('c', enospc)]), '3 could not be written: disk full (2), permission denied (1)');
  assert.equal(describeWriteError(new Error('strange')).why, 'strange');
});
