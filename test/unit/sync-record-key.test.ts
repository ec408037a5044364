/**
 * The light check Join Session makes before a session runs: a folder has a sync record of *this*
 * session (written by the real DiskRecord), not of another one, and a broken record is no record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskRecord } from '../../src/sync/disk-state';
import { RECORD_FILE, sessionTag, wasSyncedBefore } from '../../src/sync/record-key';
import { folderStateDir } from '../../src/sync/state-dir';
import { tempDir } from '../helpers/tree';

test('a folder synced with a session is recognised for that session only; a broken record is none', async () => {
  const stateDir = tempDir('hyperpair-state-');
  const folder = tempDir('hyperpair-folder-');
  assert.equal(await wasSyncedBefore(folder, 'code-one', stateDir), false, 'no record yet');
  const record = await DiskRecord.open(folder, { session: sessionTag('code-one'), stateDir });
  record.startNew(sessionTag('code-one'));
  await record.close();
  assert.equal(await wasSyncedBefore(folder, 'code-one', stateDir), true, 'its own session');
  assert.equal(await wasSyncedBefore(folder, 'code-two', stateDir), false, 'another session');
  assert.equal((await DiskRecord.open(folder, { session: sessionTag('code-one'), stateDir })).found, true, 'DiskRecord agrees');
  const file = path.join(folderStateDir(folder, stateDir), RECORD_FILE);
  // Its first line says whose it is (record-file.ts): that line alone is read.
  const head = fs.readFileSync(file, 'utf8').split('\n')[0];
  assert.deepEqual(JSON.parse(head), { version: 2, session: sessionTag('code-one') });
  fs.writeFileSync(file, `${head}\n${'x'.repeat(100_000)}`);
  assert.equal(await wasSyncedBefore(folder, 'code-one', stateDir), true, 'the rest is not read');
  // A record of version 1 (one JSON object), as earlier versions wrote it: still recognised.
  const v1 = { version: 1, session: sessionTag('code-one'), files: { ['x'.repeat(5000)]: { hash: 'ab'.repeat(32), size: 1 } }, tree: {} };
  fs.writeFileSync(file, JSON.stringify(v1));
  assert.equal(await wasSyncedBefore(folder, 'code-one', stateDir), true, 'version 1, longer than the head read first');
  assert.equal(await wasSyncedBefore(folder, 'code-two', stateDir), false);
  fs.writeFileSync(file, '{not json');
  assert.equal(await wasSyncedBefore(folder, 'code-one', stateDir), false, 'a broken record is no record');
  fs.writeFileSync(file, JSON.stringify({ version: 2, session: sessionTag('code-one') }));
  assert.equal(await wasSyncedBefore(folder, 'code-one', stateDir), false, 'a version-2 head with no line after it is no record');
});
