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
import { DiskRecord, type KnownFiles } from '../../src/sync/disk-state';
import { ColdKnown, knownAsText, knownHolds } from '../../src/sync/record-texts';
import { contentHash } from '../../src/sync/hash';
import type { PeerOptions, RunningPeer } from '../../src/app/peer';
import { usePeers } from '../helpers/peers';
import { waitFor } from '../helpers/testnet';
import { readTree, tempDir, writeTree } from '../helpers/tree';

const known = (text: string) => ({ hash: contentHash(Buffer.from(text)), size: Buffer.byteLength(text), text });
const textsIn = (r: DiskRecord) => fs.readdirSync(path.join(r.dir, 'texts')).filter((n) => !n.endsWith('.tmp')).sort();
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
  fs.writeFileSync(path.join(again.dir, 'texts', known('alpha\n').hash), 'tampered\n');
  assert.equal(again.known.get('a.txt')!.text, undefined, 'a damaged base is left out');
  assert.equal(again.known.get('bin')!.text, undefined);
  // Texts no file refers to any more leave the record.
  again.known.delete('b.txt');
  await again.flush();
  assert.ok(!textsIn(again).includes(known('second\n').hash));
  await again.close();
});

const peers = usePeers();
const peer = (options: Omit<PeerOptions, 'network' | 'name'> & { name?: string }): Promise<RunningPeer> => peers.start({ name: options.mode, ...options });
const read = (dir: string, rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');
const same = (dirs: string[]) => () => dirs.every((d) => JSON.stringify(readTree(d)) === JSON.stringify(readTree(dirs[0])));

test('after a join no text is held in memory, and offline edits to them on both sides merge after a restart of either peer', async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) files[`src/f${i}.txt`] = `line one of ${i}\nline two\nline three\n`;
  const a = tempDir();
  writeTree(a, files);
  const pa = await peer({ mode: 'share', dir: a });
  const b = path.join(tempDir(), 'b');
  let pb = await peer({ mode: 'join', code: pa.code, dir: b });
  await waitFor(same([a, b]), 'b holds the tree');
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
