/**
 * No write to disk replaces what the mirror has not seen (issue 12, parts 1 and 2): compare-and-swap
 * writes, concurrent writers on two disks, a binary replaced on both sides, and a peer restarted into
 * its folder after offline edits. Real folders, real hyperswarm on a loopback testnet.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { recordDirFor } from '../../src/sync/disk-state';
import { parseRecordList } from '../../src/sync/record-file';
import { recordText } from '../helpers/record';
import * as fsutil from '../../src/sync/fsutil';
import { atomicWrite, TEMP_SUFFIX, WriteConflict } from '../../src/sync/fsutil';
import { contentHash } from '../../src/sync/hash';
import { QuickIo } from '../../src/sync/quick-io';
import type { PeerOptions, RunningPeer } from '../../src/app/peer';
import { usePeers } from '../helpers/peers';
import { waitFor } from '../helpers/testnet';
import { readTree, tempDir, writeTree } from '../helpers/tree';
import { recordWriteConflicts } from '../helpers/write-conflicts';

const peers = usePeers();
const peer = (options: Omit<PeerOptions, 'network' | 'name'> & { name?: string }): Promise<RunningPeer> => peers.start({ name: options.mode, ...options });

/** A sharer's folder with these files, and a joiner's. */
async function pair(files: Record<string, string | Uint8Array>): Promise<{ a: string; b: string; pa: RunningPeer; pb: RunningPeer }> {
  const a = tempDir();
  writeTree(a, files);
  const pa = await peer({ mode: 'share', dir: a });
  const b = path.join(tempDir(), 'b');
  const pb = await peer({ mode: 'join', code: pa.code, dir: b });
  return { a, b, pa, pb };
}

const same = (dirs: string[]) => () => {
  const trees = dirs.map((d) => JSON.stringify(readTree(d)));
  return trees.every((t) => t === trees[0]);
};

const read = (dir: string, rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');

test('atomicWrite with an expected content refuses to replace a file that changed, and leaves no temp file', async () => {
  const root = tempDir();
  writeTree(root, { 'f.txt': 'seen\n' });
  const seen = Buffer.from('seen\n');
  await atomicWrite(root, 'f.txt', Buffer.from('v2\n'), { expect: { hash: contentHash(seen), size: seen.byteLength } });
  assert.equal(read(root, 'f.txt'), 'v2\n');
  fs.writeFileSync(path.join(root, 'f.txt'), 'edited by vim\n');
  await assert.rejects(atomicWrite(root, 'f.txt', Buffer.from('v3\n'), { expect: { hash: contentHash(Buffer.from('v2\n')), size: 3 } }), WriteConflict);
  assert.equal(read(root, 'f.txt'), 'edited by vim\n');
  await assert.rejects(atomicWrite(root, 'f.txt', Buffer.from('v3\n'), { expect: null }), WriteConflict, 'a file where none was expected');
  await assert.rejects(atomicWrite(root, 'new.txt', Buffer.from('x'), { expect: { hash: contentHash(seen), size: 5 } }), WriteConflict, 'a vanished file');
  assert.ok(!fs.existsSync(path.join(root, 'new.txt')));
  assert.deepEqual(fs.readdirSync(root).filter((n) => n.endsWith(TEMP_SUFFIX)), []);
});

test('a local edit made between the mirror\'s read and its write is merged, not overwritten', async (t) => {
  const { a, b, pa, pb } = await pair({ 'notes.txt': 'first\n' });
  // The moment the mirror of b writes a remote change into the file, vim saves it.
  const write = fsutil.atomicWrite;
  let armed = true;
  (fsutil as { atomicWrite: typeof write }).atomicWrite = (root, rel, bytes, options) => {
    if (armed && root === b && rel === 'notes.txt' && Buffer.from(bytes).toString().includes('from a')) {
      armed = false;
      fs.appendFileSync(path.join(b, 'notes.txt'), 'saved on b\n');
    }
    return write(root, rel, bytes, options);
  };
  t.after(() => ((fsutil as { atomicWrite: typeof write }).atomicWrite = write));
  fs.appendFileSync(path.join(a, 'notes.txt'), 'from a\n');
  await waitFor(() => !armed, 'the mirror of b to write the change from a');
  await waitFor(same([a, b]), 'identical folders');
  const final = read(b, 'notes.txt');
  assert.match(final, /^first\n/);
  assert.match(final, /saved on b\n/, 'the local edit was overwritten');
  assert.match(final, /from a\n/);
  await Promise.all([pa.close(), pb.close()]);
});

test('two peers appending lines to one file at 5–200 ms intervals lose none of them', async () => {
  const { a, b, pa, pb } = await pair({ 'log.txt': 'start\n' });
  const written: string[] = [];
  const writer = async (dir: string, tag: string) => {
    const end = Date.now() + 3000;
    for (let i = 0; Date.now() < end; i++) {
      const line = `${tag}-${i}`;
      fs.appendFileSync(path.join(dir, 'log.txt'), line + '\n');
      written.push(line);
      await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 195)));
    }
  };
  await Promise.all([writer(a, 'a'), writer(b, 'b')]);
  const complete = (dir: string) => {
    const lines = new Set(read(dir, 'log.txt').split('\n'));
    return written.filter((l) => !lines.has(l));
  };
  await waitFor(() => complete(a).length === 0 && complete(b).length === 0 && same([a, b])(), 'every line on both disks', 30_000).catch((err: Error) => {
    throw new Error(`${err.message}; missing on a: ${complete(a).join(",")}, on b: ${complete(b).join(",")} of ${written.length}\n${read(a, "log.txt")}`);
  });
  assert.ok(written.length > 20);
  await Promise.all([pa.close(), pb.close()]);
});

