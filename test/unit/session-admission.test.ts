/**
 * Admission and roles over real hyperswarm on a loopback testnet: the owner of an "ask" session
 * admits one newcomer and denies another, and every member follows the owner's signed roster; a
 * read-only guest reads everything while every member refuses its edits.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Session, createSessionCode } from '../../src/session';
import { judge, signRoster, verifyRoster, withEntry, rosterEncoding } from '../../src/session/admission';
import type { PeerInfo } from '../../src/session/transport';
import { AdmissionDeniedError, startPeer, type RunningPeer } from '../../src/app/peer';
import HyperDHT from 'hyperdht';
import c from 'compact-encoding';
import { dropAllTo, stillHeld } from '../helpers/drop';
import { createTestNetwork, waitFor, type TestNetwork } from '../helpers/testnet';
import { tempDir, writeTree } from '../helpers/tree';

let net: TestNetwork;
const sessions: Session[] = [];
const running: RunningPeer[] = [];
before(async () => {
  net = await createTestNetwork();
});
after(async () => {
  await Promise.all([...sessions.map((s) => s.leave()), ...running.map((p) => p.close())]);
  await net.destroy();
});

function session(code: string, name: string, extra: Partial<ConstructorParameters<typeof Session>[0]> = {}): Session {
  const s = new Session({ code, name, network: net.network, ...extra });
  sessions.push(s);
  void s.ready().catch(() => {});
  return s;
}

const names = (s: Session) => s.peers().map((p) => p.name).sort();

test('the roster: signed by its owner, any change breaks the signature; verdicts follow it', () => {
  const owner = HyperDHT.keyPair();
  const guest = HyperDHT.keyPair().publicKey;
  const r = signRoster({ owner: owner.publicKey, seq: 0, policy: 'ask', guestRole: 'editor', entries: [] }, owner.secretKey);
  assert.ok(verifyRoster(r));
  const decoded = c.decode(rosterEncoding, c.encode(rosterEncoding, r));
  assert.ok(verifyRoster(decoded), 'survives the wire');
  // A guest making itself an editor cannot sign as the owner.
  const forged = { ...withEntry(r, guest, 'editor'), signature: r.signature };
  assert.ok(!verifyRoster(forged));
  const other = HyperDHT.keyPair();
  assert.ok(!verifyRoster(signRoster({ ...withEntry(r, guest, 'editor'), owner: owner.publicKey }, other.secretKey)));

  assert.deepEqual(judge(undefined, guest, false), { admit: true, role: 'editor' }, 'a joiner judges no one');
  assert.deepEqual(judge(r, owner.publicKey, false), { admit: true, role: 'editor' });
  assert.deepEqual(judge(r, guest, true), { admit: false, why: 'ask' });
  assert.deepEqual(judge(r, guest, false), { admit: false, why: 'wait' });
  assert.deepEqual(judge(withEntry(r, guest, 'viewer'), guest, false), { admit: true, role: 'viewer' });
  assert.deepEqual(judge(withEntry(r, guest, 'denied'), guest, false), { admit: false, why: 'denied' });
  assert.deepEqual(judge({ ...r, policy: 'anyone', guestRole: 'viewer' }, guest, false), { admit: true, role: 'viewer' });
});

test('"ask": the owner admits one newcomer and denies another; every member follows, the denied one is told', async () => {
  const code = createSessionCode();
  const alice = session(code, 'Alice', { admission: { policy: 'ask', guestRole: 'editor' } });
  const requests: PeerInfo[] = [];
  alice.on('admission-request', (p) => requests.push(p));
  await alice.ready();

  const bob = session(code, 'Bob');
  const bobHeard: string[] = [];
  bob.on('admission', (state, by) => bobHeard.push(`${state} by ${by.name}`));
  await waitFor(() => requests.some((p) => p.name === 'Bob'), 'Alice to be asked about Bob');
  await waitFor(() => bob.status === 'waiting', 'Bob to be waiting');
  assert.deepEqual(alice.peers(), [], 'nobody is a member before the owner answers');
  assert.deepEqual(bob.peers(), []);
  assert.ok(bobHeard.includes('waiting by Alice'));
  // Data sent before admission goes nowhere.
  assert.equal(bob.send(alice.self.id, new Uint8Array([1])), false);

  const received: string[] = [];
  alice.on('message', (p, d) => received.push(`${p.name}:${Buffer.from(d).toString()}`));
  alice.admit(requests.find((p) => p.name === 'Bob')!.id);
  await waitFor(() => names(alice).includes('Bob') && names(bob).includes('Alice'), 'Alice and Bob to be members');
  assert.equal(bob.status, 'connected');
  assert.equal(bob.readOnly, false);
  bob.send(alice.self.id, Buffer.from('hello'));
  await waitFor(() => received.includes('Bob:hello'), 'data from Bob');

  // Carol knows the code too. Bob, a member, holds her back as well: only the owner decides.
  const carol = session(code, 'Carol');
  const carolHeard: string[] = [];
  carol.on('admission', (state, by) => carolHeard.push(`${state} by ${by.name}`));
  await waitFor(() => requests.some((p) => p.name === 'Carol'), 'Alice to be asked about Carol');
  await waitFor(() => carolHeard.includes('waiting by Bob') && carolHeard.includes('waiting by Alice'), 'Carol held by both');
  alice.deny(requests.find((p) => p.name === 'Carol')!.id);
  await waitFor(() => carolHeard.includes('denied by Alice'), 'Carol to learn she was denied');
  await waitFor(() => carolHeard.includes('denied by Bob'), 'Bob to follow the roster');
  assert.deepEqual(carol.peers(), []);
  assert.deepEqual(names(alice), ['Bob']);
  assert.deepEqual(names(bob), ['Alice']);
  assert.deepEqual(alice.admissionRequests(), []);
});

test('a denied joiner of a shared folder gets a clear error and writes nothing', async () => {
  const shared = tempDir();
  writeTree(shared, { 'secret.txt': 'not for you\n' });
  const owner = await startPeer({ mode: 'share', dir: shared, name: 'Owner', network: net.network, admission: { policy: 'ask', guestRole: 'editor' } });
  running.push(owner);
  owner.session.on('admission-request', (p) => owner.session.deny(p.id));
  const dir = path.join(tempDir(), 'joined');
  const waiting: string[] = [];
  await assert.rejects(
    startPeer({ mode: 'join', code: owner.code, dir, name: 'Mallory', network: net.network, onWaiting: (m) => waiting.push(m) }),
    (err: Error) => err instanceof AdmissionDeniedError && /Owner denied your request/.test(err.message),
  );
  assert.ok(waiting.some((m) => /waiting to be let in/.test(m)), `told it was waiting: ${JSON.stringify(waiting)}`);
  assert.ok(!fs.existsSync(path.join(dir, 'secret.txt')));
});

test('a read-only guest gets every file and change, and every member refuses its edits', async () => {
  const shared = tempDir();
  writeTree(shared, { 'notes.md': 'owner text\n' });
  const owner = await startPeer({ mode: 'share', dir: shared, name: 'Owner', network: net.network, admission: { policy: 'anyone', guestRole: 'viewer' } });
  running.push(owner);
  const editorDir = path.join(tempDir(), 'editor');
  const guestDir = path.join(tempDir(), 'guest');
  const guest = await startPeer({ mode: 'join', code: owner.code, dir: guestDir, name: 'Guest', network: net.network });
  running.push(guest);
  // The owner makes one guest an editor: every member follows the roster.
  const editor = await startPeer({ mode: 'join', code: owner.code, dir: editorDir, name: 'Editor', network: net.network });
  running.push(editor);
  await waitFor(() => owner.session.peers().length === 2, 'both guests to be members');
  owner.session.admit(editor.session.self.id, 'editor');
  await waitFor(() => !editor.session.readOnly && guest.session.readOnly, 'roles to arrive');
  await waitFor(() => guest.session.peers().length === 2 && editor.session.peers().length === 2, 'a full mesh');
  assert.equal(owner.session.peer(guest.session.self.id)?.readOnly, true);
  assert.equal(editor.session.peer(guest.session.self.id)?.readOnly, true);
  assert.ok(!owner.session.peer(editor.session.self.id)?.readOnly);

  const textOf = async (p: RunningPeer) => (await p.workspace.text(p.workspace.byPath('notes.md')!.id)).toString();
  // The guest's edit stays its own.
  (await guest.workspace.text(guest.workspace.byPath('notes.md')!.id)).insert(0, 'GUEST WAS HERE ');
  // The editor's and the owner's edits reach everyone, the guest included.
  (await editor.workspace.text(editor.workspace.byPath('notes.md')!.id)).insert(0, 'editor: ');
  await waitFor(async () => (await textOf(owner)).startsWith('editor: ') && (await textOf(guest)).includes('editor: '), 'the editor\'s edit everywhere');
  await new Promise((r) => setTimeout(r, 500)); // the guest's edit has had every chance to travel
  for (const p of [owner, editor]) assert.equal(await textOf(p), 'editor: owner text\n', `${p.session.self.name} refused the guest's edit`);
  // A file the guest creates on its disk is refused too.
  fs.writeFileSync(path.join(guestDir, 'planted.txt'), 'x');
  fs.writeFileSync(path.join(editorDir, 'from-editor.txt'), 'y');
  await waitFor(() => fs.existsSync(path.join(shared, 'from-editor.txt')) && fs.existsSync(path.join(guestDir, 'from-editor.txt')), 'the editor\'s new file everywhere');
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(!fs.existsSync(path.join(shared, 'planted.txt')));
  assert.ok(!fs.existsSync(path.join(editorDir, 'planted.txt')));
});

test('an answer finds a request whose connection was just torn down (as a duplicate is): requests and the roster are by key', async () => {
  const code = createSessionCode();
  const alice = session(code, 'Alice', { admission: { policy: 'ask', guestRole: 'editor' } });
  await alice.ready();
  const dan = session(code, 'Dan');
  const heard: string[] = [];
  dan.on('admission', (state, by) => heard.push(`${state} by ${by.name}`));
  await waitFor(() => alice.admissionRequests().some((p) => p.name === 'Dan'), 'Alice to be asked about Dan');
  const id = dan.self.id;
  const dropped = dropAllTo(alice, id);
  // Dan may redial at once: wait for the dropped connections to be gone, not for none at all.
  await waitFor(() => !stillHeld(alice, dropped), 'the connection to be gone');
  assert.ok(alice.admissionRequests().some((p) => p.id === id), 'the request outlives its connection');
  alice.deny(id);
  assert.deepEqual(alice.admissionRequests(), [], 'answered');
  await waitFor(() => heard.includes('denied by Alice'), 'Dan to hear the denial on his next connection');
});
