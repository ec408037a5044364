/**
 * DiskBindings (src/sync/disk-bindings.ts) over a real mirror core, workspace, folder and Yjs text:
 * binding a file that a tool changed beyond the mirror's record, the copy takes the bytes the binding
 * read — the tool's change reaches the shared text and the shared text's the file — and no write is
 * tried over a file its copy has not read (no compare-and-swap conflict on the way).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TypedEmitter } from '../../src/session/events';
import { silentLogger } from '../../src/session/log';
import { DiskBindings } from '../../src/sync/disk-bindings';
import { KnownFiles } from '../../src/sync/disk-state';
import { FolderGuard } from '../../src/sync/folder-guard';
import { contentHash } from '../../src/sync/hash';
import { MirrorCore, type MirrorEvents } from '../../src/sync/mirror-core';
import { ExcludeRules } from '../../src/sync/scan';
import { SharedWorkspace } from '../../src/sync/workspace';
import { MemoryTransport } from '../helpers/memory-transport';
import { waitFor } from '../helpers/testnet';
import { tempDir } from '../helpers/tree';
import { recordWriteConflicts } from '../helpers/write-conflicts';

test('a file a tool changed beyond the record is bound from the bytes read: both changes on both copies, no write conflict', async (t) => {
  const conflicts = recordWriteConflicts(t);

  const root = tempDir();
  const ws = new SharedWorkspace({ transport: new MemoryTransport('a'), mode: 'share' });
  const known = new KnownFiles();
  const core = new MirrorCore(root, ws, silentLogger, known, { root, workspace: ws }, new FolderGuard(root), new TypedEmitter<MirrorEvents>(), new ExcludeRules());
  const bindings = new DiskBindings(core, { writeFailed: () => {}, wrote: () => {} });
  t.after(() => {
    bindings.releaseAll();
    core.closed = true;
    ws.close();
  });

  const entry = ws.createText('notes.txt', 'one\n', 'disk');
  const recorded = Buffer.from('one\n');
  fs.writeFileSync(path.join(root, 'notes.txt'), recorded);
  known.set('notes.txt', { hash: contentHash(recorded), size: recorded.byteLength, text: 'one\n' });
  const text = await ws.text(entry.id);

  // A tool changes the file; before the mirror hears of it, the shared text changes too.
  fs.appendFileSync(path.join(root, 'notes.txt'), 'tool\n');
  text.doc!.transact(() => text.insert(0, 'shared\n'), 'remote');
  const copy = await core.run(() => bindings.bind(entry, text));
  assert.ok(copy, 'bound');

  const file = () => fs.readFileSync(path.join(root, 'notes.txt'), 'utf8');
  await waitFor(() => text.toString() === 'shared\none\ntool\n' && file() === text.toString() && bindings.settled, 'both changes in the text and the file');
  assert.deepEqual(conflicts, [], 'a write was tried over a file the copy had not read');
});
