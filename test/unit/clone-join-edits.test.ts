/**
 * A join into a folder that holds the session's files (a clone) walks and reads the folder once before the
 * first copy (local-texts.ts, restart-intake.ts) and watches it only once that copy is done. A file edited in
 * between is found by the look the mirror takes when it starts (mirror.ts), which reads again only
 * what the scan cache says changed: the edit must still reach every peer.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KnownFiles } from '../../src/sync/disk-state';
import { QuickIo } from '../../src/sync/quick-io';
import * as scan from '../../src/sync/scan';
import { sameTrees, usePeers } from '../helpers/peers';
import { waitFor } from '../helpers/testnet';
import { readTree, tempDir, writeTree } from '../helpers/tree';

const peers = usePeers();

/** 60 small texts shared from `a`, and `clone`, a copy of them to join into. */
async function shareWithClone(t: TestContext) {
  const files: Record<string, string> = {};
  for (let i = 0; i < 60; i++) files[`src/f${i}.txt`] = `line one of ${i}\nline two of ${i}\n`;
  const a = tempDir();
  const clone = tempDir();
  t.after(() => [a, clone].forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  writeTree(a, files);
  writeTree(clone, files);
  const pa = await peers.start({ mode: 'share', dir: a, name: 'a' });
  return { files, a, clone, pa };
}

test('a file edited in a clone while it joins, after its folder was read and before it is watched, reaches every peer', async (t) => {
  const { files, a, clone, pa } = await shareWithClone(t);
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

test('a clone join walks its folder once before the first copy; a file made just after that walk reaches every peer', async (t) => {
  const { files, a, clone, pa } = await shareWithClone(t);
  // The walks of the clone until its first copy starts; after the first, a file no walk saw.
  let walks = 0;
  let copying = false;
  const scanFolder = scan.scanFolder;
  (scan as { scanFolder: typeof scanFolder }).scanFolder = async (root, options) => {
    const result = await scanFolder(root, options);
    if (root === clone && !copying && ++walks === 1) fs.writeFileSync(path.join(clone, 'src/new.txt'), 'made after the walk\n');
    return result;
  };
  t.after(() => ((scan as { scanFolder: typeof scanFolder }).scanFolder = scanFolder));
  await peers.start({ mode: 'join', code: pa.code, dir: clone, name: 'b', force: true, onProgress: () => (copying = true) });
  assert.ok(copying, 'the join made a first copy');
  assert.equal(walks, 1, 'the restart intake walked the folder again instead of taking the join\'s scan');
  await waitFor(() => fs.existsSync(path.join(a, 'src/new.txt')), 'the new file at the sharer', 15_000);
  await waitFor(sameTrees([a, clone]), 'both folders alike', 15_000);
  assert.equal(fs.readFileSync(path.join(a, 'src/new.txt'), 'utf8'), 'made after the walk\n');
  assert.deepEqual(Object.keys(readTree(clone)).sort(), [...Object.keys(files), 'src/new.txt'].sort(), 'no conflict copy');
});

test('a clone join reads none of the session\'s files again after its scan; the texts that scan read are the bases of later merges', async (t) => {
  const { files, a, clone, pa } = await shareWithClone(t);
  // Reads of the clone's files by the restart intake (it reads through QuickIo).
  const intakeReads: string[] = [];
  const quickRead = QuickIo.prototype.readIfFile;
  QuickIo.prototype.readIfFile = function (abs) {
    if (abs.startsWith(clone) && /takeRestart/.test(new Error().stack ?? '')) intakeReads.push(abs);
    return quickRead.call(this, abs);
  };
  t.after(() => (QuickIo.prototype.readIfFile = quickRead));
  let pb = await peers.start({ mode: 'join', code: pa.code, dir: clone, name: 'b', force: true });
  QuickIo.prototype.readIfFile = quickRead;
  assert.deepEqual(intakeReads, [], 'the intake read files the scan had read and the session has');
  const known = (pb.mirror as unknown as { known: KnownFiles }).known;
  for (const [rel, text] of Object.entries(files)) assert.equal(known.get(rel)?.text, text, `${rel}: its base, from the scan`);
  // b stops; each side edits its own line of one file; b comes back: merged from that base, no copy.
  await pb.close();
  const f5 = (dir: string) => fs.readFileSync(path.join(dir, 'src/f5.txt'), 'utf8');
  fs.writeFileSync(path.join(clone, 'src/f5.txt'), 'line one of 5 (b)\nline two of 5\n');
  fs.writeFileSync(path.join(a, 'src/f5.txt'), 'line one of 5\nline two of 5 (a)\n');
  await waitFor(() => pa.workspace.loadedText(pa.workspace.byPath('src/f5.txt')!.id)?.toString().includes('(a)') === true, 'a\'s edit in its model');
  pb = await peers.start({ mode: 'join', code: pa.code, dir: clone, name: 'b' });
  await waitFor(sameTrees([a, clone]), 'both folders alike', 15_000);
  assert.equal(f5(a), 'line one of 5 (b)\nline two of 5 (a)\n');
  assert.deepEqual(Object.keys(readTree(clone)).sort(), Object.keys(files).sort(), 'no conflict copy');
});