test('a binary replaced locally while a remote version arrives: the local one wins, the remote one is kept', async () => {
  const { a, b, pa, pb } = await pair({ 'img.bin': Uint8Array.from([0, 1, 2, 3]) });
  const id = pb.workspace.byPath('img.bin')!.id;
  const remote = Uint8Array.from([0, 9, 9, 9, 9]);
  const local = Uint8Array.from([0, 7, 7, 7]);
  const binary = pb.workspace.binary.bind(pb.workspace);
  let armed = true;
  pb.workspace.binary = async (fileId: string) => {
    const bytes = await binary(fileId);
    if (armed && fileId === id && Buffer.from(bytes).equals(remote)) {
      armed = false;
      fs.writeFileSync(path.join(b, 'img.bin'), local); // saved on b just before the remote version lands
    }
    return bytes;
  };
  fs.writeFileSync(path.join(a, 'img.bin'), remote);
  await waitFor(() => !armed, 'the mirror of b to fetch the version from a');
  await waitFor(() => same([a, b])() && Object.keys(readTree(a)).length === 2, 'both versions on both disks');
  for (const dir of [a, b]) {
    const tree = readTree(dir);
    assert.equal(tree['img.bin'], Buffer.from(local).toString('hex'), 'the local version lost');
    const copy = Object.keys(tree).find((p) => p.startsWith('img (conflict '));
    assert.ok(copy, `no conflict copy in ${JSON.stringify(Object.keys(tree))}`);
    assert.equal(tree[copy], Buffer.from(remote).toString('hex'));
  }
  await Promise.all([pa.close(), pb.close()]);
});

