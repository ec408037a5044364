/**
 * The three-way merge of a change on disk (issue 12's residual loss): whole lines stay whole when the
 * disk and the peers insert at one place, a tool that wrote back a version several writes old loses
 * nobody's lines, and a write interrupted in the middle of its swap is put back at start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { earlierTexts, mergeBase } from '../../src/sync/disk-merge';
import { diffLineEdits, withLinesFromShared } from '../../src/sync/line-diff';
import { removeTempLitter } from '../../src/sync/litter';
import { applyEdits, mapOffset, withCommonChanges } from '../../src/sync/textdiff';
import { contentHash } from '../../src/sync/hash';
import { lstatOrUndefined, swapInto, tempPathBeside } from '../../src/sync/swap';
import type { PeerOptions, RunningPeer } from '../../src/app/peer';
import { usePeers } from '../helpers/peers';
import { waitFor } from '../helpers/testnet';
import { tempDir, writeTree } from '../helpers/tree';

/** The mirror's merge: the disk's edits since `base`, mapped across the peers' edits since `base`. */
function merge(base: string, disk: string, shared: string): string {
  const pending = diffLineEdits(base, shared);
  const local = diffLineEdits(base, disk).map((e) => {
    const start = mapOffset(pending, e.offset);
    return { offset: start, deleteCount: mapOffset(pending, e.offset + e.deleteCount) - start, insert: e.insert };
  });
  return applyEdits(shared, local);
}

test('lines inserted on disk and by peers at one place stack whole, never spliced into each other', () => {
  // The chaos suite's case: a plain character diff placed "a-48\n" as "9\na-4" after "a-1", and next
  // to a peer's line at the same place the result read "a-1", "a-489".
  const base = 'a-20\na-19\na-5\n';
  const disk = 'a-20\na-19\na-48\na-5\n';
  assert.deepEqual(diffLineEdits(base, disk), [{ offset: 10, deleteCount: 0, insert: 'a-48\n' }]);
  for (const shared of ['a-20\na-19\nb-9\na-5\n', 'a-20\na-19\na-1\na-5\n', 'a-20\na-1\na-19\na-49\na-5\n']) {
    const lines = merge(base, disk, shared).split('\n');
    for (const l of [...disk.split('\n'), ...shared.split('\n')]) assert.ok(lines.includes(l), `${JSON.stringify(l)} in ${JSON.stringify(lines)}`);
  }
});

test('a change the disk and the shared text both made since the base is taken once (the disk got it from the session)', () => {
  const base = 'A\none\ntwo\n';
  const shared = 'A\nA while apart: one\ntwo\nfive\n';
  const disk = 'A\nA while apart: one\ntwo\n';
  assert.match(merge(base, disk + 'mine\n', shared), /A while apart: A while apart: one/); // what a stale base did
  assert.equal(merge(withCommonChanges(base, disk + 'mine\n', shared), disk + 'mine\n', shared), 'A\nA while apart: one\ntwo\nmine\nfive\n');
  // Only the very same edit counts as common: two different lines at one place both stay.
  assert.equal(withCommonChanges('a\n', 'a\nx\n', 'a\ny\n'), 'a\n');
});

test('an edit inside a line is still merged to the character', () => {
  assert.deepEqual(diffLineEdits('hello world\nnext\n', 'hello big world\nnext\n'), [{ offset: 6, deleteCount: 0, insert: 'big ' }]);
  assert.equal(merge('hello world\n', 'hello big world\n', 'hello world, again\n'), 'hello big world, again\n');
});

test('the merge base is the earlier version a stale rewrite deletes least from; a deliberate delete still goes', () => {
  const v = ['start\n', 'start\nb1\n', 'start\nb1\nb2\n', 'start\nb1\nb2\nb3\n'];
  let known: { hash: string; size: number; text: string; earlier?: string[] } | undefined;
  for (const text of v) known = { hash: contentHash(Buffer.from(text)), size: text.length, text, earlier: earlierTexts(known) };
  assert.deepEqual(known!.earlier, [v[2], v[1], v[0]]);
  // A tool read the file two writes ago and wrote it back with one line more.
  assert.equal(mergeBase(known, 'start\nb1\nstale\n'), v[1]);
  // Someone deleted b1 from the current file: every version with b1 loses the same, the latest wins.
  assert.equal(mergeBase(known, 'start\nb2\nb3\n'), v[3]);
});

test("a version holding a line the disk's line starts with is not taken for the base (a-1 is not a-10 with a '0' typed)", () => {
  // The copy wrote 's\na-1\n', then 's\na-1\nb\n'; a tool that read 's\n' wrote back 's\na-10\n'.
  const v = ['s\n', 's\na-1\n', 's\na-1\nb\n'];
  let known: { hash: string; size: number; text: string; earlier?: string[] } | undefined;
  for (const text of v) known = { hash: contentHash(Buffer.from(text)), size: text.length, text, earlier: earlierTexts(known) };
  const disk = 's\na-10\n';
  const base = mergeBase(known, disk);
  assert.equal(base, v[0]);
  const lines = merge(base!, disk, known!.text).split('\n');
  for (const l of ['s', 'a-1', 'b', 'a-10']) assert.ok(lines.includes(l), `${l} in ${JSON.stringify(lines)}`);
});

