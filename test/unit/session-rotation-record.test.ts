/**
 * A rotated code is the same session: a member's folder record follows the new code, so that a
 * rejoin with it (a window reload after the rotation) merges into the folder instead of treating it
 * as never synced. Real peers over a loopback testnet, real folders.
 */
import { test, before, after } from 'node:test';
import * as path from 'node:path';
import { startPeer, type RunningPeer } from '../../src/app/peer';
import { CodeRotation } from '../../src/session/rotation';
import { wasSyncedBefore } from '../../src/sync/record-key';
import { createTestNetwork, waitFor, type TestNetwork } from '../helpers/testnet';
import { tempDir, writeTree } from '../helpers/tree';

let net: TestNetwork;
const closers: Array<() => unknown> = [];
before(async () => {
  net = await createTestNetwork();
});
after(async () => {
  for (const close of closers.reverse()) await close();
  await net.destroy();
});

test("after a rotation, a member's folder counts as synced with the new code", async () => {
  const ownerDir = tempDir();
  writeTree(ownerDir, { 'a.txt': 'hello\n' });
  const owner = await startPeer({ mode: 'share', dir: ownerDir, name: 'Owner', network: net.network, lan: false });
  closers.push(() => owner.close());
  const bobDir = path.join(tempDir(), 'bob');
  const bob: RunningPeer = await startPeer({ mode: 'join', dir: bobDir, code: owner.code, name: 'Bob', network: net.network, lan: false });
  closers.push(() => bob.close());
  const rotations = [owner, bob].map((p) => new CodeRotation(p.session));
  closers.push(() => rotations.forEach((r) => r.close()));
  await waitFor(() => wasSyncedBefore(bobDir, owner.code), "Bob's record of the first code");
  const newCode = await rotations[0].rotate();
  await waitFor(() => bob.session.code === newCode, 'Bob on the new code');
  await waitFor(() => wasSyncedBefore(bobDir, newCode), "Bob's record under the new code");
});
