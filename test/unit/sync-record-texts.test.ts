/**
 * Texts the mirror knows stay in the sync record, not in memory (record-texts.ts, issue 14): a file
 * nobody is changing is a ColdKnown whose text is read back (checked against its hash) when a merge
 * needs it. Real record folders on disk; real peers on a loopback testnet for a join and for a
 * restart with offline edits on both sides of the same files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskRecord, recordDirFor, type KnownFiles } from '../../src/sync/disk-state';
import { ColdKnown, knownAsText, knownHolds, type RecordTexts } from '../../src/sync/record-texts';
import { PACK_FILE, TextPack } from '../../src/sync/text-pack';
import { contentHash } from '../../src/sync/hash';
import type { PeerOptions, RunningPeer } from '../../src/app/peer';
import { usePeers } from '../helpers/peers';
import { waitFor } from '../helpers/testnet';
import { readTree, tempDir, writeTree } from '../helpers/tree';

const known = (text: string) => ({ hash: contentHash(Buffer.from(text)), size: Buffer.byteLength(text), text });
/** The record's texts (private to it: read for the test only). */
const textsOf = (r: DiskRecord) => (r as unknown as { texts: RecordTexts }).texts;
const textsIn = (r: DiskRecord) => [...textsOf(r).stored].sort();
/** Where the text of `hash` sits in the record's pack (text-pack.ts: hash, uint32 LE length, bytes). */
function packPlace(r: DiskRecord, hash: string): { offset: number; length: number } | undefined {
  const pack = fs.readFileSync(path.join(r.dir, PACK_FILE));
  for (let at = 0; at + 36 <= pack.length; ) {
    const length = pack.readUInt32LE(at + 32);
    if (pack.subarray(at, at + 32).toString('hex') === hash) return { offset: at + 36, length };
    at += 36 + length;
  }
  return undefined;
}
/** The mirror's map of known files (private to the mirror: read for the test only). */
const knownOf = (p: RunningPeer) => (p.mirror as unknown as { known: KnownFiles }).known;

test('a text nobody is changing is held as its hash and read back from the record; one with earlier versions stays in memory', async () => {
  const stateDir = tempDir();
  const folder = tempDir();
  const r = await DiskRecord.open(folder, { session: 's', stateDir });
  r.known.set('a.txt', known('alpha\n'));
  r.known.set('bin', { hash: contentHash(Buffer.from([1])), size: 1 });
  r.known.set('hot.txt', { ...known('new\n'), earlier: ['old\n'] });
  const a = r.known.get('a.txt')!;
  assert.ok(a instanceof ColdKnown, 'cold');
  assert.equal(a.text, 'alpha\n', 'readable before the record is written (it waits in memory)');
  assert.deepEqual({ ...a }, { hash: known('alpha\n').hash, size: 6, text: 'alpha\n' }, 'a copy carries the text itself');
  assert.ok(!(r.known.get('hot.txt') instanceof ColdKnown), 'a file with earlier versions is being changed: kept');
  assert.ok(!knownAsText(r.known.get('bin')) && knownAsText(a));
  assert.ok(knownHolds(a, 'alpha\n') && !knownHolds(a, 'beta\n'));
  // Every cold file reads its text through one accessor: with a closure each, every instance fell
  // into V8's slow properties (10 MB more at 30,000 files).
  r.known.set('c.txt', known('gamma\n'));
  const accessor = (k: unknown) => Object.getOwnPropertyDescriptor(k, 'text')?.get;
  assert.ok(accessor(a) && accessor(a) === accessor(r.known.get('c.txt')), 'one getter shared');
  assert.equal(r.known.get('c.txt')!.text, 'gamma\n');
  r.known.delete('c.txt');

  // A text that changed again before the record was written is never written.
  r.known.set('b.txt', known('first\n'));
  r.known.set('b.txt', known('second\n'));
  await r.flush();
  assert.deepEqual(textsIn(r), [known('alpha\n').hash, known('new\n').hash, known('second\n').hash].sort());
  assert.equal(r.known.get('a.txt')!.text, 'alpha\n', 'read back from the record');
  await r.close();

  // Opened again: known by hash, nothing read until asked; a damaged text is no base.
  const again = await DiskRecord.open(folder, { session: 's', stateDir });
  const b = again.known.get('b.txt')!;
  assert.ok(b instanceof ColdKnown);
  assert.equal(await (b as ColdKnown).load(), 'second\n');
  const place = packPlace(again, known('alpha\n').hash)!;
  const fd = fs.openSync(path.join(again.dir, PACK_FILE), 'r+');
  fs.writeSync(fd, Buffer.from('tampe'), 0, 5, place.offset); // same length, other bytes
  fs.closeSync(fd);
  assert.equal(again.known.get('a.txt')!.text, undefined, 'a damaged base is left out');
  assert.equal(again.known.get('bin')!.text, undefined);
  // Texts no file refers to any more leave the record.
  again.known.delete('b.txt');
  await again.flush();
  assert.ok(!textsIn(again).includes(known('second\n').hash));
  await again.close();
});

