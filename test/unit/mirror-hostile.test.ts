/**
 * A malicious participant (it knows the code, so it authenticates) against a headless peer with a real
 * folder, over real hyperswarm on a loopback testnet: unsafe paths, paths through a symlink planted in
 * the folder, paths the folder excludes (git hooks), oversized data. Nothing may be written outside the
 * folder or where the folder excludes, and a rule-breaking peer is cut off.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { Session } from '../../src/session';
import { startPeer, type RunningPeer } from '../../src/app/peer';
import { SharedWorkspace } from '../../src/sync/workspace';
import { CHUNK_SIZE, encodeBlob, INDEX_DOC, MessageType, syncEncoder } from '../../src/sync/protocol';
import { contentHash } from '../../src/sync/hash';
import { createTestNetwork, waitFor, type TestNetwork } from '../helpers/testnet';
import { readTree, tempDir, writeTree } from '../helpers/tree';

let net: TestNetwork;
before(async () => {
  net = await createTestNetwork();
});
after(async () => {
  await net.destroy();
});

/** A sync update (y-protocols "update") of the index listing `entries`, as a hostile peer crafts it. */
function hostileIndexUpdate(entries: Record<string, Record<string, unknown>>): Uint8Array {
  const doc = new Y.Doc();
  for (const [id, fields] of Object.entries(entries)) {
    const m = new Y.Map<unknown>();
    for (const [k, v] of Object.entries(fields)) m.set(k, v);
    doc.getMap('files').set(id, m);
  }
  const e = syncEncoder(INDEX_DOC);
  encoding.writeVarUint(e, 2);
  encoding.writeVarUint8Array(e, Y.encodeStateAsUpdate(doc));
  return encoding.toUint8Array(e);
}

/** A victim sharing `<parent>/workspace`, with a symlink `link` → a folder outside, and a .git folder. */
async function victim(caps?: { maxFiles: number; maxFileBytes: number }) {
  const parent = tempDir();
  const dir = path.join(parent, 'workspace');
  const outside = tempDir();
  writeTree(dir, { 'mine.txt': 'mine\n', '.git/config': '[core]\n', '.git/hooks/README': 'hooks\n' });
  fs.symlinkSync(outside, path.join(dir, 'link'));
  const peer = await startPeer({
    mode: 'share',
    dir,
    name: 'victim',
    network: net.network,
    caps: caps && { maxFiles: caps.maxFiles, maxFileBytes: caps.maxFileBytes },
  });
  const leaves: Array<{ id: string; reason: string }> = [];
  peer.session.on('peer-leave', (p, reason) => leaves.push({ id: p.id, reason }));
  /** Resolves with why the victim dropped `id` first (a cut-off attacker may redial and leave again). */
  const cutOff = async (id: string, what: string) => {
    await waitFor(() => leaves.some((l) => l.id === id), `the attacker to be cut off for ${what}`);
    return leaves.find((l) => l.id === id)!.reason;
  };
  const before = { parent: fs.readdirSync(parent).sort(), dir: readTree(dir) };
  /** Nothing new beside the folder, nothing in the outside folder, nothing in .git. */
  const assertUntouched = () => {
    assert.deepEqual(fs.readdirSync(parent).sort(), before.parent, 'something was written beside the shared folder');
    assert.deepEqual(fs.readdirSync(outside), [], 'something was written through the planted symlink');
    assert.equal(fs.lstatSync(path.join(dir, 'link')).isSymbolicLink(), true);
    const now = readTree(dir);
    for (const rel of Object.keys(before.dir)) assert.equal(now[rel], before.dir[rel], `${rel} changed`);
    assert.deepEqual(
      Object.keys(now).filter((rel) => rel.startsWith('.git/')).sort(),
      ['.git/config', '.git/hooks/README'],
      'something was written into .git',
    );
  };
  return { peer, dir, parent, outside, cutOff, assertUntouched };
}

async function rawAttacker(code: string, victimPeer: RunningPeer): Promise<Session> {
  const s = new Session({ code, name: 'mallory', network: net.network });
  await s.ready();
  await waitFor(() => s.peers().some((p) => p.id === victimPeer.session.self.id), 'the attacker to be admitted');
  return s;
}