test('a file moved aside by a write that was interrupted goes back in its place at start', async () => {
  const root = tempDir();
  writeTree(root, { 'sub/other.txt': 'other\n' });
  fs.writeFileSync(path.join(root, 'sub', '.0123456789ab.notes.txt.hyperpair-tmp'), 'my notes\n');
  fs.writeFileSync(path.join(root, 'sub', '.0123456789ab.other.txt.hyperpair-tmp'), 'older other\n');
  fs.writeFileSync(path.join(root, '.ba9876543210.hyperpair-tmp'), 'half a write');
  // A repository's .git is never shared, so nothing of ours is there: not walked, nothing touched.
  fs.mkdirSync(path.join(root, '.git', 'objects', 'ab'), { recursive: true });
  fs.writeFileSync(path.join(root, '.git', 'objects', 'ab', '.0123456789ab.hyperpair-tmp'), 'not ours');
  await removeTempLitter(root);
  assert.equal(fs.readFileSync(path.join(root, 'sub', 'notes.txt'), 'utf8'), 'my notes\n');
  assert.equal(fs.readFileSync(path.join(root, 'sub', 'other.txt'), 'utf8'), 'other\n', 'a file in its place is newer: it stays');
  assert.deepEqual(fs.readdirSync(path.join(root, 'sub')).sort(), ['notes.txt', 'other.txt']);
  assert.deepEqual(fs.readdirSync(root).sort(), ['.git', 'sub']);
  assert.deepEqual(fs.readdirSync(path.join(root, '.git', 'objects', 'ab')), ['.0123456789ab.hyperpair-tmp']);
});

test('a swap hands back what someone wrote in its last instant, and unlinks nothing unread', () => {
  const root = tempDir();
  const target = path.join(root, 'f.txt');
  fs.writeFileSync(target, 'seen\n');
  const expect = { hash: contentHash(Buffer.from('seen\n')) };
  // Someone appends after the content was hashed and before the swap's last look.
  fs.appendFileSync(target, 'theirs\n');
  const temp = tempPathBeside(target);
  fs.writeFileSync(temp, 'ours\n');
  const { displaced } = swapInto('f.txt', temp, target, lstatOrUndefined(target), expect);
  assert.equal(displaced?.toString(), 'seen\ntheirs\n');
  assert.equal(fs.readFileSync(target, 'utf8'), 'ours\n');
  assert.deepEqual(fs.readdirSync(root), ['f.txt'], 'no temporary or moved-aside file left');
  // Unchanged: nothing handed back.
  const temp2 = tempPathBeside(target);
  fs.writeFileSync(temp2, 'ours again\n');
  assert.equal(swapInto('f.txt', temp2, target, lstatOrUndefined(target), { hash: contentHash(Buffer.from('ours\n')) }).displaced, undefined);
  assert.equal(fs.readFileSync(target, 'utf8'), 'ours again\n');
  assert.deepEqual(fs.readdirSync(root), ['f.txt']);
});

const peers = usePeers();
const peer = (options: Omit<PeerOptions, 'network' | 'name'> & { name?: string }): Promise<RunningPeer> => peers.start({ name: options.mode, ...options });

test('a tool that writes back a version several remote writes old loses none of the lines written since', async () => {
  const a = tempDir();
  writeTree(a, { 'f.txt': 'start\n' });
  const pa = await peer({ mode: 'share', dir: a });
  const b = path.join(tempDir(), 'b');
  await peer({ mode: 'join', code: pa.code, dir: b });
  const fa = path.join(a, 'f.txt');
  const fb = path.join(b, 'f.txt');
  const has = (file: string, lines: string[]) => () => {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : [];
    return lines.every((l) => text.includes(l));
  };
  for (const line of ['b1', 'b2', 'b3']) {
    fs.appendFileSync(fb, `${line}\n`);
    await waitFor(has(fa, [line]), `${line} on a's disk`, 15_000);
  }
  // Read when the file held start and b1 (two writes ago), written back now with its own line.
  fs.writeFileSync(fa, 'start\nb1\nstale\n');
  const all = ['start', 'b1', 'b2', 'b3', 'stale'];
  await waitFor(() => has(fa, all)() && has(fb, all)(), 'every line on both disks', 15_000);
});

test('what a restart finds on disk beyond a record that lagged the file, and the shared text has too, is taken as read (once)', () => {
  // The file got b2 from the shared text, which went on (b3); "mine" is the file's own.
  assert.equal(withLinesFromShared('s\nb1\n', 's\nb1\nb2\nmine\n', 's\nb1\nb2\nb3\n'), 's\nb1\nb2\n');
  assert.equal(merge(withLinesFromShared('s\n', 's\nb2\nmine\n', 's\nb2\nb3\n'), 's\nb2\nmine\n', 's\nb2\nb3\n').split('\n').sort().join(','), ',b2,b3,mine,s');
  // Someone inserted before it at that place since: still the same line.
  assert.equal(withLinesFromShared('s\nend\n', 's\nb2\nend\n', 's\nb9\nb2\nend\n'), 's\nb2\nend\n');
  // Others inserted lines between them since (a rewrite inserts anywhere): still the shared text's, and
  // a line of the file's own between them stays the file's.
  assert.equal(withLinesFromShared('s\n', 's\nx3\nx2\n', 's\nx3\ny\nx2\nz\n'), 's\nx3\nx2\n');
  assert.equal(withLinesFromShared('s\n', 's\nx3\nmine\nx2\n', 'y\ns\nx3\ny\nx2\n'), 's\nx3\nx2\n');
  // Different lines, or no whole line in common: nothing.
  assert.equal(withLinesFromShared('a\n', 'a\nx\n', 'a\ny\n'), 'a\n');
  assert.equal(withLinesFromShared('a\n', 'a\nxz', 'a\nxy\n'), 'a\n');
});