test('a peer restarted into its folder merges its offline edits, deletes and creates, and loses nothing', async () => {
  const { a, b, pa, pb } = await pair({
    'both.txt': 'one\ntwo\nthree\n',
    'gone.txt': 'delete me\n',
    'edited-there.txt': 'old\n',
    'deleted-here-edited-there.txt': 'v1\n',
    'pic.bin': Uint8Array.from([0, 1, 2]),
  });
  await pb.close();

  // While b is down: b's disk and the session both change.
  fs.writeFileSync(path.join(b, 'both.txt'), 'one (b)\ntwo\nthree\n');
  fs.rmSync(path.join(b, 'gone.txt'));
  fs.rmSync(path.join(b, 'deleted-here-edited-there.txt'));
  writeTree(b, { 'new/offline.txt': 'made offline\n' });
  fs.writeFileSync(path.join(b, 'pic.bin'), Uint8Array.from([0, 5, 5]));
  fs.writeFileSync(path.join(a, 'both.txt'), 'one\ntwo\nthree (a)\n');
  fs.writeFileSync(path.join(a, 'edited-there.txt'), 'new from a\n');
  fs.writeFileSync(path.join(a, 'deleted-here-edited-there.txt'), 'v2 from a\n');
  await waitFor(() => pa.workspace.loadedText(pa.workspace.byPath('deleted-here-edited-there.txt')!.id)?.toString() === 'v2 from a\n', 'a\'s edits in its model');

  // No --force: the folder was joined before.
  const pb2 = await peer({ mode: 'join', code: pa.code, dir: b });
  await waitFor(same([a, b]), 'identical folders after the restart');
  assert.equal(read(b, 'both.txt'), 'one (b)\ntwo\nthree (a)\n');
  assert.ok(!fs.existsSync(path.join(a, 'gone.txt')), 'an offline delete of an unchanged file applies everywhere');
  assert.equal(read(a, 'new/offline.txt'), 'made offline\n');
  assert.equal(read(b, 'edited-there.txt'), 'new from a\n');
  assert.equal(read(b, 'deleted-here-edited-there.txt'), 'v2 from a\n', 'a delete must not discard edits it had not seen');
  assert.deepEqual([...fs.readFileSync(path.join(a, 'pic.bin'))], [0, 5, 5]);
  await Promise.all([pa.close(), pb2.close()]);
});

test('edits read and recorded but never received (the link dropped them) reach the session when the peer restarts', async () => {
  const { a, b, pa, pb } = await pair({ 'plan.txt': 'one\n', 'pic.bin': Uint8Array.from([0, 1, 2]) });
  // Fault injection: from now on b's changes find no peer to go to, as on a link that drops them.
  pb.session.peers = () => [];
  fs.appendFileSync(path.join(b, 'plan.txt'), 'two (b)\n');
  fs.writeFileSync(path.join(b, 'pic.bin'), Uint8Array.from([0, 8, 8]));
  const recorded = (rel: string, content: Uint8Array) => {
    const files = path.join(recordDirFor(b), 'files.json');
    const raw = fs.existsSync(files) ? fs.readFileSync(files, 'utf8') : '';
    const line = raw.split('\n').find((l) => l.startsWith(`[${JSON.stringify(rel)},`));
    return line !== undefined && (JSON.parse(line) as [string, { hash: string }])[1].hash === contentHash(content);
  };
  await waitFor(() => recorded('plan.txt', Buffer.from('one\ntwo (b)\n')) && recorded('pic.bin', Uint8Array.from([0, 8, 8])), 'b to record its edits');
  await pb.close();
  assert.equal(read(a, 'plan.txt'), 'one\n', 'the edit was not dropped');
  fs.appendFileSync(path.join(a, 'plan.txt'), 'three (a)\n');

  const pb2 = await peer({ mode: 'join', code: pa.code, dir: b });
  await waitFor(same([a, b]), 'identical folders after the restart');
  // Both were concurrent: Yjs orders them, the same way everywhere.
  assert.deepEqual(read(a, 'plan.txt').split('\n').sort(), ['', 'one', 'three (a)', 'two (b)']);
  assert.deepEqual([...fs.readFileSync(path.join(a, 'pic.bin'))], [0, 8, 8]);
  await Promise.all([pa.close(), pb2.close()]);
});

test('a file changed here just before a remote delete reaches the disk is kept, with its change, everywhere', async () => {
  const { a, b, pa, pb } = await pair({ 'draft.txt': 'v1\n' });
  // Runs as the delete arrives, before b's mirror (which queues its disk work) removes the file.
  pb.workspace.on('file-removed', (e) => {
    if (e.path === 'draft.txt') fs.writeFileSync(path.join(b, 'draft.txt'), 'v2 saved on b\n');
  });
  fs.rmSync(path.join(a, 'draft.txt'));
  await waitFor(() => fs.existsSync(path.join(a, 'draft.txt')) && same([a, b])(), 'the file back on a, identical folders');
  assert.equal(read(a, 'draft.txt'), 'v2 saved on b\n');
  await Promise.all([pa.close(), pb.close()]);
});

