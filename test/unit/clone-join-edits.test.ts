/**
 * A join into a folder that holds the session's files (a clone) reads the folder once before the
 * first copy (restart-intake.ts) and watches it only once that copy is done. A file edited in
 * between is found by the look the mirror takes when it starts (mirror.ts), which reads again only
 * what the scan cache says changed: the edit must still reach every peer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sameTrees, usePeers } from '../helpers/peers';
import { waitFor } from '../helpers/testnet';
import { readTree, tempDir, writeTree } from '../helpers/tree';

const peers = usePeers();

test('a file edited in a clone while it joins, after its folder was read and before it is watched, reaches every peer', async (t) => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 60; i++) files[`src/f${i}.txt`] = `line one of ${i}\nline two of ${i}\n`;
  const a = tempDir();
  const clone = tempDir();
  t.after(() => [a, clone].forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  writeTree(a, files);
  writeTree(clone, files);
  const pa = await peers.start({ mode: 'share', dir: a, name: 'a' });
  let edited = false;
  await peers.start({
    mode: 'join',
    code: pa.code,
    dir: clone,
    name: 'b',
    force: true,
    // The first copy starts once the folder has been read (and every file adopted): edit one now.
    onProgress: () => {
      if (edited) return;
      edited = true;
      fs.appendFileSync(path.join(clone, 'src/f7.txt'), 'edited while joining\n');
    },
  });
  assert.ok(edited, 'the join made a first copy');
  const f7 = (dir: string) => fs.readFileSync(path.join(dir, 'src/f7.txt'), 'utf8');
  await waitFor(() => f7(a).includes('edited while joining'), 'the edit reached the sharer', 15_000);
  await waitFor(sameTrees([a, clone]), 'both folders alike', 15_000);
  assert.equal(f7(a), 'line one of 7\nline two of 7\nedited while joining\n');
  assert.deepEqual(Object.keys(readTree(clone)).sort(), Object.keys(files).sort(), 'no conflict copy: the edit is the joiner\'s, taken as such');
});
