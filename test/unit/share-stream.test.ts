/**
 * Starting in a second: the session opens before the folder is read, the scan hands files on in
 * batches, a sharer says it is still scanning, and a joiner that joins meanwhile reports itself
 * joined only with every file on disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { RunningPeer } from '../../src/app/peer';
import { contentHash } from '../../src/sync/hash';
import { scanFolder, type ScannedFile } from '../../src/sync/scan';
import { ScanCache } from '../../src/sync/scan-cache';
import { othersScanning, readScanning } from '../../src/sync/scan-progress';
import { usePeers } from '../helpers/peers';
import { readTree, tempDir, writeTree } from '../helpers/tree';

const peers = usePeers();

function bigTree(n: number): Record<string, string> {
  const files: Record<string, string> = { '.gitignore': 'out/\n', 'out/skip.js': 'ignored' };
  for (let i = 0; i < n; i++) files[`pkg${i % 7}/d${i % 13}/f${i}.ts`] = `export const v${i} = ${i};\n`.repeat(1 + (i % 5));
  return files;
}

test('the scan hands every listed file on, in batches, in order, before it returns', async () => {
  const root = tempDir();
  writeTree(root, bigTree(700));
  const batches: ScannedFile[][] = [];
  const { report } = await scanFolder(root, { onFiles: (b) => void batches.push(b) });
  assert.ok(batches.length >= 2, `several batches (${batches.length})`);
  assert.ok(batches.every((b) => b.length > 0));
  assert.deepEqual(batches.flat().map((f) => f.rel), report.files.map((f) => f.rel));
  assert.equal(report.files.length, 701); // and .gitignore; out/ is excluded
});

test('a start reads each file once: the bytes the scan hashed go on with their batch, and a cached file\'s do not', async () => {
  const root = tempDir();
  writeTree(root, bigTree(300));
  const state = tempDir();
  const seen = async () => {
    const cache = await ScanCache.open(root, state, 0);
    const read = new Map<string, Buffer>();
    const hashes = new Map<string, string | undefined>();
    await scanFolder(root, { cache, onFiles: (b, _r, bytes) => b.forEach((f) => (hashes.set(f.rel, f.hash), bytes.has(f.rel) && read.set(f.rel, bytes.get(f.rel)!))) });
    return { read, hashes };
  };
  const first = await seen();
  assert.equal(first.read.size, first.hashes.size, 'every file of the first scan was read, and handed on');
  for (const [rel, bytes] of first.read) {
    assert.deepEqual(bytes, fs.readFileSync(path.join(root, rel)));
    assert.equal(first.hashes.get(rel), contentHash(bytes), rel);
  }
  const again = await seen();
  assert.equal(again.read.size, 0, 'the cache knew every file: nothing read, nothing handed on');
});

test('a scanning state from a peer is read strictly', () => {
  assert.deepEqual(readScanning({ scanning: { files: 3, bytes: 10 } }), { files: 3, bytes: 10 });
  for (const bad of [null, {}, { scanning: null }, { scanning: { files: -1, bytes: 0 } }, { scanning: { files: 1.5, bytes: 0 } }, { scanning: { files: '1', bytes: 0 } }, { scanning: [] }]) {
    assert.equal(readScanning(bad), undefined, JSON.stringify(bad));
  }
  const a = new Awareness(new Y.Doc());
  a.setLocalStateField('scanning', { files: 1, bytes: 1 });
  assert.equal(othersScanning(a), false, "this peer's own state does not count");
  a.destroy(); // its check timer would keep the process alive
});

test('a joiner that joins while the sharer still reads its folder is joined with every file on disk', async () => {
  const src = tempDir();
  const tree = bigTree(3000);
  writeTree(src, tree);
  const dst = path.join(tempDir(), 'joined');
  let joining: Promise<RunningPeer> | undefined;
  let filesAtOpen = -1;
  const sharer = await peers.start({
    mode: 'share',
    dir: src,
    name: 'sharer',
    onSessionOpen: (code) => {
      joining = peers.start({ mode: 'join', code, dir: dst, name: 'joiner' });
      joining.catch(() => {}); // awaited below
    },
    onScanProgress: (s) => {
      if (filesAtOpen < 0) filesAtOpen = s.files;
    },
  });
  assert.equal(filesAtOpen, 0, 'the session was open before any file was read');
  assert.equal(sharer.report?.files.length, 3001);
  assert.ok(joining);
  const joiner = await joining;
  // No waiting here: "joined" promises the whole folder.
  assert.equal(joiner.joined?.totalFiles, 3001);
  assert.deepEqual(readTree(dst), readTree(src, ['out']));
});