test('a tool that read the file before a remote change was written and writes it back whole after keeps both changes', async () => {
  const { a, b, pa, pb } = await pair({ 'conf.txt': 'x = 1\n' });
  const stale = read(b, 'conf.txt'); // a formatter reads the file…
  fs.appendFileSync(path.join(a, 'conf.txt'), 'y = 2\n');
  await waitFor(() => read(b, 'conf.txt').includes('y = 2'), 'the change from a on b\'s disk');
  fs.writeFileSync(path.join(b, 'conf.txt'), stale + 'z = 3\n'); // …and writes back what it read, plus its change
  await waitFor(() => read(a, 'conf.txt').includes('z = 3') && same([a, b])(), 'b\'s change on a, identical folders');
  assert.deepEqual(read(a, 'conf.txt').split('\n').sort(), ['', 'x = 1', 'y = 2', 'z = 3']);
  await Promise.all([pa.close(), pb.close()]);
});

type RecordFiles = Record<string, { hash: string; size: number; text?: string }>;

/** What a writes before and while b is down, and b while it is down (restartWithRecord). */
interface RestartEdits {
  /** log.txt on a, then on b's disk, before b stops. */
  before: string;
  /** log.txt on a while b is down. */
  aWhileDown: string;
  /** Appended to b's log.txt while it is down. */
  bOffline: string;
}

/**
 * `log.txt` ("start\na1\n") on a and b; b stops and its record is changed by `change`; while b is down
 * it appends "b offline" and a appends "a2" (or `edits`); b joins again into its folder. Resolves once
 * both folders are identical.
 */
async function restartWithRecord(
  change: (files: RecordFiles, dir: string) => void,
  edits: RestartEdits = { before: 'start\na1\n', aWhileDown: 'start\na1\na2\n', bOffline: 'b offline\n' },
): Promise<{ a: string }> {
  const { a, b, pa, pb } = await pair({ 'log.txt': 'start\n' });
  fs.writeFileSync(path.join(a, 'log.txt'), edits.before);
  await waitFor(() => read(b, 'log.txt') === edits.before, 'a\'s lines on b\'s disk');
  await pb.close();
  const dir = recordDirFor(b);
  const record = await parseRecordList(fs.readFileSync(path.join(dir, 'files.json'), 'utf8'));
  const files = Object.fromEntries(record.files) as RecordFiles;
  change(files, dir);
  fs.writeFileSync(path.join(dir, 'files.json'), recordText(record.session as string, Object.entries(files), record.tree as Record<string, unknown>));
  fs.appendFileSync(path.join(b, 'log.txt'), edits.bOffline);
  fs.writeFileSync(path.join(a, 'log.txt'), edits.aWhileDown);
  await waitFor(() => pa.workspace.loadedText(pa.workspace.byPath('log.txt')!.id)?.toString() === edits.aWhileDown, 'a\'s change in its model');
  const pb2 = await peer({ mode: 'join', code: pa.code, dir: b });
  await waitFor(same([a, b]), 'identical folders after the restart');
  await Promise.all([pa.close(), pb2.close()]);
  return { a };
}

/** As if b had been killed before its record caught up with its last write: it still says "start". */
function laggingRecord(files: RecordFiles, dir: string): void {
  const old = Buffer.from('start\n');
  files['log.txt'] = { hash: contentHash(old), size: old.byteLength, text: contentHash(old) };
  // As a version before the record's text pack kept it (texts/<hash>, still read).
  fs.mkdirSync(path.join(dir, 'texts'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'texts', contentHash(old)), old);
}

test('a record that lagged the file before a restart (the last lines written not in it yet) takes none of them twice', async () => {
  const { a } = await restartWithRecord(laggingRecord);
  assert.deepEqual(read(a, 'log.txt').split('\n').sort(), ['', 'a1', 'a2', 'b offline', 'start'], read(a, 'log.txt'));
});

/**
 * Spies on the reads of b's log.txt while `on.counting` is set: the caller of each read (its stack
 * frame), through fsutil.readIfFile and QuickIo (the bulk reads: the restart intake's). Undone after `t`.
 */
function spyOnReads(t: TestContext): { reads: string[]; on: { counting: boolean } } {
  const reads: string[] = [];
  const on = { counting: false };
  const readIfFile = fsutil.readIfFile;
  const count = (abs: string) => {
    if (on.counting && abs.endsWith(`${path.sep}b${path.sep}log.txt`)) reads.push((new Error().stack ?? '').split('\n')[3]?.trim() ?? '');
  };
  (fsutil as { readIfFile: typeof readIfFile }).readIfFile = (abs) => {
    count(abs);
    return readIfFile(abs);
  };
  const quickRead = QuickIo.prototype.readIfFile;
  QuickIo.prototype.readIfFile = function (abs) {
    count(abs);
    return quickRead.call(this, abs);
  };
  t.after(() => {
    (fsutil as { readIfFile: typeof readIfFile }).readIfFile = readIfFile;
    QuickIo.prototype.readIfFile = quickRead;
  });
  return { reads, on };
}

