/**
 * Control of who is in (issue 17) over real hyperswarm on a loopback testnet: the owner makes a person
 * read-only and an editor again, with effect on every member (their edits are refused, then taken),
 * removes a person (disconnected everywhere, told why), who cannot come back with the same key until
 * the owner lets them in again. Plus the words each side reads about it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import HyperDHT from 'hyperdht';
import { Session } from '../../src/session';
import { AccessControl } from '../../src/session/access';
import { describeDeparture, SELF_REMOVED } from '../../src/session/departure';
import { startPeer, type RunningPeer } from '../../src/app/peer';
import { createTestNetwork, waitFor, type TestNetwork } from '../helpers/testnet';
import { tempDir, writeTree } from '../helpers/tree';

let net: TestNetwork;
const running: RunningPeer[] = [];
const sessions: Session[] = [];
before(async () => {
  net = await createTestNetwork();
});
after(async () => {
  await Promise.all([...sessions.map((s) => s.leave()), ...running.map((p) => p.close())]);
  await net.destroy();
});

async function peer(mode: 'share' | 'join', name: string, code?: string, keyPair?: HyperDHT.KeyPair): Promise<RunningPeer> {
  const dir = mode === 'share' ? tempDir() : path.join(tempDir(), name);
  if (mode === 'share') writeTree(dir, { 'notes.md': 'owner text\n' });
  const p = await startPeer({ mode, dir, code, name, keyPair, network: net.network, lan: false });
  running.push(p);
  return p;
}

const textOf = async (p: RunningPeer) => (await p.workspace.text(p.workspace.byPath('notes.md')!.id)).toString();

/**
 * Resolves once `to` has everything `from` sent before now: an awareness marker travels on the same
 * connection after any update sent before it, so once it is there, a refused update was refused.
 */
async function flushed(from: RunningPeer, to: RunningPeer, mark: string): Promise<void> {
  from.workspace.awareness.setLocalStateField('mark', mark);
  const client = from.workspace.awareness.clientID;
  await waitFor(() => (to.workspace.awareness.getStates().get(client) as { mark?: string } | undefined)?.mark === mark, `${to.session.self.name} to hear ${from.session.self.name}'s ${mark}`);
}

