/**
 * Progress on its own (src/sync/progress.ts): counts follow the view and the contents that arrive,
 * complete needs the index, and whenComplete waits for files that appear meanwhile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FileEntry, SyncProgress } from '../../src/sync/api';
import { ProgressTracker } from '../../src/sync/progress';

const entry = (id: string, size: number): FileEntry => ({ id, path: `${id}.txt`, kind: 'text', size, hash: '' });

test('counts files and bytes as contents arrive; complete once the index is here and every file is', async () => {
  let indexReady = false;
  let files = 0;
  const arrivals: SyncProgress[] = [];
  const t = new ProgressTracker({ indexReady: () => indexReady, fileCount: () => files }, (p) => arrivals.push(p));
  assert.equal(t.progress().complete, false, 'no index yet');
  let done = false;
  void t.whenComplete().then(() => (done = true));
  const a = entry('a', 10);
  const b = entry('b', 5);
  files = 2;
  t.viewChanged([{ now: a }, { now: b }]);
  indexReady = true;
  t.set('a', a, true);
  assert.deepEqual({ ...t.progress() }, { indexReady: true, files: 1, totalFiles: 2, bytes: 10, totalBytes: 15, complete: false });
  assert.equal(arrivals.length, 1);
  t.set('a', a, true);
  assert.equal(arrivals.length, 1, 'the same content again is no arrival');
  t.set('b', b, true);
  await Promise.resolve();
  assert.equal(done, true);
  // A file that leaves is no longer counted.
  files = 1;
  t.viewChanged([{ old: b }]);
  t.set('b', undefined, false);
  assert.deepEqual({ files: t.progress().files, bytes: t.progress().bytes, totalBytes: t.progress().totalBytes }, { files: 1, bytes: 10, totalBytes: 10 });
});
