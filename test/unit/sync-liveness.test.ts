/**
 * No wait without an end (issue 12, part 3) and new files at once (issue 15): headless peers over real
 * hyperswarm on a loopback testnet, real folders. A peer that creates a file and leaves, gracefully or
 * killed, never freezes the others; a joiner whose sharer leaves finishes from another member; a file
 * created on one peer of eight reaches every disk without anyone waiting for a re-request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import * as Y from 'yjs';
import { silentLogger } from '../../src/session/log';
import type { PeerOptions, RunningPeer } from '../../src/app/peer';
import { SharedWorkspace } from '../../src/sync/workspace';
import { legacyCreate } from '../helpers/legacy-entry';
import { MemoryTransport, link, unlink } from '../helpers/memory-transport';
import { usePeers } from '../helpers/peers';
import { waitFor } from '../helpers/testnet';
import { readTree, tempDir, writeTree } from '../helpers/tree';
import { dropConnections } from '../helpers/drop';
import { newFileToEveryDisk } from '../../bench/new-file';

const { start, cliNetworkArgs } = usePeers();

const join = (code: string, name: string, extra: Partial<PeerOptions> = {}) =>
  start({ mode: 'join', code, dir: path.join(tempDir(), name), name, ...extra });

const fileIs = (dir: string, rel: string, content: string) => () => {
  try {
    return fs.readFileSync(path.join(dir, rel), 'utf8') === content;
  } catch {
    return false;
  }
};

/** As kill -9 would: every connection drops without goodbye, and nothing more is sent or answered. */
async function kill(p: RunningPeer): Promise<void> {
  p.workspace.close();
  dropConnections(p.session);
  await p.close();
}

/** The remaining peers still sync both ways, through their disks. */
async function stillSyncing(a: RunningPeer, b: RunningPeer, tag: string): Promise<void> {
  writeTree(a.mirror.root, { [`from-a-${tag}.txt`]: `a ${tag}\n` });
  writeTree(b.mirror.root, { [`from-b-${tag}.txt`]: `b ${tag}\n` });
  await waitFor(fileIs(b.mirror.root, `from-a-${tag}.txt`, `a ${tag}\n`), `a's file on b after ${tag}`, 30_000);
  await waitFor(fileIs(a.mirror.root, `from-b-${tag}.txt`, `b ${tag}\n`), `b's file on a after ${tag}`, 30_000);
}

test('a peer that creates a file and leaves at once, gracefully or killed, never freezes the others', async () => {
  const a = tempDir();
  writeTree(a, { 'start.txt': 'start\n' });
  const pa = await start({ mode: 'share', dir: a, name: 'a' });
  const pb = await join(pa.code, 'b');
  for (const [i, how] of (['graceful', 'killed', 'graceful', 'killed', 'graceful', 'killed'] as const).entries()) {
    const px = await join(pa.code, `x${i}`);
    await waitFor(() => pa.session.peers().length === 2 && pb.session.peers().length === 2, 'x in the mesh');
    const rel = `made-by-x${i}.txt`;
    const content = `x${i} was here (${how})\n`;
    px.workspace.createText(rel, content, 'disk');
    if (how === 'graceful') {
      // Ctrl+C right after the file was made: nobody's request for its text gets an answer.
      px.workspace.close();
      await px.close();
    } else {
      // Frozen, then killed once the others have heard of the file.
      px.workspace.close();
      await waitFor(() => pa.workspace.byPath(rel) !== undefined && pb.workspace.byPath(rel) !== undefined, 'the entry on a and b');
      await kill(px);
    }
    await waitFor(fileIs(a, rel, content), `${rel} on a`, 30_000);
    await waitFor(fileIs(pb.mirror.root, rel, content), `${rel} on b`, 30_000);
    await stillSyncing(pa, pb, `${how}-${i}`);
  }
  assert.deepEqual(readTree(pb.mirror.root), readTree(a));
});

