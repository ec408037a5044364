/**
 * The one who shared a folder can come back into it (issue 11, item 4): the sharer stops, both sides
 * change files while apart, and the sharer joins the same session again into the folder it shared,
 * without --force (its sync record says the folder was in this session). What each side did is on
 * both disks afterwards, merged, and nothing of either is overwritten. (`share` always starts a new
 * session, with a new code; coming back into the old one is `join <code> <dir>`.)
 * Real folders, real hyperswarm on a loopback testnet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PeerOptions, RunningPeer } from '../../src/app/peer';
import { wasSyncedBefore } from '../../src/sync/record-key';
import { usePeers } from '../helpers/peers';
import { waitFor } from '../helpers/testnet';
import { readTree, tempDir, writeTree } from '../helpers/tree';

const peers = usePeers();
const peer = (options: Omit<PeerOptions, 'network' | 'name'> & { name?: string }): Promise<RunningPeer> => peers.start({ name: options.mode, ...options });
const read = (dir: string, rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');

test('the sharer stops, both edit apart, the sharer joins again into its folder: both disks have all of it', async () => {
  const a = tempDir();
  writeTree(a, { 'both.txt': 'one\ntwo\nthree\n', 'a-only.txt': 'alice\n', 'b-only.txt': 'bob\n', 'gone.txt': 'delete me\n' });
  const pa = await peer({ mode: 'share', dir: a });
  const code = pa.code;
  const b = path.join(tempDir(), 'b');
  const pb = await peer({ mode: 'join', code, dir: b });
  await waitFor(() => fs.existsSync(path.join(b, 'gone.txt')), 'the joiner has the files');
  await pa.close();
  assert.equal(await wasSyncedBefore(a, code), true, 'the shared folder has a record of this session');

  // Apart: the sharer on its disk (no session), the joiner on its disk (still in the session).
  fs.appendFileSync(path.join(a, 'a-only.txt'), 'A while apart\n');
  fs.writeFileSync(path.join(a, 'both.txt'), 'one (A)\ntwo\nthree\n');
  fs.writeFileSync(path.join(a, 'new-from-a.txt'), 'made by A while apart\n');
  fs.appendFileSync(path.join(b, 'b-only.txt'), 'B while apart\n');
  fs.writeFileSync(path.join(b, 'both.txt'), 'one\ntwo\nthree (B)\n');
  fs.rmSync(path.join(b, 'gone.txt'));
  await waitFor(() => !pb.workspace.byPath('gone.txt') && pb.workspace.loadedText(pb.workspace.byPath('both.txt')!.id)?.toString() === 'one\ntwo\nthree (B)\n', "the joiner's changes in its session");

  // No --force: the folder was shared in this session before.
  const pa2 = await peer({ mode: 'join', code, dir: a });
  const same = () => JSON.stringify(readTree(a)) === JSON.stringify(readTree(b));
  await waitFor(same, 'identical folders after the sharer came back', 30_000).catch((err: Error) => {
    throw new Error(`${err.message}: A ${JSON.stringify(readTree(a))}, B ${JSON.stringify(readTree(b))}`);
  });
  assert.equal(read(b, 'a-only.txt'), 'alice\nA while apart\n');
  assert.equal(read(a, 'b-only.txt'), 'bob\nB while apart\n');
  assert.equal(read(b, 'new-from-a.txt'), 'made by A while apart\n');
  assert.equal(read(a, 'both.txt'), 'one (A)\ntwo\nthree (B)\n', 'both edits of one file, merged');
  assert.ok(!fs.existsSync(path.join(a, 'gone.txt')), 'a delete of a file the sharer left unchanged applies on its disk too');
  assert.deepEqual(Object.keys(readTree(a)).filter((p) => p.includes('conflict')), [], 'no conflict copies');
  await Promise.all([pa2.close(), pb.close()]);
});
