/**
 * Joining (issue 16, items 2 and 3): a cancelled join leaves its new folder empty, and the next join
 * reuses it instead of creating `session-…-2`, `-3`, …; the message after joining says whose session.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createSessionCode } from '../../src/session';
import { startPeer } from '../../src/app/peer';
import { joinedText, uniqueFolder } from '../../src/editor/join-wording';
import { createTestNetwork, type TestNetwork } from '../helpers/testnet';
import { tempDir } from '../helpers/tree';

let net: TestNetwork;
before(async () => {
  net = await createTestNetwork();
});
after(async () => {
  await net.destroy();
});

const DAY = new Date('2026-12-02T10:00:00Z');

test('a cancelled join leaves its folder empty, and the next join reuses it: no numbered litter', async () => {
  const base = tempDir();
  const first = uniqueFolder(base, DAY);
  assert.equal(first, path.join(base, 'session-2026-12-02'));
  fs.mkdirSync(first, { recursive: true }); // as Join does before reloading into it
  const abort = new AbortController();
  const joining = startPeer({ mode: 'join', code: createSessionCode(), dir: first, name: 'Bob', network: net.network, lan: false, signal: abort.signal });
  setTimeout(() => abort.abort(), 300);
  await assert.rejects(joining, /cancelled/);
  assert.deepEqual(fs.readdirSync(first), [], 'nothing left in the folder of the cancelled join');
  for (let attempt = 0; attempt < 4; attempt++) assert.equal(uniqueFolder(base, DAY), first, 'the same empty folder, attempt after attempt');
  assert.deepEqual(fs.readdirSync(base), ['session-2026-12-02']);

  // A folder with anything in it is never reused.
  fs.writeFileSync(path.join(first, 'work.txt'), 'mine');
  assert.equal(uniqueFolder(base, DAY), path.join(base, 'session-2026-12-02-2'));
  fs.writeFileSync(path.join(base, 'session-2026-12-02-2'), 'a file, not a folder');
  assert.equal(uniqueFolder(base, DAY), path.join(base, 'session-2026-12-02-3'));
});

test('after joining: whose session, and who else is there', () => {
  const alice = { id: 'a'.repeat(64), name: 'Alice', colour: '#112233' };
  const bob = { id: 'b'.repeat(64), name: 'Bob', colour: '#112233' };
  const carol = { id: 'c'.repeat(64), name: 'Carol', colour: '#112233' };
  const joined = (peers: typeof alice[], ownerId?: string) => joinedText({ peers: () => peers, session: { access: { ownerId } } });
  assert.equal(joined([alice], alice.id), "you joined Alice's session.");
  assert.equal(joined([bob, alice, carol], alice.id), "you joined Alice's session (with Bob and Carol).");
  assert.equal(joined([bob], alice.id), 'you joined the session (with Bob).', 'the owner is not connected');
  assert.equal(joined([]), 'you joined the session; nobody else is connected yet.');
});