test('the owner changes roles and removes a person; every member follows at once; the removed one cannot come back until let in again', async () => {
  const owner = await peer('share', 'Owner');
  const bob = await peer('join', 'Bob', owner.code);
  const carolKeys = HyperDHT.keyPair();
  const carol = await peer('join', 'Carol', owner.code, carolKeys);
  const all = [owner, bob, carol];
  await waitFor(() => all.every((p) => p.session.peers().length === 2), 'a full mesh of three');
  const access = new AccessControl(owner.session);
  const bobId = bob.session.self.id;
  const carolId = carol.session.self.id;
  assert.equal(access.standingOf(owner.session.self.id), 'owner');
  assert.equal(new AccessControl(bob.session).standingOf(owner.session.self.id), 'owner', 'a guest knows who owns the session');
  assert.throws(() => new AccessControl(bob.session).remove(carolId), /Only the session's owner/);

  // Read-only, on every member at once: Carol's edit is refused by the owner and by Bob.
  assert.equal(access.setRole(carolId, 'viewer'), 'Carol');
  await waitFor(() => carol.session.readOnly && owner.session.peer(carolId)?.readOnly === true && bob.session.peer(carolId)?.readOnly === true, 'Carol read-only everywhere');
  assert.equal(access.standingOf(carolId), 'read-only');
  (await carol.workspace.text(carol.workspace.byPath('notes.md')!.id)).insert(0, 'CAROL AS VIEWER ');
  await flushed(carol, owner, 'after-viewer-edit');
  await flushed(carol, bob, 'after-viewer-edit');
  assert.equal(await textOf(owner), 'owner text\n');
  assert.equal(await textOf(bob), 'owner text\n');

  // Bob is made read-only and an editor again: his next edit reaches everyone.
  access.setRole(bobId, 'viewer');
  await waitFor(() => bob.session.readOnly && carol.session.peer(bobId)?.readOnly === true, 'Bob read-only everywhere');
  access.setRole(bobId, 'editor');
  await waitFor(() => !bob.session.readOnly && owner.session.peer(bobId)?.readOnly !== true && carol.session.peer(bobId)?.readOnly !== true, 'Bob an editor again everywhere');
  (await bob.workspace.text(bob.workspace.byPath('notes.md')!.id)).insert(0, 'bob: ');
  await waitFor(async () => (await textOf(owner)).startsWith('bob: '), 'Bob\'s edit at the owner');

  // Removal: Carol is disconnected from every member and told why.
  const carolHeard: string[] = [];
  carol.session.on('admission', (state, by, reason) => carolHeard.push(`${state} by ${by.name}: ${reason}`));
  // Told once, from the owner's signed roster, without waiting for every member's denial to arrive.
  const carolRemoved: { reason: string; members: number }[] = [];
  carol.session.on('removed', (reason) => carolRemoved.push({ reason, members: carol.session.peers().length }));
  const leaves: string[] = [];
  bob.session.on('peer-leave', (p, reason) => leaves.push(describeDeparture(p.name, reason, false)));
  assert.equal(access.remove(carolId), 'Carol');
  await waitFor(() => carol.session.peers().length === 0 && owner.session.peers().length === 1 && bob.session.peers().length === 1, 'Carol cut off from everyone');
  await waitFor(() => carolHeard.some((h) => h.startsWith('denied by Owner: Owner removed you from this session')), `Carol told why: ${JSON.stringify(carolHeard)}`);
  assert.deepEqual(leaves, ['Carol was removed from the session'], 'Bob reads who was removed, not that she "left"');
  assert.deepEqual(carolRemoved, [{ reason: 'Owner removed you from this session.', members: 2 }], 'Carol knows at the roster, once');
  assert.equal(carol.session.removal, 'Owner removed you from this session.', 'and it stays known, for whoever asks later');
  assert.deepEqual(access.removed(), [{ id: carolId, name: 'Carol' }]);
  await carol.close();

  // Same key again: turned away by every member, never a member.
  const back = new Session({ code: owner.code, name: 'Carol again', keyPair: carolKeys, network: net.network, lan: false });
  sessions.push(back);
  const backHeard: string[] = [];
  back.on('admission', (state, by, reason) => backHeard.push(`${state} by ${by.name}: ${reason}`));
  void back.ready().catch(() => {});
  await waitFor(() => backHeard.some((h) => /^denied by Owner: Owner denied/.test(h)), `Carol turned away again: ${JSON.stringify(backHeard)}`);
  assert.deepEqual(back.peers(), []);
  assert.equal(owner.session.peers().length, 1);

  // Let in again: the same key becomes a member (a fresh session object; the old one gave up).
  assert.equal(access.readmit(carolId, 'editor'), 'Carol');
  await back.leave();
  const again = new Session({ code: owner.code, name: 'Carol', keyPair: carolKeys, network: net.network, lan: false });
  sessions.push(again);
  void again.ready().catch(() => {});
  await waitFor(() => again.peers().length === 2 && owner.session.peer(carolId) !== undefined, 'Carol back in, with the owner and Bob');
  assert.equal(again.readOnly, false);
  assert.deepEqual(access.removed(), []);
});

test('departures in plain words: who left, who was removed, and one\'s own leaving', () => {
  assert.equal(describeDeparture('Bob', 'left: left the session', true), 'Bob left the session');
  assert.equal(describeDeparture('Bob', 'peer left', false), 'Bob left the session');
  assert.equal(describeDeparture('Bob', 'denied', false, { owner: 'Alice' }), 'Bob was removed from the session by Alice');
  assert.equal(describeDeparture('Bob', 'left the session', false, { selfLeaving: true }), 'you left the session; closed the connection to Bob');
  assert.equal(describeDeparture('Alice', SELF_REMOVED, false), 'Alice no longer lets you in: you were removed from the session');
  assert.equal(describeDeparture('Bob', 'channel closed', false), 'the connection to Bob dropped (channel closed)');
});