test('Ctrl+C stops a headless peer process within seconds after a peer created a file and left', async () => {
  const a = tempDir();
  writeTree(a, { 'start.txt': 'start\n' });
  const pa = await start({ mode: 'share', dir: a, name: 'a' });
  const dest = path.join(tempDir(), 'cli');
  const cli = path.resolve(__dirname, '../../src/cli/main.js');
  const child = spawn(process.execPath, [cli, 'join', pa.code, dest, '--name', 'cli', '--json', ...cliNetworkArgs()], { stdio: 'pipe' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.resume();
  try {
    await waitFor(() => out.includes('"event":"ready"'), 'the process joined', 60_000);
    const px = await join(pa.code, 'x');
    await waitFor(() => pa.session.peers().length === 2 && px.session.peers().length === 2, 'x in the mesh');
    px.workspace.createText('left-behind.txt', 'left behind\n', 'disk');
    px.workspace.close(); // answers nothing more
    await px.close();
    await waitFor(() => out.includes('"event":"peer-leave"'), 'x gone, as the process saw it', 30_000);
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 8_000))]);
    assert.equal(code, 0, 'the process stopped cleanly within 8 s');
    assert.equal(fs.readFileSync(path.join(dest, 'left-behind.txt'), 'utf8'), 'left behind\n');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

/** Three workspaces in a full mesh over the in-process transport (by default, b and c never time a request out). */
async function threeModels(docRequestTimeoutMs = 600_000) {
  const mk = (name: string, mode: 'share' | 'join') => {
    const transport = new MemoryTransport(name);
    return { transport, ws: new SharedWorkspace({ transport, mode, docRequestTimeoutMs }) };
  };
  const a = mk('a', 'share');
  const b = mk('b', 'join');
  const c = mk('c', 'join');
  link(a.transport, b.transport);
  link(a.transport, c.transport);
  link(b.transport, c.transport);
  await Promise.all([b.ws.whenIndexReady(), c.ws.whenIndexReady()]);
  return { a, b, c };
}

test('peers holding only updates of a text whose creator left take their copies instead of waiting on each other', async () => {
  const { a, b, c } = await threeModels();
  const { id, messages } = legacyCreate(a.ws.index, 'orphan.txt', 'orphan\n');
  for (const peer of [b, c]) for (const m of messages) a.transport.send(peer.transport.self.id, m);
  await waitFor(() => b.ws.byId(id) !== undefined && c.ws.byId(id) !== undefined, 'the entry on b and c', 5_000);
  // The creator goes before answering anyone: b and c each end up asking the other.
  a.ws.close();
  unlink(a.transport, b.transport);
  unlink(a.transport, c.transport);
  const [tb, tc] = await Promise.all([b.ws.loadText(id), c.ws.loadText(id)]);
  assert.equal(tb?.toString(), 'orphan\n');
  assert.equal(tc?.toString(), 'orphan\n');
  assert.ok(b.ws.progress().complete && c.ws.progress().complete);
  // And they keep syncing that text both ways.
  tb!.insert(0, 'b: ');
  tc!.insert(tc!.length, 'c\n');
  await waitFor(() => tb!.toString() === tc!.toString() && tb!.toString() === 'b: orphan\nc\n', 'edits both ways', 5_000);
  b.ws.close();
  c.ws.close();
});

test('a text that no member holds is reported, and does not hold up loading', async () => {
  // b and c ask each other, and each gives the other until its deadline to answer (it might have been
  // syncing on connecting, not asking): a short one here.
  const { a, b, c } = await threeModels(300);
  const { id, messages } = legacyCreate(a.ws.index, 'lost.txt');
  const reported: string[] = [];
  b.ws.on('unavailable', (e) => reported.push(`b:${e.path}`));
  c.ws.on('unavailable', (e) => reported.push(`c:${e.path}`));
  for (const peer of [b, c]) for (const m of messages) a.transport.send(peer.transport.self.id, m);
  await waitFor(() => b.ws.byId(id) !== undefined && c.ws.byId(id) !== undefined, 'the entry on b and c', 5_000);
  a.ws.close();
  unlink(a.transport, b.transport);
  unlink(a.transport, c.transport);
  assert.equal(await b.ws.loadText(id), undefined);
  await waitFor(() => reported.length === 2, 'both reported it', 5_000);
  assert.deepEqual(reported.sort(), ['b:lost.txt', 'c:lost.txt']);
  assert.ok(!b.ws.isTextReady(id), 'an empty copy is not taken for the file');
  b.ws.close();
  c.ws.close();
});

test('a text or binary that cannot arrive does not hold up the disk: other files keep flowing; the text is reported', async () => {
  const a = tempDir();
  writeTree(a, { 'start.txt': 'start\n' });
  const pa = await start({ mode: 'share', dir: a, name: 'a' });
  const pb = await join(pa.code, 'b');
  const reported: string[] = [];
  pb.workspace.on('unavailable', (e) => reported.push(e.path));
  // An entry whose text nobody has: sent on a's connection, but not by a's workspace (which never
  // answers for it), as a peer that crashed mid-create would leave it.
  const { id, messages } = legacyCreate(pa.workspace.index, 'never.txt');
  for (const m of messages) pa.session.send(pb.session.self.id, m);
  await waitFor(() => pb.workspace.byId(id) !== undefined, 'the entry on b');
  const bin = legacyCreate(pa.workspace.index, 'never.bin', undefined, true);
  for (const m of bin.messages) pa.session.send(pb.session.self.id, m);
  await waitFor(() => pb.workspace.byId(bin.id) !== undefined, 'the binary entry on b');
  writeTree(a, { 'after.txt': 'after\n' });
  // Well under the 10 s after which b passes over the silent member: the disk did not wait for it.
  await waitFor(fileIs(pb.mirror.root, 'after.txt', 'after\n'), 'a later file on b while never.txt cannot arrive', 8_000);
  await waitFor(() => reported.includes('never.txt'), 'never.txt reported on b', 30_000);
  await stillSyncing(pa, pb, 'stuck');
  assert.ok(!fs.existsSync(path.join(pb.mirror.root, 'never.txt')), 'nothing is made up for it');
  assert.ok(!fs.existsSync(path.join(pb.mirror.root, 'never.bin')), 'nor for the binary');
});

test('a joiner completes when no one can send some files, and is told which', async () => {
  const a = tempDir();
  writeTree(a, { 'ok.txt': 'ok\n' });
  const pa = await start({ mode: 'share', dir: a, name: 'a' });
  // Entries whose content nobody has, as a peer that crashed while creating them leaves behind.
  for (const [rel, binary] of [['gone.txt', false], ['gone.bin', true]] as const) {
    Y.applyUpdate(pa.workspace.index, legacyCreate(pa.workspace.index, rel, undefined, binary).indexUpdate);
  }
  const warnings: string[] = [];
  const logger = { ...silentLogger, warn: (m: string) => void warnings.push(m) };
  const pc = await join(pa.code, 'c', { logger });
  assert.ok(warnings.some((w) => w.includes('"gone.txt"')) && warnings.some((w) => w.includes('"gone.bin"')), warnings.join('\n'));
  assert.equal(fs.readFileSync(path.join(pc.mirror.root, 'ok.txt'), 'utf8'), 'ok\n');
  await stillSyncing(pa, pc, 'after-partial-join');
  assert.ok(!fs.existsSync(path.join(pc.mirror.root, 'gone.txt')) && !fs.existsSync(path.join(pc.mirror.root, 'gone.bin')));
});

test('a joiner whose source leaves mid-join completes from another member', async () => {
  const a = tempDir();
  const big = Uint8Array.from({ length: 16 * 1024 * 1024 }, (_, i) => (i * 2654435761) >>> 24);
  const files: Record<string, string | Uint8Array> = { 'big.bin': big };
  for (let i = 0; i < 200; i++) files[`src/f${i}.txt`] = `file ${i}\n`.repeat(50);
  writeTree(a, files);
  const pa = await start({ mode: 'share', dir: a, name: 'a' });
  const pb = await join(pa.code, 'b');
  // Whichever member the joiner asks most leaves once it has been asked for a dozen of the big
  // file's 64 chunks (the sharer, in the report that found the bug).
  let leaver: RunningPeer | undefined;
  let left: Promise<void> | undefined;
  for (const p of [pa, pb]) {
    let asked = 0;
    const serve = p.workspace.blobs.serve.bind(p.workspace.blobs);
    p.workspace.blobs.serve = (peerId, hash) => {
      if (++asked === 12 && !leaver) {
        leaver = p;
        left = p.close();
      }
      serve(peerId, hash);
    };
  }
  const started = Date.now();
  const pc = await join(pa.code, 'c');
  const took = Date.now() - started;
  assert.ok(leaver && left, 'a member left during the join');
  await left;
  const stayer = leaver === pa ? pb : pa;
  assert.deepEqual(readTree(pc.mirror.root), readTree(a));
  // The bug's symptom was a 30 s stall on chunks still asked of the departed member.
  assert.ok(took < 29_000, `the join took ${took} ms`);
  await stillSyncing(stayer, pc, 'after-join');
});

test('a file created on one peer of eight, text or binary, is on every disk; texts complete on arrival (no re-request)', async (t) => {
  // Over the DHT path alone, as between machines on different networks (the bench runs both paths).
  const r = await newFileToEveryDisk({ start: (o) => start({ ...o, lan: false }), peers: 8, rounds: 3, filesPerRound: 3, binariesPerRound: 1, meshTimeoutMs: 120_000, arrivalTimeoutMs: 60_000, log: (line) => t.diagnostic(line) });
  assert.deepEqual(r.missing, [], 'files missing from a disk');
  assert.equal(r.arrivals.length, 12 * 7, 'every file, texts and binaries, on every other disk');
  // Complete on arrival: the creator sent each text before its entry, so nobody asked for it and
  // nobody could wait on a re-request (the bug's symptom: 5–10 s for 2 files of 6).
  assert.deepEqual(r.askedFor, [], 'texts a peer had to ask for');
});

// The receiver writes a first file of the new folder, which makes the folder; its watcher reports the
// folder, which is expanded to every index entry under it; those not written yet (the binary, still
// arriving in 16 chunks; texts still queued behind the others) are not on disk. They were taken for
// deleted by the person and removed from the session, from every disk, the creator's too (over the DHT
// path, 300 texts copied in: 87–145 lost in each of 5 runs). Missing and never written here is not deleted.
test('a folder copied in with 300 texts and a large binary: every file reaches the other disk and stays on the creator\'s', async () => {
  // Over the DHT path (no LAN), as between two machines: the entries trickle in, and the folder is made
  // while most are still on their way. (Over the LAN path, fast on one machine, all were in time.)
  const a = tempDir();
  writeTree(a, { 'start.txt': 'start\n' });
  const pa = await start({ mode: 'share', dir: a, name: 'a', lan: false });
  const pb = await join(pa.code, 'b', { lan: false });
  // A slow link for the binary alone (its chunks answered 3 s late), so that it is still on its way
  // when the folder is made, in every run rather than in most.
  const serve = pa.workspace.blobs.serve.bind(pa.workspace.blobs);
  pa.workspace.blobs.serve = (peer, hash) => void setTimeout(() => serve(peer, hash), 3_000);
  const big = Buffer.alloc(4_000_000, 7);
  big[0] = 0; // not text
  const files: Record<string, string | Uint8Array> = { 'copied/b.bin': big };
  for (let i = 0; i < 300; i++) files[`copied/t${i}.txt`] = `text ${i}\n`;
  writeTree(a, files);
  const n = Object.keys(files).length;
  const count = (dir: string) => (fs.existsSync(path.join(dir, 'copied')) ? fs.readdirSync(path.join(dir, 'copied')).length : 0);
  const holdsAll = (dir: string) => Object.entries(files).every(([rel, bytes]) => fs.existsSync(path.join(dir, rel)) && fs.readFileSync(path.join(dir, rel)).equals(Buffer.from(bytes)));
  // Until b holds every file, or a lost one (a removal reached the creator's disk).
  await waitFor(() => count(a) < n || (count(pb.mirror.root) >= n && holdsAll(pb.mirror.root)), 'every file on b, or one gone from a', 60_000);
  assert.equal(count(a), n, 'every file still on the creator\'s disk');
  assert.ok(holdsAll(pb.mirror.root), 'every file on b, byte for byte');
});
