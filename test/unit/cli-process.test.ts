/**
 * The headless peer as a user runs it: real processes, real folders, a loopback testnet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createSessionCode } from '../../src/session';
import { cliTestbed, spawnCli, type Proc } from '../helpers/cli';
import { waitFor } from '../helpers/testnet';
import { readTree, sampleTree, tempDir, writeTree } from '../helpers/tree';

const bed = cliTestbed();
const cli = (args: string[], json = true): Proc => {
  const p = spawnCli(args, [], json);
  bed.track(p.child);
  return p;
};

const net_ = () => ['--bootstrap', bed.net().bootstrapSpec, '--host', '127.0.0.1'];
const has = (p: Proc, event: string) => p.events.some((e) => e.event === event);

async function exitWithin(p: Proc, ms: number): Promise<number | null> {
  return Promise.race([p.exit, new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms))]).then((v) => {
    assert.notEqual(v, 'hung', 'the process did not exit in time');
    return v as number | null;
  });
}

test('share and join as processes: identical folders, peer lines, progress, clean exit on SIGINT and SIGTERM', async () => {
  const src = tempDir();
  writeTree(src, sampleTree());
  const sharer = cli(['share', src, '--name', 'Server', ...net_()]);
  await waitFor(() => has(sharer, 'code'), 'the session code', 30_000);
  const code = sharer.events.find((e) => e.event === 'code')!.code as string;
  assert.match(code, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){5}$/);
  const dest = path.join(tempDir(), 'joined');
  const joiner = cli(['join', code, dest, '--name', 'Laptop', ...net_()]);
  await waitFor(() => has(joiner, 'ready'), 'the join', 60_000);
  assert.deepEqual(readTree(dest), readTree(src));
  assert.ok(joiner.events.some((e) => e.event === 'progress' && e.files === e.totalFiles && (e.totalFiles as number) > 0));
  await waitFor(() => sharer.events.some((e) => e.event === 'peer-join' && e.name === 'Laptop'), 'a peer line on the sharer');

  joiner.child.kill('SIGINT');
  assert.equal(await exitWithin(joiner, 15_000), 0);
  await waitFor(() => sharer.events.some((e) => e.event === 'peer-leave' && e.name === 'Laptop'), 'a leave line on the sharer');
  sharer.child.kill('SIGTERM');
  assert.equal(await exitWithin(sharer, 15_000), 0);
  assert.ok(!/handle was still open/.test(sharer.stderr() + joiner.stderr()), 'a handle stayed open');
});

test('a mistyped code, a non-empty folder and a missing folder exit non-zero with a clear message', async () => {
  const code = createSessionCode();
  const typo = code.slice(0, -1) + (code.endsWith('A') ? 'B' : 'A');
  const bad = cli(['join', typo, path.join(tempDir(), 'x'), ...net_()], false);
  assert.equal(await exitWithin(bad, 10_000), 2);
  assert.match(bad.stderr(), /typo — check the code/);

  const full = tempDir();
  writeTree(full, { 'keep.txt': 'mine' });
  const nonEmpty = cli(['join', code, full, ...net_()], false);
  assert.equal(await exitWithin(nonEmpty, 10_000), 2);
  assert.match(nonEmpty.stderr(), /not empty/);
  assert.deepEqual(Object.keys(readTree(full)), ['keep.txt']);

  const aFile = path.join(tempDir(), 'file.txt');
  fs.writeFileSync(aFile, 'not a folder');
  const intoFile = cli(['join', code, aFile, ...net_()], false);
  assert.equal(await exitWithin(intoFile, 10_000), 2);
  assert.match(intoFile.stderr(), /is a file, not a folder/);

  const underFile = cli(['join', code, path.join(aFile, 'sub'), ...net_()], false);
  assert.equal(await exitWithin(underFile, 10_000), 2);
  assert.match(underFile.stderr(), /cannot be written/);

  const missing = cli(['share', path.join(tempDir(), 'does-not-exist'), ...net_()], false);
  assert.equal(await exitWithin(missing, 10_000), 2);
  assert.match(missing.stderr(), /not a folder/);

  const help = cli(['--help'], false);
  assert.equal(await exitWithin(help, 10_000), 0);
  assert.ok(help.events.some((e) => /hyperpair share <dir>/.test(String(e.text))));
});

test('share reports what it left out; text output shows the code and invite link; SIGINT while a joiner waits exits 0', async () => {
  const src = tempDir();
  writeTree(src, { 'keep.txt': 'k', 'skip.log': 'l', '.gitignore': 'build/\n', 'build/out.js': 'o' });
  fs.symlinkSync(tempDir(), path.join(src, 'link'));
  const sharer = cli(['share', src, '--exclude', '*.log', ...net_()], false);
  await waitFor(() => sharer.events.some((e) => /^Invite link: vscode:\/\/hyperpair\.hyperpair\/join\?code=/.test(String(e.text))), 'the invite link', 30_000);
  // The code comes as soon as peers can join; what was shared and left out once the folder is read.
  await waitFor(() => sharer.events.some((e) => /^Keeping the folder in sync/.test(String(e.text))), 'the end of the scan', 30_000);
  const text = sharer.events.map((e) => String(e.text)).join('\n');
  assert.match(text, /^Sharing .*: 2 files/m, text);
  assert.match(text, /^Session code: [0-9A-Z]{5}(-[0-9A-Z]{5}){5}$/m);
  assert.match(text, /left out: link \(a symbolic link that is not shared: it points to an absolute path, outside the workspace/);
  assert.match(text, /as \.gitignore and the exclude list say: .*build\/.*skip\.log|as \.gitignore and the exclude list say: .*skip\.log.*build\//);
  sharer.child.kill('SIGINT');
  assert.equal(await exitWithin(sharer, 15_000), 0);

  // Nobody shares this code: the joiner waits, and Ctrl+C still stops it cleanly.
  const dest = path.join(tempDir(), 'never');
  const waiting = cli(['join', createSessionCode(), dest, ...net_()]);
  await waitFor(() => has(waiting, 'joining'), 'the joiner to start');
  waiting.child.kill('SIGINT');
  assert.equal(await exitWithin(waiting, 15_000), 0);
  assert.ok(has(waiting, 'stopped'));
  assert.ok(!/handle was still open/.test(waiting.stderr()), 'a handle stayed open');
});

test('share --admission ask --guests read-only: the sharer lets one person in read-only from standard input and denies another', async () => {
  const src = tempDir();
  writeTree(src, { 'notes.txt': 'the sharer wrote this\n' });
  const sharer = cli(['share', src, '--name', 'Alice', '--admission', 'ask', '--guests', 'read-only', ...net_()]);
  await waitFor(() => has(sharer, 'ready'), 'the sharer', 30_000);
  const code = sharer.events.find((e) => e.event === 'code')!.code as string;
  assert.ok(sharer.events.some((e) => e.event === 'admission' && e.policy === 'ask' && e.guests === 'read-only'));

  const bobDir = path.join(tempDir(), 'bob');
  const bob = cli(['join', code, bobDir, '--name', 'Bob', ...net_()]);
  await waitFor(() => sharer.events.some((e) => e.event === 'admission-request' && e.name === 'Bob'), "Bob's request on the sharer", 60_000);
  await waitFor(() => has(bob, 'waiting'), 'Bob to be told he waits');
  assert.equal(readTree(bobDir)['notes.txt'], undefined, 'nothing is sent before the sharer answers');
  // An answer for nobody, and a line that is not an answer, are refused and change nothing.
  sharer.child.stdin.write('admit Mallory\nlet everyone in\n');
  await waitFor(() => sharer.events.filter((e) => e.event === 'admission-problem').length === 2, 'two problems reported');
  sharer.child.stdin.write('read-only Bob\n');
  await waitFor(() => has(bob, 'joined'), 'Bob to join', 60_000);
  assert.equal(bob.events.find((e) => e.event === 'joined')!.readOnly, true);
  assert.deepEqual(readTree(bobDir), readTree(src));
  assert.ok(sharer.events.some((e) => e.event === 'admission-answer' && e.name === 'Bob' && e.answer === 'viewer'));

  // Bob is read-only: what he changes on his disk never reaches Alice's, while Alice's changes reach him.
  fs.writeFileSync(path.join(bobDir, 'notes.txt'), 'Bob overwrote this\n');
  fs.writeFileSync(path.join(src, 'from-alice.txt'), 'Alice wrote this later\n');
  await waitFor(() => readTree(bobDir)['from-alice.txt'] !== undefined, "Alice's new file on Bob's disk");
  // Bob's change had as long as Alice's took, and then some: an editor's change would be there by now.
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(fs.readFileSync(path.join(src, 'notes.txt'), 'utf8'), 'the sharer wrote this\n');

  const eve = cli(['join', code, path.join(tempDir(), 'eve'), '--name', 'Eve', ...net_()]);
  await waitFor(() => sharer.events.some((e) => e.event === 'admission-request' && e.name === 'Eve'), "Eve's request", 60_000);
  sharer.child.stdin.write('deny Eve\n');
  assert.equal(await exitWithin(eve, 30_000), 1);
  assert.match(eve.stderr(), /denied/i);

  for (const p of [bob, sharer]) p.child.kill('SIGINT');
  assert.equal(await exitWithin(bob, 15_000), 0);
  assert.equal(await exitWithin(sharer, 15_000), 0);
  assert.ok(!/handle was still open/.test(sharer.stderr()), 'standard input or another handle kept the sharer alive');
});

test('share --admission ask with standard input closed says that nobody can answer', async () => {
  const sharer = cli(['share', tempDir(), '--admission', 'ask', ...net_()]);
  await waitFor(() => has(sharer, 'ready'), 'the sharer', 30_000);
  sharer.child.stdin.end();
  await waitFor(() => sharer.events.some((e) => e.event === 'admission-problem' && /standard input is closed/.test(String(e.message))), 'the closed-input warning');
  sharer.child.kill('SIGINT');
  assert.equal(await exitWithin(sharer, 15_000), 0);
});

test('a joiner killed with -9 and restarted into its folder without --force keeps every line written before, during and after', async () => {
  const src = tempDir();
  writeTree(src, { 'log.txt': 'start\n', 'other.txt': 'keep\n' });
  const sharer = cli(['share', src, '--name', 'Server', ...net_()]);
  await waitFor(() => has(sharer, 'code'), 'the session code', 30_000);
  const code = sharer.events.find((e) => e.event === 'code')!.code as string;
  const dest = path.join(tempDir(), 'joined');
  const first = cli(['join', code, dest, '--name', 'Laptop', ...net_()]);
  await waitFor(() => has(first, 'ready'), 'the join', 60_000);

  const lines: string[] = [];
  const append = (dir: string, line: string) => {
    fs.appendFileSync(path.join(dir, 'log.txt'), line + '\n');
    lines.push(line);
  };
  for (let i = 0; i < 5; i++) {
    append(dest, `before-${i}`);
    await new Promise((r) => setTimeout(r, 40));
  }
  first.child.kill('SIGKILL'); // some of these were not yet read, sent or recorded
  await first.exit;
  // While it is down: this disk and the session both change.
  append(dest, 'offline-here');
  fs.writeFileSync(path.join(dest, 'offline-new.txt'), 'new while down\n');
  append(src, 'offline-there');

  const second = cli(['join', code, dest, '--name', 'Laptop', ...net_()]);
  append(dest, 'while-restarting');
  await waitFor(() => has(second, 'ready'), 'the rejoin', 60_000).catch((err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(second.events)} ${second.stderr()}`);
  });
  append(dest, 'after');
  const missing = (dir: string) => {
    const have = new Set(fs.readFileSync(path.join(dir, 'log.txt'), 'utf8').split('\n'));
    return lines.filter((l) => !have.has(l));
  };
  await waitFor(() => missing(src).length === 0 && missing(dest).length === 0 && JSON.stringify(readTree(src)) === JSON.stringify(readTree(dest)), 'every line on both disks', 30_000).catch((err: Error) => {
    throw new Error(`${err.message}: missing on the sharer ${missing(src).join(',')}, on the joiner ${missing(dest).join(',')}`);
  });
  assert.equal(fs.readFileSync(path.join(src, 'offline-new.txt'), 'utf8'), 'new while down\n');
  assert.ok(!/not empty/.test(second.stderr()));
  second.child.kill('SIGINT');
  sharer.child.kill('SIGINT');
  assert.equal(await exitWithin(second, 15_000), 0);
  assert.equal(await exitWithin(sharer, 15_000), 0);
});

test('a peer whose output is closed (`share … | head`) leaves the session cleanly, rather than dying of the write', async () => {
  const src = tempDir();
  writeTree(src, { 'a.txt': 'hello\n' });
  const sharer = cli(['share', src, '--name', 'Piped', ...net_()]);
  await waitFor(() => has(sharer, 'ready'), 'the share', 30_000);
  const code = sharer.events.find((e) => e.event === 'code')!.code as string;
  sharer.child.stdout!.destroy(); // the reader goes away, as `head` does after its lines
  // Someone joins: the sharer's next line (the peer) meets the closed output.
  const joiner = cli(['join', code, path.join(tempDir(), 'joined'), '--name', 'Late', ...net_()]);
  assert.equal(await exitWithin(sharer, 60_000), 0);
  assert.doesNotMatch(sharer.stderr(), /Unhandled|EPIPE/);
  joiner.child.kill('SIGTERM');
  await exitWithin(joiner, 15_000);
});
