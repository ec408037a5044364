/**
 * One peer per folder (folder-claim.ts). Two peers mirroring one folder each took the other's writes
 * for edits, and every change made there arrived twice: the first test doubled 20 of its 20 lines
 * before the claim. Now the later peer waits for the earlier one to let go, the earlier one is told,
 * and every line is on every disk exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startPeer } from '../../src/app/peer';
import { FolderClaim, FolderTakenError } from '../../src/sync/folder-claim';
import { silentLogger } from '../../src/session/log';
import { createTestNetwork, waitFor } from '../helpers/testnet';
import { tempDir, writeTree } from '../helpers/tree';

test('a second peer opened in a folder takes it over: the first leaves and is told, and no change made there arrives twice', async () => {
  const net = await createTestNetwork();
  const a = tempDir();
  writeTree(a, { 'notes.txt': 'start\n' });
  const told: string[] = [];
  const first = await startPeer({ mode: 'share', dir: a, name: 'first', network: net.network, onFolderTaken: (m) => told.push(m) });
  const c = path.join(tempDir(), 'c');
  const elsewhere = await startPeer({ mode: 'join', code: first.code, dir: c, name: 'elsewhere', network: net.network });
  // As a headless peer started in the folder a VS Code window has in the session (or the other way),
  // by another path to it.
  const link = path.join(tempDir(), 'link');
  fs.symlinkSync(a, link);
  const second = await startPeer({ mode: 'join', code: first.code, dir: link, name: 'second', network: net.network, force: true });
  try {
    await waitFor(() => told.length === 1, 'the first peer told');
    assert.match(told[0], /Another Hyperpair \(process \d+\) opened a session in .*: this one has left its session there/);
    const tokens = Array.from({ length: 30 }, (_, i) => `line ${i}`);
    for (const [i, t] of tokens.entries()) {
      fs.appendFileSync(path.join(i % 2 === 0 ? a : c, 'notes.txt'), `${t}\n`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const counts = (dir: string) => {
      const lines = fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8').split('\n');
      return tokens.map((t) => lines.filter((l) => l === t).length);
    };
    await waitFor(() => counts(a).every((n) => n > 0) && counts(c).every((n) => n > 0), 'every line on both disks', 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // a doubled line would arrive meanwhile
    assert.deepEqual(counts(a), tokens.map(() => 1), 'each line once in the taken-over folder');
    assert.deepEqual(counts(c), tokens.map(() => 1), 'each line once elsewhere');
    assert.equal(fs.readFileSync(path.join(a, 'notes.txt'), 'utf8'), fs.readFileSync(path.join(c, 'notes.txt'), 'utf8'));
  } finally {
    await Promise.all([first.close(), second.close(), elsewhere.close()]);
    await net.destroy();
  }
});

function claimFile(state: string): string {
  return path.join(state, 'claim.json');
}

test('a holder that does not let go in time: a clear error, and this peer\'s claim withdrawn', async () => {
  const state = tempDir();
  const holder = { id: 'abc1', pid: process.pid, host: os.hostname(), since: Date.now(), at: Date.now() };
  fs.writeFileSync(claimFile(state), JSON.stringify(holder));
  fs.writeFileSync(path.join(state, `claim.abc1.${process.pid}.live`), '');
  await assert.rejects(
    FolderClaim.take(state, '/some/folder', { logger: silentLogger, waitMs: 300 }),
    (err: Error) => err instanceof FolderTakenError && /\/some\/folder is in a session of another Hyperpair \(process \d+\), which did not stop within 0.3 s/.test(err.message),
  );
  assert.equal(fs.existsSync(claimFile(state)), false, 'this claim withdrawn: the holder writes its own again at its next check');
  assert.deepEqual(fs.readdirSync(state), [`claim.abc1.${process.pid}.live`], 'the holder\'s live file alone is left');
});

test('no wait for a claim whose process has ended or that was not refreshed', async () => {
  const state = tempDir();
  const gone = spawnSync(process.execPath, ['-e', '']).pid;
  const started = Date.now();
  fs.writeFileSync(path.join(state, `claim.dead1.${gone}.live`), ''); // a peer killed while it held the folder
  for (const holder of [
    { id: 'ended', pid: gone, host: os.hostname(), since: Date.now(), at: Date.now() },
    { id: 'stale', pid: process.pid, host: os.hostname(), since: 0, at: Date.now() - 10 * 60_000 },
  ]) {
    fs.writeFileSync(claimFile(state), JSON.stringify(holder));
    const claim = await FolderClaim.take(state, '/some/folder', { logger: silentLogger });
    claim.onLost(() => assert.fail('not lost'));
    assert.notEqual(JSON.parse(fs.readFileSync(claimFile(state), 'utf8')).id, holder.id, 'claimed');
    await claim.release();
    assert.equal(fs.existsSync(claimFile(state)), false, 'released');
    assert.deepEqual(fs.readdirSync(state), [], 'no live file left, the killed peer\'s included');
  }
  assert.ok(Date.now() - started < 3000, 'no wait');
});

test('a state folder that cannot be written: no claim, and the peer still starts (as its sync record does)', async () => {
  const blocked = path.join(tempDir(), 'a-file');
  fs.writeFileSync(blocked, '');
  const warnings: string[] = [];
  const logger = { ...silentLogger, warn: (m: string) => void warnings.push(m) };
  const claim = await FolderClaim.take(path.join(blocked, 'state'), '/some/folder', { logger });
  claim.onLost(() => assert.fail('not lost'));
  await claim.release();
  assert.match(warnings.join('\n'), /could not claim \/some\/folder in .*; another peer in the folder would not be noticed/);
});
