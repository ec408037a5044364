/**
 * Availability on its own (src/sync/availability.ts), over a real progress tracker: a text counts
 * once complete, a binary once its current version is held, a file that leaves stops counting, and
 * a file no member could send is reported once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FileEntry } from '../../src/sync/api';
import { Availability } from '../../src/sync/availability';
import { ProgressTracker } from '../../src/sync/progress';
import { silentLogger, type Logger } from '../../src/session/log';

function setup() {
  const files = new Map<string, FileEntry>();
  const readyTexts = new Set<string>();
  const heldBinaries = new Set<string>(); // "id:hash"
  const warnings: string[] = [];
  const reported: string[] = [];
  const logger: Logger = { ...silentLogger, warn: (m: string) => void warnings.push(m) };
  const tracker = new ProgressTracker({ indexReady: () => true, fileCount: () => files.size }, () => {});
  const a = new Availability({
    byId: (id) => files.get(id),
    textReady: (id) => readyTexts.has(id),
    binaryHeld: (id, hash) => heldBinaries.has(`${id}:${hash}`),
    tracker,
    logger,
    unavailable: (entry) => reported.push(entry.path),
  });
  return { a, files, readyTexts, heldBinaries, warnings, reported, tracker };
}

test('texts count once complete, binaries once their current version is here, gone files not at all', () => {
  const { a, files, readyTexts, heldBinaries, tracker } = setup();
  files.set('t', { id: 't', path: 't.txt', kind: 'text', size: 4, hash: 'h0' });
  files.set('b', { id: 'b', path: 'b.bin', kind: 'binary', size: 10, hash: 'h2' });
  a.update('t');
  a.update('b');
  assert.equal(tracker.progress().files, 0);
  readyTexts.add('t');
  heldBinaries.add('b:h1'); // an older version
  a.update('t');
  a.update('b');
  assert.deepEqual({ files: tracker.progress().files, bytes: tracker.progress().bytes }, { files: 1, bytes: 4 });
  heldBinaries.add('b:h2');
  a.update('b');
  assert.equal(tracker.progress().complete, true);
  files.delete('t');
  a.update('t');
  assert.deepEqual({ files: tracker.progress().files, bytes: tracker.progress().bytes }, { files: 1, bytes: 10 });
});

test('a file no member could send is reported once, with its path; an unknown one not at all', () => {
  const { a, files, warnings, reported } = setup();
  files.set('t', { id: 't', path: 'dir/t.txt', kind: 'text', size: 1, hash: 'h' });
  a.report('t');
  a.report('t');
  a.report('unknown');
  assert.deepEqual(reported, ['dir/t.txt']);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /"dir\/t\.txt"/);
});
