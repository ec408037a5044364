/**
 * What the headless peer tells a person about trouble it did not cause: file names with escape
 * sequences (shown escaped), a subfolder it cannot read (left out, said so), names that differ only in
 * case, an unreachable DHT, a bind address that is not local (said once), the files of its own folder
 * a join kept as conflict copies. Real processes and folders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { displayName, escapeUntrusted } from '../../src/session/untrusted';
import { createOutput } from '../../src/cli/run';
import { caseCollisions } from '../../src/sync/case-collisions';
import { CLI, cliTestbed } from '../helpers/cli';
import { waitFor } from '../helpers/testnet';
import { tempDir, writeTree } from '../helpers/tree';

const bed = cliTestbed();

interface Proc {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function cli(args: string[], user: { uid?: number; gid?: number } = {}): Proc {
  const child = bed.track(spawn(process.execPath, [CLI, ...args], { stdio: 'pipe', ...user }));
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

const net_ = () => ['--bootstrap', bed.net().bootstrapSpec, '--host', '127.0.0.1', '--no-lan'];

async function stop(p: Proc): Promise<number | null> {
  p.child.kill('SIGINT');
  const code = await Promise.race([p.exit, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000))]);
  assert.notEqual(code, 'hung', 'the process did not stop');
  return code as number | null;
}

test('the sanitiser escapes what a terminal would obey, and text output goes through it', async () => {
  assert.equal(escapeUntrusted('a\x1b[2Jb\nc\rd\te\u202ef\u0085g\\h'), 'a\\x1b[2Jb\\nc\\rd\\te\\u202ef\\x85g\\h');
  assert.equal(escapeUntrusted('naïve café 😀/ünï.md'), 'naïve café 😀/ünï.md', 'printable Unicode is left alone');
  assert.equal(displayName('  \u202eEve\x07 ', 'x'), 'Eve');
  assert.equal(displayName('\x1b\n', 'Anonymous'), 'Anonymous');
  const lines: string[] = [];
  createOutput(false, (s) => lines.push(s)).line('left out: evil\x1b[31m\nforged line', { event: 'skipped' });
  assert.deepEqual(lines, ['left out: evil\\x1b[31m\\nforged line\n']);
  const paths = ['A.txt', 'a.txt', 'b.txt', 'Dir/x', 'dir/x', 'DIR/X', 'ünï', 'u\u0308nï'];
  assert.deepEqual(await caseCollisions(paths), [['A.txt', 'a.txt'], ['DIR/X', 'Dir/x', 'dir/x'], ['u\u0308nï', 'ünï']]);
  // Groups in the order of their first path, whichever of them comes second; over many paths alike.
  assert.deepEqual(await caseCollisions(['B', 'A', 'x', 'a', 'b']), [['B', 'b'], ['A', 'a']]);
  const many = [...Array.from({ length: 5000 }, (_, i) => `f${i}`), ...paths, 'F4999'];
  assert.deepEqual(await caseCollisions(many), [['F4999', 'f4999'], ...(await caseCollisions(paths))]);
});

test('share leaves out an unreadable subfolder or file and says so, escapes file names, and warns of names that differ only in case (so does the joiner)', async (t) => {
  // As root every folder is readable: the sharer then runs as nobody, who must be able to run this
  // checkout's CLI (not so in a clone under a private folder such as a 0700 temporary one).
  if (process.getuid?.() === 0 && spawnSync(process.execPath, [CLI, '--help'], { uid: 65534, gid: 65534 }).status !== 0) {
    t.skip('running as root, and user nobody cannot run the CLI of this checkout (a parent folder is private): an unreadable folder cannot be made for the sharer');
    return;
  }
  const src = tempDir();
  writeTree(src, { 'A.txt': 'upper\n', 'a.txt': 'lower\n', 'ok/fine.txt': 'fine\n', 'locked/secret.txt': 'x\n', 'evil\x1b[31m\nforged.txt': 'e\n' });
  // As root every folder is readable: the sharer then runs as nobody, for whom this one is not.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execChmod(src, 0o755);
  fs.chmodSync(path.join(src, 'locked'), 0o000);
  writeTree(src, { 'ok/private.txt': 'p\n' });
  fs.chmodSync(path.join(src, 'ok/private.txt'), 0o000);
  const sharer = cli(['share', src, ...net_()], asRoot ? { uid: 65534, gid: 65534 } : {});
  try {
    // The code comes first, as soon as people can join; the line of what is shared once the scan ends,
    // then what was left out, then "Keeping the folder in sync" (each line its own write: read at
    // "Sharing", a fresh-clone run had only two of the three "left out" lines yet).
    await waitFor(() => /^Keeping the folder in sync/m.test(sharer.stdout()) || sharer.child.exitCode !== null, 'the end of the scan', 30_000);
    const text = sharer.stdout();
    assert.equal(sharer.child.exitCode, null, `share refused: ${sharer.stderr()}`);
    assert.match(text, /^Sharing .*: 3 files/m, text);
    assert.match(text, /^ {2}left out: locked\/ \(this folder could not be read: EACCES\)$/m);
    assert.match(text, /^ {2}left out: ok\/private\.txt \(it could not be read\)$/m);
    assert.ok(!text.includes('\x1b') && !/^forged/m.test(text), `a raw escape or a forged line: ${JSON.stringify(text)}`);
    assert.match(text, /evil\\x1b\[31m\\nforged\.txt/);
    assert.match(text, /^! A\.txt and a\.txt differ only in letter case/m);

    const code = /^Session code: (\S+)$/m.exec(text)![1];
    const dest = path.join(tempDir(), 'joined');
    const joiner = cli(['join', code, dest, ...net_()]);
    await waitFor(() => /^Keeping the folder in sync/m.test(joiner.stdout()), 'the join', 60_000);
    assert.match(joiner.stdout(), /^! A\.txt and a\.txt differ only in letter case/m);
    assert.equal(await stop(joiner), 0);
    assert.equal(await stop(sharer), 0);
  } finally {
    fs.chmodSync(path.join(src, 'locked'), 0o755);
    fs.chmodSync(path.join(src, 'ok/private.txt'), 0o644);
  }
});

test('an unreachable bootstrap node gets a warning; a bind address that is not local is said once', async () => {
  const src = tempDir();
  writeTree(src, { 'a.txt': 'a\n' });
  // Port 9 (discard) on loopback: nothing answers there.
  const lonely = cli(['share', src, '--bootstrap', '127.0.0.1:9', '--no-lan']);
  await waitFor(() => /Could not reach the DHT: none of the bootstrap nodes \(127\.0\.0\.1:9\) answered/.test(lonely.stderr()), 'the warning', 60_000);
  assert.equal(await stop(lonely), 0);

  const far = cli(['share', src, '--host', '203.0.113.7', '--bootstrap', bed.net().bootstrapSpec]);
  assert.equal(await far.exit, 2);
  assert.equal(far.stderr().split('is not an address of this machine').length - 1, 1, far.stderr());
});

test('a join into a folder with files says which of them it kept as a conflict copy, and where', async () => {
  const src = tempDir();
  writeTree(src, { 'notes.txt': 'the session\'s notes\n', 'same.txt': 'same\n' });
  const dest = tempDir();
  writeTree(dest, { 'notes.txt': 'my own notes\n', 'same.txt': 'same\n' });
  const sharer = cli(['share', src, ...net_()]);
  await waitFor(() => /^Keeping the folder in sync/m.test(sharer.stdout()), 'the share', 30_000);
  const code = /^Session code: (\S+)$/m.exec(sharer.stdout())![1];
  const joiner = cli(['join', code, dest, '--force', ...net_()]);
  await waitFor(() => /^Keeping the folder in sync/m.test(joiner.stdout()) || joiner.child.exitCode !== null, 'the join', 60_000);
  // Told during the join itself (before "Joined"): the line was lost when listened to after it.
  const told = /^! notes\.txt on this disk differed from the session's; this disk's version is kept as (notes \(conflict [0-9a-f]+\)\.txt)$/m.exec(joiner.stdout());
  assert.ok(told, joiner.stdout());
  assert.equal(fs.readFileSync(path.join(dest, told[1]), 'utf8'), 'my own notes\n', 'the copy it names holds the joiner\'s text');
  assert.equal(fs.readFileSync(path.join(dest, 'notes.txt'), 'utf8'), 'the session\'s notes\n');
  assert.ok(!/same\.txt/.test(joiner.stdout()), 'an identical file is not told of');
  assert.equal(await stop(joiner), 0);
  assert.equal(await stop(sharer), 0);
});

function execChmod(root: string, mode: number): void {
  fs.chmodSync(root, mode);
  for (const d of fs.readdirSync(root, { withFileTypes: true })) if (d.isDirectory()) execChmod(path.join(root, d.name), mode);
}

test('a second headless peer started in a folder takes it over: the first says so and exits with status 1', async () => {
  const src = tempDir();
  writeTree(src, { 'a.txt': 'a\n' });
  const sharer = cli(['share', src, ...net_()]);
  try {
    await waitFor(() => /^Keeping the folder in sync/m.test(sharer.stdout()), 'the share', 60_000);
    const code = /^Session code: (\S+)$/m.exec(sharer.stdout())![1];
    const dest = path.join(tempDir(), 'joined');
    const first = cli(['join', code, dest, ...net_()]);
    await waitFor(() => /^Keeping the folder in sync/m.test(first.stdout()), 'the first join', 60_000);
    const second = cli(['join', code, dest, ...net_()]);
    const exited = await Promise.race([first.exit, new Promise<'running'>((r) => setTimeout(() => r('running'), 30_000))]);
    assert.equal(exited, 1, `the first joiner: ${first.stdout()}${first.stderr()}`);
    assert.match(first.stdout(), new RegExp(`^! Another Hyperpair \\(process ${second.child.pid}\\) opened a session in .*joined: this one has left its session there`, 'm'));
    await waitFor(() => /^Keeping the folder in sync/m.test(second.stdout()), 'the second join', 60_000);
    fs.appendFileSync(path.join(dest, 'a.txt'), 'once\n');
    await waitFor(() => fs.readFileSync(path.join(src, 'a.txt'), 'utf8') === 'a\nonce\n', 'the line at the sharer, once', 30_000);
    assert.equal(await stop(second), 0);
  } finally {
    assert.equal(await stop(sharer), 0);
  }
});