test('a restart that finds a file ahead of its record binds it with the bytes its intake read, not read again', async (t) => {
  // Where the mirror reads b's file from the restart on (the caller of each read).
  const { reads, on } = spyOnReads(t);
  const { a } = await restartWithRecord((files, dir) => {
    laggingRecord(files, dir);
    on.counting = true;
  });
  on.counting = false;
  assert.deepEqual(read(a, 'log.txt').split('\n').sort(), ['', 'a1', 'a2', 'b offline', 'start'], read(a, 'log.txt'));
  assert.ok(reads.length > 0, 'the spy saw no read of the file: it tests nothing');
  // The binding catches up from the bytes handed to it (disk-bindings.ts): a read of its own could
  // find a later version than the one its copy then takes.
  assert.deepEqual(reads.filter((r) => r.includes('caughtUp')), [], reads.join('\n'));
});

test('a lagging record\'s lines that others have since put lines between are taken once', async () => {
  // b's mirror wrote "x1" and "x2" (inserted together by a's rewrite) and stopped before its record had
  // them; while b was down a put "mid" between them. On b's disk they are one insertion, in the shared
  // text two: the catch-up must still see both as the shared text's, not b's own (the chaos suite's
  // create-then-leave, with rewrites: 'ctl1-s-2' twice).
  const { a } = await restartWithRecord(laggingRecord, { before: 'start\nx1\nx2\n', aWhileDown: 'start\nx1\nmid\nx2\n', bOffline: 'b offline\n' });
  assert.deepEqual(read(a, 'log.txt').split('\n').sort(), ['', 'b offline', 'mid', 'start', 'x1', 'x2'], read(a, 'log.txt'));
});

test('a file whose record keeps no text, changed while the peer was down, loses none of the lines it had not received', async () => {
  // A record that kept the file's hash but not its text (its text lost): nothing says what b's disk deleted.
  const { a } = await restartWithRecord((files) => delete files['log.txt'].text);
  // a's line stays in the file; b's version, which nobody can merge without its base, is kept beside it.
  assert.equal(read(a, 'log.txt'), 'start\na1\na2\n');
  const beside = Object.entries(readTree(a)).filter(([rel]) => rel !== 'log.txt');
  assert.equal(beside.length, 1, JSON.stringify(Object.keys(readTree(a))));
  assert.equal(Buffer.from(beside[0][1], 'hex').toString('utf8'), 'start\na1\nb offline\n'); // readTree gives hex
});

for (const [what, dropDocs] of [
  ['', false],
  [' (its record kept no Yjs state of the file: its text is fetched before the change is taken)', true],
] as const) {
  test(`a restart reads a file changed while the peer was down once, and writes it without a compare-and-swap conflict${what}`, async (t) => {
    // The reads of b's file from the restart on (the callers of each), and the writes refused.
    const { reads, on } = spyOnReads(t);
    const conflicts = recordWriteConflicts(t, () => on.counting);
    const { a } = await restartWithRecord((_files, dir) => {
      // Texts were saved with their Yjs state; one released before the record was written has none.
      if (dropDocs) fs.rmSync(path.join(dir, 'docs'), { recursive: true, force: true });
      on.counting = true;
    });
    on.counting = false;
    assert.deepEqual(read(a, 'log.txt').split('\n').sort(), ['', 'a1', 'a2', 'b offline', 'start'], read(a, 'log.txt'));
    const intake = reads.filter((r) => /takeRestart|restart-intake|takeLocalChange/.test(r));
    assert.equal(intake.length, 1, `the restart intake read the file ${intake.length} times:\n${intake.join('\n')}`);
    // Its first write expected the record's version, not the bytes the intake took: refused, then read again.
    assert.deepEqual(conflicts, [], 'a compare-and-swap conflict with nobody else writing');
  });
}
