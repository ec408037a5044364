/**
 * The sync record's list of files (disk-state.ts) is made a slice of the event loop at a time, from
 * the known files of one instant: what changes meanwhile goes with the next write, and a text that a
 * file comes to refer to meanwhile is neither dropped from memory nor pruned from the record on the
 * word of a list that was taken before it. Real record folders on disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { DiskRecord } from '../../src/sync/disk-state';
import type { Logger } from '../../src/session/log';
import { RECORD_FILE, RECORD_VERSION } from '../../src/sync/record-key';
import { parseRecordList } from '../../src/sync/record-file';
import { recordText } from '../helpers/record';
import { contentHash } from '../../src/sync/hash';
import { PACK_FILE, TextPack } from '../../src/sync/text-pack';
import { tempDir } from '../helpers/tree';
import { turnsDuring } from '../helpers/turns';

const FILES = 40_000;
const known = (text: string) => ({ hash: contentHash(Buffer.from(text)), size: Buffer.byteLength(text), text });
const binary = (i: number) => ({ hash: contentHash(Buffer.from(`bin ${i}`)), size: 100 + i });

interface Listed {
  version: number;
  session: string;
  files: Record<string, { hash: string; size: number; text?: string }>;
  tree: Record<string, unknown>;
}
/** The record's file as written (version 2: a line each), with its first line's version. */
async function listOf(r: DiskRecord): Promise<Listed> {
  const raw = fs.readFileSync(path.join(r.dir, RECORD_FILE), 'utf8');
  const { session, files, tree } = await parseRecordList(raw);
  const head = JSON.parse(raw.slice(0, raw.indexOf('\n'))) as { version: number };
  return { version: head.version, session: session as string, files: Object.fromEntries(files), tree: tree as Record<string, unknown> };
}

/** Starts a write of the record and runs `meanwhile` after its instant, before it has ended. */
async function duringWrite(r: DiskRecord, meanwhile: () => void): Promise<void> {
  let ended = false;
  const written = r.flush().then(() => (ended = true));
  await turn();
  assert.equal(ended, false, 'the write of a list of 40,000 files takes more than one turn of the event loop');
  meanwhile();
  await written;
}

test("the record's list is one instant's known files, made a slice at a time; what changes meanwhile goes with the next write", async () => {
  const r = await DiskRecord.open(tempDir(), { session: 'tag', stateDir: tempDir(), delayMs: 60_000 });
  for (let i = 0; i < FILES; i++) r.known.set(`d${i % 97}/f${i}.bin`, binary(i));
  r.known.set('a.txt', known('alpha\n'));
  r.known.set('"odd" name\\.txt', known('quoted\n'));
  r.known.set('123', binary(-1)); // a name JSON objects would order first: order does not matter
  r.tree.set('link', { kind: 'link', target: 'a.txt' });

  await duringWrite(r, () => {
    r.known.delete('d0/f0.bin');
    r.known.set('a.txt', known('changed\n'));
    r.known.set('new.txt', known('new\n'));
  });
  const first = await listOf(r);
  assert.equal(first.version, RECORD_VERSION);
  assert.equal(first.session, 'tag');
  assert.deepEqual(first.tree, { link: { kind: 'link', target: 'a.txt' } });
  assert.equal(Object.keys(first.files).length, FILES + 3, 'every file of the instant, none added after it');
  assert.deepEqual(first.files['d0/f0.bin'], binary(0), 'a file deleted after the instant is still listed');
  assert.deepEqual(first.files['d40/f40.bin'], binary(40));
  assert.deepEqual(first.files['a.txt'], { ...known('alpha\n'), text: known('alpha\n').hash }, 'as it was at the instant');
  assert.equal(first.files['"odd" name\\.txt']?.text, known('quoted\n').hash);
  assert.equal(first.files['new.txt'], undefined);

  await r.flush();
  const second = await listOf(r);
  assert.equal(second.files['d0/f0.bin'], undefined);
  assert.equal(second.files['a.txt']?.hash, known('changed\n').hash);
  assert.equal(second.files['new.txt']?.hash, known('new\n').hash);

  // Read back by a new record of the same folder: every file, and the texts from the record.
  const again = await DiskRecord.open(r.folder, { session: 'tag', stateDir: path.dirname(r.dir) });
  assert.equal(again.known.size, FILES + 3);
  assert.equal(again.known.get('a.txt')?.text, 'changed\n');
  assert.equal(again.known.get('"odd" name\\.txt')?.text, 'quoted\n');
  await again.close();
  await r.close();
});