test('a text known from its bytes (a start\'s, a join\'s) is held and stored as those bytes, and read back as its string', async () => {
  const stateDir = tempDir();
  const folder = tempDir();
  const r = await DiskRecord.open(folder, { session: 's', stateDir });
  const text = 'naïve — ünïcödé \u{1F600}\n';
  const bytes = Buffer.from(text, 'utf8');
  const hash = contentHash(bytes);
  // A view into a larger message (texts-data holds many): held alone, not with the whole message.
  const message = Buffer.concat([Buffer.alloc(64 * 1024, 1), bytes]);
  const view = message.subarray(64 * 1024);
  r.known.set('u.txt', r.known.textFromBytes(hash, view));
  const k = r.known.get('u.txt')!;
  assert.ok(k instanceof ColdKnown);
  assert.equal(k.size, bytes.byteLength);
  assert.equal(k.text, text, 'readable as its string while it waits for the record');
  assert.ok(knownHolds(k, text));
  message.fill(0); // the message's buffer reused: what waits is a copy
  assert.equal(r.known.get('u.txt')!.text, text);
  await r.flush();
  assert.deepEqual(textsIn(r), [hash]);
  const place = packPlace(r, hash)!;
  assert.deepEqual(fs.readFileSync(path.join(r.dir, PACK_FILE)).subarray(place.offset, place.offset + place.length), bytes, 'the pack holds the bytes as they were');
  assert.equal(r.known.get('u.txt')!.text, text, 'read back from the pack');
  await r.close();
  // Without a record, the same call gives a known file holding the string.
  const loose = new (r.known.constructor as new () => KnownFiles)();
  assert.deepEqual(loose.textFromBytes(hash, bytes), { hash, size: bytes.byteLength, text });
});

test('a record of another session (a folder shared again under a new code): texts written in this one are read back at once', async () => {
  const stateDir = tempDir();
  const folder = tempDir();
  const first = await DiskRecord.open(folder, { session: 's1', stateDir });
  first.known.set('a.txt', known('alpha\n'));
  await first.close();
  const r = await DiskRecord.open(folder, { session: 's2', stateDir });
  assert.equal(r.known.get('a.txt'), undefined, 'the other session\'s files are not known');
  r.known.set('b.txt', known('beta\n'));
  await r.flush();
  assert.equal(r.known.get('b.txt')!.text, 'beta\n', 'the base of a merge, read back from the pack');
  assert.deepEqual(textsIn(r), [known('beta\n').hash], 'the other session\'s text left the pack');
  await r.close();
});