test('paths a model accepts but the folder must not take: through a planted symlink, into .git, excluded folders', async () => {
  const v = await victim();
  // The attacker runs the honest model code: these paths are well-formed, so only the mirror stands
  // between them and the disk.
  const session = new Session({ code: v.peer.code, name: 'mallory', network: net.network });
  const ws = new SharedWorkspace({ transport: session, mode: 'join' });
  await session.ready();
  ws.createText('link/evil.txt', 'through the link\n', 'disk');
  ws.createText('link/deeper/evil.txt', 'through the link\n', 'disk');
  ws.createText('.git/hooks/pre-commit', '#!/bin/sh\necho owned\n', 'disk');
  ws.createText('sub/.git', 'gitdir: ../link\n', 'disk');
  ws.createText('.hyperpair/state', 'evil\n', 'disk');
  ws.createText('x.hyperpair-tmp', 'evil\n', 'disk');
  ws.createBinary('link/evil.bin', Uint8Array.from([1, 2, 3]), 'disk');
  ws.createText('fine.txt', 'an ordinary file arrives\n', 'disk');
  await waitFor(() => fs.existsSync(path.join(v.dir, 'fine.txt')), 'the ordinary file on the victim\'s disk');
  await waitFor(() => v.peer.workspace.byPath('link/evil.bin') !== undefined, 'the victim to know every path');
  // Let the victim attempt every write (fetching contents), then check nothing landed.
  await waitFor(async () => {
    await v.peer.mirror.idle();
    return v.peer.workspace.isTextReady(v.peer.workspace.byPath('link/evil.txt')!.id);
  }, 'the victim to have fetched the hostile texts');
  await v.peer.mirror.idle();
  v.assertUntouched();
  assert.equal(fs.readFileSync(path.join(v.dir, 'fine.txt'), 'utf8'), 'an ordinary file arrives\n');
  assert.ok(!fs.existsSync(path.join(v.dir, 'sub/.git')));
  // (node_modules/ and .gitignored paths are written: a sharer's git may track files there, scan.ts.)
  assert.ok(!fs.existsSync(path.join(v.dir, '.hyperpair')));
  assert.ok(!fs.existsSync(path.join(v.dir, 'x.hyperpair-tmp')));

  // A rename of an ordinary file into the symlinked folder: the file must not follow it there.
  ws.rename(ws.byPath('fine.txt')!.id, 'link/renamed.txt', 'disk');
  await waitFor(() => v.peer.workspace.byPath('link/renamed.txt') !== undefined, 'the rename to arrive');
  await v.peer.mirror.idle();
  v.assertUntouched();
  ws.close();
  await session.leave();
  await v.peer.close();
});

test('unsafe paths in a crafted index cut the sender off and write nothing anywhere', async () => {
  const v = await victim();
  const cases = ['../evil.txt', '../workspace-evil/x', path.join(v.parent, 'abs-evil.txt'), 'a/../../evil.txt', 'C:/evil.txt', 'ok\\..\\..\\evil.txt', 'nul.txt'];
  for (const [i, bad] of cases.entries()) {
    const attacker = await rawAttacker(v.peer.code, v.peer);
    const id = (i + 1).toString(16).padStart(32, 'e');
    attacker.send(v.peer.session.self.id, hostileIndexUpdate({ [id]: { path: bad, kind: 'text', size: 5, hash: '' } }));
    assert.match(await v.cutOff(attacker.self.id, JSON.stringify(bad)), /unsafe path/);
    assert.equal(v.peer.workspace.byId(id), undefined);
    await attacker.leave();
  }
  await v.peer.mirror.idle();
  v.assertUntouched();
  assert.deepEqual(v.peer.workspace.files().map((f) => f.path), ['mine.txt']);
  await v.peer.close();
});

test('oversized data cuts the sender off: a chunk over the chunk size, a file over the size cap, too many files', async () => {
  const v = await victim({ maxFiles: 20, maxFileBytes: 1024 * 1024 });
  const hostile: Array<[string, Uint8Array, RegExp]> = [
    ['an oversized chunk', encodeBlob(MessageType.BlobData, contentHash(Uint8Array.of(1)), new Uint8Array(CHUNK_SIZE + 1)), /max 262144/],
    [
      'a file over the size cap',
      hostileIndexUpdate({ ['a'.repeat(32)]: { path: 'huge.bin', kind: 'binary', size: 2 * 1024 * 1024, hash: contentHash(Uint8Array.of(0)) } }),
      /over the size cap/,
    ],
    [
      'too many files',
      hostileIndexUpdate(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [i.toString(16).padStart(32, 'b'), { path: `f${i}.txt`, kind: 'text', size: 1 }]))),
      /max 20/,
    ],
  ];
  for (const [what, message, reason] of hostile) {
    const attacker = await rawAttacker(v.peer.code, v.peer);
    attacker.send(v.peer.session.self.id, message);
    assert.match(await v.cutOff(attacker.self.id, what), reason, what);
    await attacker.leave();
  }
  await v.peer.mirror.idle();
  v.assertUntouched();
  assert.deepEqual(v.peer.workspace.files().map((f) => f.path), ['mine.txt']);
  assert.deepEqual(Object.keys(readTree(v.dir)).sort(), ['.git/config', '.git/hooks/README', 'mine.txt']);
  await v.peer.close();
});
