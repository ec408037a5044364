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
  fs.writeFileSync(path.join(folderStateDir(folder, stateDir), RECORD_FILE), '{not json');
  assert.equal(await wasSyncedBefore(folder, 'code-one', stateDir), false, 'a broken record is no record');
});