test('past 4 MB of texts waiting, they go into the pack at once, and the list of files is written at its usual time, not each time', async (t) => {
  const stateDir = tempDir();
  const folder = tempDir();
  const r = await DiskRecord.open(folder, { session: 's', stateDir, delayMs: 60_000 });
  const list = path.join(r.dir, 'files.json');
  // Whole writes of the record (private: spied on for the test only).
  const proto = DiskRecord.prototype as unknown as { write(): Promise<void> };
  const write = proto.write;
  let writes = 0;
  proto.write = function () {
    writes++;
    return write.call(this);
  };
  t.after(() => (proto.write = write));
  const body = 'x'.repeat(100 * 1024);
  for (let i = 0; i < 60; i++) r.known.set(`f${i}.txt`, known(`${i}\n${body}`)); // 6 MB of texts
  const first = known(`0\n${body}`).hash;
  await waitFor(() => textsOf(r).stored.has(first) && !textsOf(r).isPending(first), 'the first texts in the pack');
  assert.equal(writes, 0, 'the whole record was written for the texts');
  assert.ok(!fs.existsSync(list));
  assert.equal(r.known.get('f0.txt')!.text, `0\n${body}`, 'read back from the pack');
  // A text stored early whose file changed before the list was written is dropped with it.
  r.known.set('f0.txt', known('changed\n'));
  await r.flush();
  assert.ok(fs.existsSync(list));
  assert.ok(!textsIn(r).includes(first), 'the replaced text left the pack\'s live entries');
  assert.equal(textsIn(r).length, 60);
  await r.close();
  const again = await DiskRecord.open(folder, { session: 's', stateDir });
  for (let i = 1; i < 60; i++) assert.equal(again.known.get(`f${i}.txt`)!.text, `${i}\n${body}`);
  assert.equal(again.known.get('f0.txt')!.text, 'changed\n');
  await again.close();
});

