/**
 * Control of who is in, during the session (issue 17), over real hyperswarm on a loopback testnet:
 * the owner rotates the session code and every member moves to it without leaving (people with only
 * the old code cannot come in, people with the new one can); the owner lets a member manage people,
 * whose requests take effect on every member, and takes it back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSessionCode } from '../../src/session/code';
import { OwnerDelegation } from '../../src/session/delegation';
import { CodeRotation } from '../../src/session/rotation';
import type { Session } from '../../src/session/session';
import { useSessions } from '../helpers/sessions';
import { waitFor } from '../helpers/testnet';

const t = useSessions();
const owned = { admission: { policy: 'anyone' as const, guestRole: 'editor' as const } };

async function mesh(sessions: Session[]): Promise<void> {
  await waitFor(() => sessions.every((s) => s.peers().length === sessions.length - 1), `a full mesh of ${sessions.length}`);
}

test('the owner rotates the code: every member moves to it and stays connected; the old code no longer lets anyone in, the new one does', async () => {
  const oldCode = createSessionCode();
  const owner = t.session(oldCode, 'Owner', owned);
  const bob = t.session(oldCode, 'Bob');
  const carol = t.session(oldCode, 'Carol');
  await mesh([owner, bob, carol]);
  const rotations = [owner, bob, carol].map((s) => new CodeRotation(s));
  t.closeLater(() => rotations.forEach((r) => r.close()));
  const heard: string[] = [];
  rotations[1].on('rotated', (code, from) => heard.push(`${code} from ${from?.name}`));
  await assert.rejects(rotations[1].rotate(), /Only the session's owner/);

  const dropped: string[] = [];
  for (const s of [owner, bob, carol]) s.on('peer-leave', (p) => dropped.push(`${s.self.name} lost ${p.name}`));
  const newCode = await rotations[0].rotate();
  assert.notEqual(newCode, oldCode);
  assert.equal(owner.code, newCode);
  await waitFor(() => bob.code === newCode && carol.code === newCode, 'every member on the new code');
  await waitFor(() => heard.length > 0, 'Bob to announce under the new code');
  assert.deepEqual(heard, [`${newCode} from Owner`]);
  assert.ok([owner, bob, carol].every((s) => s.peers().length === 2 && s.status === 'connected'), 'nobody was disconnected by the rotation');
  assert.deepEqual(dropped, [], 'no connection dropped');

  // Someone with the old code looks the session up; someone with the new code joins after them.
  const mallory = t.session(oldCode, 'Mallory');
  await mallory.ready();
  const dave = t.session(newCode, 'Dave');
  await mesh([owner, bob, carol, dave]);
  assert.deepEqual(dropped, [], 'no connection dropped while others looked the session up');
  assert.equal(mallory.peers().length, 0, 'the old code let nobody in');
  assert.ok(![owner, bob, carol, dave].some((s) => s.peer(mallory.self.id)), 'no member has Mallory');
  const daves = new CodeRotation(dave);
  t.closeLater(() => daves.close());

  // A second rotation reaches the member who joined with the first one too.
  const third = await rotations[0].rotate();
  await waitFor(() => [bob, carol, dave].every((s) => s.code === third), 'every member on the third code');
});

test('a member who is not the owner cannot move the others to a code of their own', async () => {
  const code = createSessionCode();
  const owner = t.session(code, 'Owner', owned);
  const bob = t.session(code, 'Bob');
  const carol = t.session(code, 'Carol');
  await mesh([owner, bob, carol]);
  const rotations = [owner, bob, carol].map((s) => new CodeRotation(s));
  t.closeLater(() => rotations.forEach((r) => r.close()));
  // Bob forges an owner's rekey message on his links (what a modified peer could send).
  const forged = createSessionCode();
  await waitFor(() => (rotations[1] as unknown as { channels: { links(): unknown[] } }).channels.links().length === 2, "Bob's rotation channels open");
  for (const { link } of (rotations[1] as unknown as { channels: { links(): Array<{ link: { rekey: { send(m: unknown): void } } }> } }).channels.links()) link.rekey.send({ seq: 99, code: forged });
  // The owner's next real rotation still wins everywhere; the forged one never took.
  const real = await rotations[0].rotate();
  await waitFor(() => carol.code === real, 'Carol on the owner\'s code');
  assert.equal(owner.code, real);
  assert.notEqual(carol.code, forged);
});

test('the owner lets a member manage people: their requests change roles and remove people on every member; taken back, they cannot', async () => {
  const code = createSessionCode();
  const owner = t.session(code, 'Owner', owned);
  const bob = t.session(code, 'Bob');
  const carol = t.session(code, 'Carol');
  const dan = t.session(code, 'Dan');
  const all = [owner, bob, carol, dan];
  await mesh(all);
  const [o, b, c] = all.map((s) => new OwnerDelegation(s));
  t.closeLater(() => [o, b, c].forEach((d) => d.close()));
  const carolId = carol.self.id;
  const danId = dan.self.id;

  await assert.rejects(b.ask('viewer', carolId), /has not let you manage/);
  assert.throws(() => b.setDelegate(carolId, true), /Only the session's owner/);
  o.setDelegate(bob.self.id, true);
  await waitFor(() => b.selfIsDelegate && c.isDelegate(bob.self.id), 'Bob a delegate, as Bob and Carol know');

  await b.ask('viewer', carolId);
  await waitFor(() => carol.readOnly && owner.peer(carolId)?.readOnly === true && dan.peer(carolId)?.readOnly === true, 'Carol read-only everywhere');
  await b.ask('editor', carolId);
  await waitFor(() => !carol.readOnly && dan.peer(carolId)?.readOnly !== true, 'Carol an editor again everywhere');
  await assert.rejects(b.ask('remove', owner.self.id), /nobody can remove the session's owner/);

  await b.ask('remove', danId);
  await waitFor(() => all.filter((s) => s !== dan).every((s) => !s.peer(danId)), 'Dan removed from every member');
  assert.ok(owner.rosterEntries.some((e) => e.id === danId && e.role === 'denied'), 'the owner signed the removal');

  o.setDelegate(bob.self.id, false);
  await waitFor(() => !b.selfIsDelegate, 'Bob no longer a delegate');
  await assert.rejects(b.ask('viewer', carolId), /has not let you manage/);
  assert.equal(carol.readOnly, false);
});