test('the record\'s file is a line each, read a slice of the event loop at a time; a version-1 record is still read; one cut short or with a line that is not a file\'s is not used', async () => {
  const stateDir = tempDir();
  const folder = tempDir();
  const files = Array.from({ length: FILES }, (_, i) => [`d${i % 97}/f "${i}"\n.bin`, binary(i)] as [string, { hash: string; size: number }]);
  const text = recordText('tag', files, { link: { kind: 'link', target: 'a.txt' } });
  assert.equal(text.split('\n').length, FILES + 3, 'head, tree, a line per file, and the last newline');
  const { turns, result } = await turnsDuring(() => parseRecordList(text));
  assert.ok(turns > 1, `the event loop turned while ${FILES} lines were read (${turns} turns)`);
  assert.deepEqual(result.files, files);
  assert.deepEqual(result.tree, { link: { kind: 'link', target: 'a.txt' } });

  // Version 1, as earlier versions wrote it: read, and written as version 2 by the next write.
  const r0 = await DiskRecord.open(folder, { session: 'tag', stateDir, delayMs: 60_000 });
  const file = path.join(r0.dir, RECORD_FILE);
  await r0.close();
  const v1 = { version: 1, session: 'tag', files: { 'a.txt': { ...known('alpha\n'), text: undefined }, 'b.bin': binary(1) }, tree: { empty: { kind: 'folder' } } };
  fs.mkdirSync(r0.dir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(v1));
  const r1 = await DiskRecord.open(folder, { session: 'tag', stateDir, delayMs: 60_000 });
  assert.deepEqual([...r1.known.keys()].sort(), ['a.txt', 'b.bin']);
  assert.deepEqual(r1.tree.get('empty'), { kind: 'folder' });
  r1.known.set('c.bin', binary(2));
  await r1.flush();
  await r1.close();
  const after = await listOf(r1);
  assert.equal(after.version, RECORD_VERSION);
  assert.deepEqual(Object.keys(after.files).sort(), ['a.txt', 'b.bin', 'c.bin']);

  // Damaged: the last line cut short, or a line that is no file's: the record is not used, and says so.
  const whole = fs.readFileSync(file, 'utf8');
  for (const damaged of [whole.slice(0, -5), whole.replace('["b.bin"', '{"b.bin"'), whole.replace(/\n/, '')]) {
    fs.writeFileSync(file, damaged);
    const warnings: string[] = [];
    const logger: Logger = { info() {}, warn: (m: string) => void warnings.push(m), error() {}, debug() {}, trace() {} };
    const r = await DiskRecord.open(folder, { session: 'tag', stateDir, delayMs: 60_000, logger });
    assert.equal(r.known.size, 0, 'nothing taken from a damaged record');
    assert.ok(warnings.some((w) => /ignoring the sync record/.test(w)), warnings.join('; '));
    await r.close();
  }
});

test('a text a file comes to refer to while the list is written stays readable: neither dropped from memory nor pruned from the record', async () => {
  const r = await DiskRecord.open(tempDir(), { session: 'tag', stateDir: tempDir(), delayMs: 60_000 });
  for (let i = 0; i < FILES; i++) r.known.set(`f${i}.bin`, binary(i));

  // In the record already: x.txt held "stored", which the list being written no longer names.
  r.known.set('x.txt', known('stored\n'));
  await r.flush();
  r.known.set('x.txt', known('other\n'));
  // Waiting in memory only: y.txt held "waiting" and changed again before any write.
  r.known.set('y.txt', known('waiting\n'));
  r.known.set('y.txt', known('later\n'));

  await duringWrite(r, () => {
    // A copy, a revert, a file that turns up with the same bytes: each now holds a text the list lacks.
    r.known.set('copy-of-x.txt', known('stored\n'));
    r.known.set('copy-of-y.txt', known('waiting\n'));
  });
  assert.equal(r.known.get('copy-of-x.txt')?.text, 'stored\n', 'not pruned from the record');
  assert.equal(r.known.get('copy-of-y.txt')?.text, 'waiting\n', 'not dropped from memory');

  await r.flush();
  const again = await DiskRecord.open(r.folder, { session: 'tag', stateDir: path.dirname(r.dir) });
  assert.equal(again.known.get('copy-of-x.txt')?.text, 'stored\n', 'in the record after the next write');
  assert.equal(again.known.get('copy-of-y.txt')?.text, 'waiting\n');
  assert.equal(again.known.get('x.txt')?.text, 'other\n');
  assert.equal(again.known.get('y.txt')?.text, 'later\n');
  await again.close();
  await r.close();
});

test("the record's text pack takes thousands of texts in one append a slice at a time, each read back from its place", async () => {
  const file = path.join(tempDir(), PACK_FILE);
  const pack = new TextPack(file);
  await pack.load();
  // Small texts (many headers in each block the next load reads, some across a block's end) and a
  // few larger than a block.
  const texts = new Map(Array.from({ length: 6_000 }, (_, i) => `text ${i} ${'x'.repeat(i % 1000 === 999 ? 150_000 + i : i % 700)}\n`).map((t) => [contentHash(Buffer.from(t)), t]));
  const done: string[] = [];
  const { turns } = await turnsDuring(() => pack.append(texts, (hash) => done.push(hash)));
  assert.ok(turns > 1, `the event loop turned while it appended (${turns} turns)`);
  assert.equal(done.length, texts.size);
  for (const [hash, text] of texts) assert.equal(pack.read(hash), text);
  const again = new TextPack(file);
  await again.load();
  assert.equal([...again.hashes()].length, texts.size, 'every entry found by the next load');
  for (const [hash, text] of texts) assert.equal(again.read(hash), text);
});