test('the text pack: many texts a write, read back checked; a torn last entry is cut off, a damaged one is no base, garbage is collected once it outweighs the rest', async () => {
  const dir = tempDir();
  const file = path.join(dir, PACK_FILE);
  const texts = new Map<string, string>();
  for (let i = 0; i < 200; i++) {
    const text = `text ${i}\n`.repeat(40) + (i % 7 === 0 ? 'é ∑ 😀\n' : '');
    texts.set(known(text).hash, text);
  }
  const pack = new TextPack(file, 16 * 1024);
  await pack.load();
  const done: string[] = [];
  await pack.append(texts, (h) => done.push(h));
  assert.equal(done.length, 200);
  for (const [hash, text] of texts) assert.equal(pack.read(hash), text);
  assert.equal(await pack.readAsync([...texts.keys()][7]), [...texts.values()][7]);

  // A crash in the middle of a write: the last entry is cut short. Loaded again, it is gone and the
  // file ends where the last whole entry does; the next append goes there.
  const whole = fs.statSync(file).size;
  fs.appendFileSync(file, Buffer.concat([Buffer.from(known('torn\n').hash, 'hex'), Buffer.from([100, 0, 0, 0]), Buffer.from('to')]));
  const again = new TextPack(file, 16 * 1024);
  await again.load();
  assert.equal(fs.statSync(file).size, whole);
  assert.equal(again.has(known('torn\n').hash), false);
  assert.deepEqual([...again.hashes()].sort(), [...texts.keys()].sort());
  await again.append(new Map([[known('after\n').hash, 'after\n']]), () => {});
  assert.equal(again.read(known('after\n').hash), 'after\n');

  // Other bytes where a text was: no base, never the wrong text.
  const first = [...texts.keys()][0];
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from('X'), 0, 1, 36);
  fs.closeSync(fd);
  assert.equal(again.read(first), undefined);

  // Most entries removed: the pack is copied without them; the rest still read.
  const keep = [...texts.keys()].slice(150);
  for (const hash of texts.keys()) if (!keep.includes(hash)) again.remove(hash);
  await again.compact();
  assert.ok(fs.statSync(file).size < whole / 3, `compacted: ${fs.statSync(file).size} of ${whole} bytes`);
  for (const hash of keep) assert.equal(again.read(hash), texts.get(hash));
  assert.equal(again.read(known('after\n').hash), 'after\n');
  assert.equal(again.read(first), undefined);
  assert.deepEqual(fs.readdirSync(dir).sort(), [PACK_FILE], 'no temporary file left');
  const reloaded = new TextPack(file);
  await reloaded.load();
  assert.deepEqual([...reloaded.hashes()].sort(), [...keep, known('after\n').hash].sort());
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the pack\'s compaction copies runs of live entries, a text larger than a run alone; one removed meanwhile is garbage of the copy, one appended meanwhile keeps the old pack', async () => {
  const dir = tempDir();
  const file = path.join(dir, PACK_FILE);
  const texts = new Map<string, string>();
  for (let i = 0; i < 400; i++) {
    const text = `text ${i}\n`.repeat(i % 50 === 0 ? 150_000 : 300); // some larger than a run (1 MiB)
    texts.set(known(text).hash, text);
  }
  const pack = new TextPack(file, 1024);
  await pack.load();
  await pack.append(texts, () => {});
  const hashes = [...texts.keys()];
  // Three in four removed (the live ones in runs of one), but for a stretch (runs of many).
  const keep = hashes.filter((_, i) => i % 4 === 0 || (i > 200 && i < 240));
  for (const h of hashes) if (!keep.includes(h)) pack.remove(h);
  const compacting = pack.compact();
  pack.remove(keep[3]); // meanwhile: copied, but garbage of the copy
  await compacting;
  assert.ok(fs.statSync(file).size < [...texts.values()].reduce((n, t) => n + Buffer.byteLength(t), 0) * 0.8, 'compacted');
  assert.equal(pack.read(keep[3]), undefined);
  for (const h of keep.filter((_, i) => i !== 3)) assert.equal(pack.read(h), texts.get(h));
  const reloaded = new TextPack(file, 1024);
  await reloaded.load();
  for (const h of keep.filter((_, i) => i !== 3)) assert.equal(reloaded.read(h), texts.get(h));

  // An entry appended while a compaction copies: the old pack stays, with every entry.
  for (const h of keep.slice(0, 100)) reloaded.remove(h);
  const before = fs.statSync(file).size;
  const second = reloaded.compact();
  await reloaded.append(new Map([[known('late\n').hash, 'late\n']]), () => {});
  await second;
  assert.ok(fs.statSync(file).size > before, 'not replaced by a copy without the late entry');
  const rest = [...keep.slice(100).filter((h) => h !== keep[3]), known('late\n').hash];
  const readAll = (p: TextPack) => rest.map((h) => p.read(h));
  const expected = [...keep.slice(100).filter((h) => h !== keep[3]).map((h) => texts.get(h)), 'late\n'];
  assert.deepEqual(readAll(reloaded), expected);
  // Nothing appended now: the next compaction copies, the late entry with the rest.
  await reloaded.compact();
  assert.ok(fs.statSync(file).size < before / 2, `compacted after all: ${fs.statSync(file).size} of ${before} bytes`);
  assert.deepEqual(readAll(reloaded), expected);
  assert.deepEqual(fs.readdirSync(dir).sort(), [PACK_FILE], 'no temporary file left');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('texts kept one file each by an earlier version (texts/<hash>) are read as bases, and removed once unused', async () => {
  const stateDir = tempDir();
  const folder = tempDir();
  const r = await DiskRecord.open(folder, { session: 's', stateDir });
  r.known.set('a.txt', known('alpha\n'));
  await r.flush();
  await r.close();
  // As an earlier version left it: the text in texts/, none in the pack.
  fs.rmSync(path.join(r.dir, PACK_FILE));
  fs.mkdirSync(path.join(r.dir, 'texts'), { recursive: true });
  fs.writeFileSync(path.join(r.dir, 'texts', known('alpha\n').hash), 'alpha\n');
  const again = await DiskRecord.open(folder, { session: 's', stateDir });
  assert.equal(again.known.get('a.txt')!.text, 'alpha\n', 'the old file is the base');
  again.known.delete('a.txt');
  await again.flush();
  assert.deepEqual(fs.readdirSync(path.join(r.dir, 'texts')), [], 'removed once no file refers to it');
  await again.close();
});

const peers = usePeers();
const peer = (options: Omit<PeerOptions, 'network' | 'name'> & { name?: string }): Promise<RunningPeer> => peers.start({ name: options.mode, ...options });
const read = (dir: string, rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');
const same = (dirs: string[]) => () => dirs.every((d) => JSON.stringify(readTree(d)) === JSON.stringify(readTree(dirs[0])));
/** `count` texts of three lines under src/. */
function threeLineTexts(count: number): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < count; i++) files[`src/f${i}.txt`] = `line one of ${i}\nline two\nline three\n`;
  return files;
}
/** A folder of `count` such texts shared, and joined into a new folder: both hold the tree. */
async function sharedAndJoined(count: number) {
  const files = threeLineTexts(count);
  const a = tempDir();
  writeTree(a, files);
  const pa = await peer({ mode: 'share', dir: a });
  const b = path.join(tempDir(), 'b');
  const pb = await peer({ mode: 'join', code: pa.code, dir: b });
  await waitFor(same([a, b]), 'b holds the tree');
  return { files, a, b, pa, pb };
}

test('after a join no text is held in memory, and offline edits to them on both sides merge after a restart of either peer', async () => {
  const pair = await sharedAndJoined(40);
  const { a, b, pa } = pair;
  let pb = pair.pb;
  for (const p of [pa, pb]) {
    const cold = [...knownOf(p).values()].filter((k) => k instanceof ColdKnown).length;
    assert.equal(cold, 40, `every text of ${p === pa ? 'the sharer' : 'the joiner'} is cold`);
  }

  // b stops; both sides edit the same files (different lines), and b its own.
  await pb.close();
  for (let i = 0; i < 5; i++) {
    fs.writeFileSync(path.join(b, `src/f${i}.txt`), `line one of ${i} (b)\nline two\nline three\n`);
    fs.writeFileSync(path.join(a, `src/f${i}.txt`), `line one of ${i}\nline two\nline three (a)\n`);
  }
  fs.writeFileSync(path.join(b, 'src/f10.txt'), 'b alone\n');
  await waitFor(() => pa.workspace.loadedText(pa.workspace.byPath('src/f4.txt')!.id)?.toString().includes('(a)') === true, 'a\'s edits in its model');
  pb = await peer({ mode: 'join', code: pa.code, dir: b });
  await waitFor(same([a, b]), 'identical folders after b\'s restart');
  for (let i = 0; i < 5; i++) assert.equal(read(a, `src/f${i}.txt`), `line one of ${i} (b)\nline two\nline three (a)\n`);
  assert.equal(read(a, 'src/f10.txt'), 'b alone\n');

  // Now the sharer stops; both edit other files.
  await pa.close();
  for (let i = 20; i < 25; i++) {
    fs.writeFileSync(path.join(a, `src/f${i}.txt`), `line one of ${i} (a offline)\nline two\nline three\n`);
    fs.writeFileSync(path.join(b, `src/f${i}.txt`), `line one of ${i}\nline two (b)\nline three\n`);
  }
  await waitFor(() => pb.workspace.loadedText(pb.workspace.byPath('src/f24.txt')!.id)?.toString().includes('(b)') === true, 'b\'s edits in its model');
  const pa2 = await peer({ mode: 'join', dir: a, code: pa.code });
  await waitFor(same([a, b]), 'identical folders after a\'s restart');
  for (let i = 20; i < 25; i++) assert.equal(read(b, `src/f${i}.txt`), `line one of ${i} (a offline)\nline two (b)\nline three\n`);
  await Promise.all([pa2.close(), pb.close()]);
});

test('a folder shared again, under a new code and changed: its texts are bases at once, and the sharer\'s edits made on disk while a joiner\'s arrive merge line by line', async () => {
  const files = threeLineTexts(10);
  const a = tempDir();
  writeTree(a, files);
  await (await peer({ mode: 'share', dir: a })).close();
  // Changed meanwhile: this session's texts are not the last one's, in the same order, at the same places.
  fs.writeFileSync(path.join(a, 'src/f0.txt'), 'line one of 0, longer now\nline two\nline three\n');
  // A new session of the same folder: its record was the other session's.
  const pa = await peer({ mode: 'share', dir: a });
  const b = path.join(tempDir(), 'b');
  const pb = await peer({ mode: 'join', code: pa.code, dir: b });
  await waitFor(same([a, b]), 'b holds the tree');
  for (const k of knownOf(pa).values()) assert.ok(k.text !== undefined, 'every text of the sharer is a base it can read');
  // b stops, edits a line; the sharer edits another on its disk, then b comes back: merged, no copy.
  await pb.close();
  fs.writeFileSync(path.join(b, 'src/f3.txt'), 'line one of 3 (b)\nline two\nline three\n');
  fs.writeFileSync(path.join(a, 'src/f3.txt'), 'line one of 3\nline two\nline three (a)\n');
  await waitFor(() => pa.workspace.loadedText(pa.workspace.byPath('src/f3.txt')!.id)?.toString().includes('(a)') === true, 'a\'s edit in its model');
  const pb2 = await peer({ mode: 'join', code: pa.code, dir: b });
  await waitFor(same([a, b]), 'identical folders after b\'s return');
  assert.equal(read(a, 'src/f3.txt'), 'line one of 3 (b)\nline two\nline three (a)\n');
  assert.deepEqual(Object.keys(readTree(a)).sort(), Object.keys(files).sort(), 'no conflict copy');
  await Promise.all([pa.close(), pb2.close()]);
});

test('alone, with the record\'s copy of a text damaged, a disk edit to it is said to wait; it merges, no conflict copy, when a peer that has the text comes back', async () => {
  const { files, a, b, pa, pb } = await sharedAndJoined(5);
  await pb.close();
  const notices: string[] = [];
  pa.workspace.on('notice', (m) => notices.push(m));
  const hash = contentHash(Buffer.from(files['src/f3.txt']));
  await waitFor(() => fs.existsSync(path.join(recordDirFor(a), PACK_FILE)) && fs.readFileSync(path.join(recordDirFor(a), PACK_FILE)).includes(Buffer.from(hash, 'hex')), 'f3 in the pack');
  // Other bytes where f3's text was in the pack: it no longer reads back (text-pack.ts checks the hash).
  const pack = path.join(recordDirFor(a), PACK_FILE);
  const fd = fs.openSync(pack, 'r+');
  fs.writeSync(fd, Buffer.from('XXXX'), 0, 4, fs.readFileSync(pack).indexOf(Buffer.from(hash, 'hex')) + 36);
  fs.closeSync(fd);
  fs.writeFileSync(path.join(a, 'src/f3.txt'), 'line one of 3\nline two\nline three (a)\n');
  await waitFor(() => notices.some((m) => m.startsWith('src/f3.txt changed on disk') && m.includes('merged when someone who has that version joins')), 'told where the change waits');
  assert.equal(read(a, 'src/f3.txt'), 'line one of 3\nline two\nline three (a)\n', 'the edit stays on disk');
  const pb2 = await peer({ mode: 'join', code: pa.code, dir: b });
  await waitFor(same([a, b]), 'identical folders after b\'s return');
  assert.equal(read(b, 'src/f3.txt'), 'line one of 3\nline two\nline three (a)\n');
  assert.deepEqual(Object.keys(readTree(a)).sort(), Object.keys(files).sort(), 'no conflict copy');
  await Promise.all([pa.close(), pb2.close()]);
});
