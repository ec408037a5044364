/**
 * Index bases (docs/PROTOCOL.md §6.1, §6.2, version 4; the file cap of version 5): a sharer's start makes its texts' entries as
 * bases that a joiner holding the same files builds itself, byte for byte; the joiner then receives
 * only what the bases lack, and ends with exactly the sharer's index.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as decoding from 'lib0/decoding';
import sodium from 'sodium-universal';
import * as Y from 'yjs';
import { entryMap } from '../../src/sync/entries';
import { contentHash } from '../../src/sync/hash';
import { BASES_MAP, baseCapacity, baseFileId, buildBase, comparePaths, FIRST_BASE_CLIENT, LARGE_BASE_FILES, MAX_BASES, nextBase, readBases, SMALL_BASES, sortByPath, sortByPathSliced, type BaseFile } from '../../src/sync/index-bases';
import { shareBatch } from '../../src/sync/share-files';
import type { ScanReport } from '../../src/sync/scan';
import { buildOwnBases, type LocalTexts } from '../../src/sync/own-bases';
import { decodeMessage, encodeBases, INDEX_DOC, MessageType } from '../../src/sync/protocol';
import { scanFolder } from '../../src/sync/scan';
import { ownClientId } from '../../src/sync/text-base';
import { SharedWorkspace } from '../../src/sync/workspace';
import { MemoryTransport, link } from '../helpers/memory-transport';
import { seededRandom } from '../helpers/sim-editor';
import { waitFor } from '../helpers/testnet';
import { tempDir, writeTree } from '../helpers/tree';
import { turnsDuring } from '../helpers/turns';

const file = (path: string, text: string): BaseFile => ({ path, size: Buffer.byteLength(text), hash: contentHash(Buffer.from(text)) });

test('path order: in each folder its files, then its subfolders, by UTF-16 code units; a scan lists files in that order', async () => {
  const paths = ['a-b/y', 'a/b/x', 'b', 'a/z', 'a/b/c/d', 'a/B', 'é', 'a/b/w'];
  assert.deepEqual([...paths].sort(comparePaths), ['b', 'é', 'a/B', 'a/z', 'a/b/w', 'a/b/x', 'a/b/c/d', 'a-b/y']);
  assert.deepEqual(sortByPath(paths, (p) => p), [...paths].sort(comparePaths), 'sortByPath splits once, same order');
  // Random paths from a small alphabet (prefixes, equal segments at every depth): the same order.
  let seed = 7;
  const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  // With the characters sortByPath's keys use as marks (\u0001, \u0002), and an empty name.
  const names = ['a', 'b', 'a-b', 'aa', 'B', 'é', 'a.b', '\u0001', 'a\u0002', '\u0002b', '', '\u{1f600}'];
  const random = Array.from({ length: 4000 }, () => Array.from({ length: 1 + next(4) }, () => names[next(names.length)]).join('/'));
  const items = [...new Set(random)].map((p, i) => ({ p, i }));
  assert.deepEqual(sortByPath(items, (x) => x.p).map((x) => x.p), items.map((x) => x.p).sort(comparePaths));
  // The sliced sort (runs of 1,024 merged, the loop handed back meanwhile) gives the same order.
  assert.deepEqual((await sortByPathSliced(items, (x) => x.p)).map((x) => x.p), items.map((x) => x.p).sort(comparePaths));
  const root = tempDir();
  writeTree(root, Object.fromEntries(paths.map((p) => [p, p])));
  for (const git of [false]) {
    const { report } = await scanFolder(root, { git });
    const listed = report.files.map((f) => f.rel);
    assert.deepEqual(listed, [...listed].sort(comparePaths), 'the walk lists in path order');
  }
});

test('a base is the same bytes wherever it is built, made by its own client id; a worked example', () => {
  const files = [file('README.md', 'hello\n'), file('src/a.ts', 'export {};\n')];
  const one = buildBase(3, files);
  assert.deepEqual(buildBase(3, files), one);
  const doc = new Y.Doc();
  Y.applyUpdate(doc, one);
  assert.deepEqual([...Y.decodeStateVector(Y.encodeStateVector(doc)).keys()], [FIRST_BASE_CLIENT + 3]);
  const entry = doc.getMap<Y.Map<unknown>>('files').get(baseFileId('src/a.ts'))!;
  assert.deepEqual(entry.toJSON(), { path: 'src/a.ts', kind: 'text', size: 11, hash: files[1].hash });
  // The example in docs/PROTOCOL.md §6.1: base 0 of one file `a` holding `x`.
  const example = buildBase(0, [file('a', 'x')]);
  assert.equal(baseFileId('a'), 'e77405e84936414406ac55292a6b7add');
  // Paths short and long (past the scratch buffer the ids are derived in), with multi-byte characters: BLAKE2b-128 of context and path.
  for (const p of ['a', 'é/日本/\u{1f600}', 'é'.repeat(1400), 'x'.repeat(5000)]) {
    const out = Buffer.alloc(16);
    sodium.crypto_generichash(out, Buffer.concat([Buffer.from('hyperpair/base-id\0'), Buffer.from(p)]));
    assert.equal(baseFileId(p), out.toString('hex'), `${p.length} characters`);
  }
  assert.equal(
    Buffer.from(example).toString('hex'),
    '010580f8ffff0f0027010566696c657320653737343035653834393336343134343036616335353239326136623761646401280080f8ffff0f00047061746801770161280080f8ffff0f00046b696e6401770474657874280080f8ffff0f000473697a65017d01280080f8ffff0f0004686173680177406431363164373131343561626565633565663135616263663034353963656336306132373332316532663061633065663761636535323534663539343434373600',
  );
  assert.equal(contentHash(example), 'dce8e44754d5dc61b0cb7871bc6d56f80727d481df4ea0f6b4be9ea3b93f9995');
  // No peer edits as a base's client.
  assert.ok(ownClientId(FIRST_BASE_CLIENT + 5) < FIRST_BASE_CLIENT);
  assert.equal(ownClientId(12345), 12345);
});

/** Base k as Yjs makes it: the document the protocol describes, made and encoded (buildBase writes the bytes directly). */
function baseThroughYjs(k: number, files: readonly BaseFile[]): Uint8Array {
  const doc = new Y.Doc({ gc: false, guid: 'base' });
  doc.clientID = FIRST_BASE_CLIENT + k;
  const entries = doc.getMap<Y.Map<unknown>>('files');
  doc.transact(() => {
    for (const f of files) entries.set(baseFileId(f.path), entryMap({ path: f.path, kind: 'text', size: f.size, hash: f.hash }));
  });
  return Y.encodeStateAsUpdate(doc);
}

test('a base\'s bytes, written directly, are the update of the document Yjs makes from the same list (random lists: names, sizes, counts, every k)', () => {
  const next = seededRandom(11);
  const names = ['a', 'é', '\u{1f600}', 'x y', 'long-'.repeat(30), 'ñ/b', '日本'];
  // Sizes across lib0's encodings of a number: small and large varints, and past 2^31 (a float).
  const sizes = [0, 1, 63, 64, 127, 128, 8191, 8192, 1_000_000, 2 ** 31 - 1, 2 ** 31, 2 ** 40 + 3];
  for (let round = 0; round < 60; round++) {
    const count = round === 0 ? 1 : 1 + next(round < 50 ? 40 : 1024);
    const paths = new Set<string>();
    while (paths.size < count) paths.add(Array.from({ length: 1 + next(3) }, () => names[next(names.length)] + next(1000)).join('/'));
    const files = sortByPath([...paths], (p) => p).map((p) => ({ path: p, size: sizes[next(sizes.length)], hash: contentHash(Buffer.from(p)) }));
    const k = round === 1 ? MAX_BASES - 1 : next(MAX_BASES);
    assert.deepEqual(Buffer.from(buildBase(k, files)), Buffer.from(baseThroughYjs(k, files)), `round ${round}: ${count} files, base ${k}`);
  }
});

test('a joiner builds only the bases its files fill to the same hash: binaries in a range are passed over, a changed or missing file spoils only its own base', async () => {
  const sharerFiles = Array.from({ length: 30 }, (_, i) => file(`src/f${String(i).padStart(2, '0')}.ts`, `// ${i}\n`));
  const bases = [0, 1, 2].map((k) => {
    const part = sharerFiles.slice(k * 10, k * 10 + 10);
    const update = buildBase(k, part);
    return { k, first: part[0].path, last: part[part.length - 1].path, count: part.length, update: contentHash(update) };
  });
  const own = [...sharerFiles];
  own[13] = file(own[13].path, 'my change\n'); // base 1 spoiled
  own.splice(25, 0, file('src/f24.z.bin', 'binary, say')); // in base 2's range, not a text
  const local: LocalTexts = { files: own.sort((a, b) => comparePaths(a.path, b.path)), isText: async (p) => !p.endsWith('.bin') };
  const built = await buildOwnBases(bases, local);
  assert.deepEqual(built.map((u) => contentHash(u)), [bases[0].update, bases[2].update]);
});

/** Index answers (steps 2 and updates) that `from` sends `to`, in bytes. */
function countIndexAnswers(from: MemoryTransport, to: MemoryTransport): { bytes: number } {
  const counted = { bytes: 0 };
  const send = from.send.bind(from);
  from.send = (peer, data) => {
    const m = decodeMessage(data);
    if (peer === to.self.id && m.type === MessageType.Sync && m.doc === INDEX_DOC && decoding.readVarUint(m.decoder) !== 0) counted.bytes += data.byteLength;
    return send(peer, data);
  };
  return counted;
}

const entriesOf = (ws: SharedWorkspace) => JSON.stringify(ws.files().map((f) => [f.id, f.path, f.kind, f.size, f.hash]).sort());

test('a joiner with a clone receives only what the bases lack, and ends with exactly the sharer\'s index', async () => {
  const [ts, tj] = [new MemoryTransport('sharer'), new MemoryTransport('joiner')];
  const sharer = new SharedWorkspace({ transport: ts, mode: 'share' });
  const files = Array.from({ length: 2000 }, (_, i) => file(`src/d${String(i >> 6).padStart(2, '0')}/f${String(i).padStart(4, '0')}.ts`, `// ${i}\n`));
  for (let i = 0; i < files.length; i += 100) assert.ok(sharer.createLazyTextsAsBase(files.slice(i, i + 100), 'disk'));
  assert.equal(readBases(sharer.index).length, 20);
  // A base out of order, or of a path taken, is refused (the caller makes those files one by one).
  assert.equal(sharer.createLazyTextsAsBase([file('src/a.ts', 'x')], 'disk'), undefined);
  assert.equal(sharer.createLazyTextsAsBase([files[0]], 'disk'), undefined);
  // What happened since the start: a rename, a deletion, a new file, an edit.
  sharer.rename(sharer.byPath(files[5].path)!.id, 'renamed.ts', 'editor');
  sharer.remove(sharer.byPath(files[700].path)!.id, 'editor');
  sharer.createText('new.md', 'new\n', 'editor');
  // The clone: the same files but one changed and one missing (their two bases are not built).
  const own = files.filter((_, i) => i !== 1500).map((f, i) => (i === 900 ? file(f.path, 'changed\n') : f));
  const localTexts = Promise.resolve<LocalTexts>({ files: own, isText: async () => true });
  const joiner = new SharedWorkspace({ transport: tj, mode: 'join', localTexts });
  const counted = countIndexAnswers(ts, tj);
  try {
    link(ts, tj);
    await joiner.whenIndexReady();
    await waitFor(() => entriesOf(joiner) === entriesOf(sharer), 'the joiner\'s index the same as the sharer\'s');
    assert.deepEqual(joiner.index.getMap('bases').toJSON(), sharer.index.getMap('bases').toJSON());
    const whole = Y.encodeStateAsUpdate(sharer.index).byteLength;
    // 18 of 20 bases built: what travelled is about two bases and the changes.
    assert.ok(counted.bytes < 0.2 * whole, `the joiner received ${counted.bytes} bytes of index answers for an index of ${whole}`);
    // And they stay one index: a change on either side reaches the other.
    joiner.rename(joiner.byPath(files[10].path)!.id, 'moved-by-joiner.ts', 'editor');
    await waitFor(() => sharer.byPath('moved-by-joiner.ts') !== undefined && entriesOf(joiner) === entriesOf(sharer), 'the joiner\'s rename on the sharer');
  } finally {
    sharer.close();
    joiner.close();
  }
});

test('a joiner without files of its own, or whose member has no bases, asks for the index as before; bases it did not ask for cut the sender off', async () => {
  const [ts, tj, tx] = [new MemoryTransport('sharer2'), new MemoryTransport('joiner2'), new MemoryTransport('stranger')];
  const sharer = new SharedWorkspace({ transport: ts, mode: 'share' });
  for (let i = 0; i < 50; i++) sharer.createText(`n${i}.md`, `${i}\n`, 'disk');
  const joiner = new SharedWorkspace({ transport: tj, mode: 'join', localTexts: Promise.resolve({ files: [file('n1.md', '1\n')], isText: async () => true }) });
  try {
    link(ts, tj);
    await joiner.whenIndexReady();
    await waitFor(() => entriesOf(joiner) === entriesOf(sharer), 'the same index');
    link(tx, tj);
    tx.send(tj.self.id, encodeBases([]));
    await waitFor(() => tx.peers().length === 0 || tj.disconnected.some((d) => d.peer === tx.self.id), 'the unasked sender cut off');
  } finally {
    sharer.close();
    joiner.close();
  }
});

test('a member that never answers bases-get: the joiner asks for the whole index after 3 s, and a late answer is dropped, not refused', async () => {
  const [ts, tj] = [new MemoryTransport('sharer3'), new MemoryTransport('joiner3')];
  const sharer = new SharedWorkspace({ transport: ts, mode: 'share' });
  sharer.createLazyTextsAsBase([file('a.md', 'a\n'), file('b.md', 'b\n')], 'disk');
  const joiner = new SharedWorkspace({ transport: tj, mode: 'join', localTexts: Promise.resolve({ files: [file('a.md', 'a\n'), file('b.md', 'b\n')], isText: async () => true }) });
  const send = tj.send.bind(tj);
  let dropped = 0;
  tj.send = (peer, data) => (decodeMessage(data).type === MessageType.BasesGet ? (dropped++, true) : send(peer, data));
  try {
    link(ts, tj);
    await joiner.whenIndexReady();
    assert.equal(dropped, 1);
    assert.equal(entriesOf(joiner), entriesOf(sharer));
    ts.send(tj.self.id, encodeBases(readBases(sharer.index)));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(tj.disconnected, [], 'the late answer is no fault');
  } finally {
    sharer.close();
    joiner.close();
  }
});

test('a sharer\'s start makes its texts as bases (notebooks and binaries one by one), and a clone of its folder builds them', async () => {
  const root = tempDir();
  const tree: Record<string, string | Uint8Array> = { 'nb.ipynb': JSON.stringify({ cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 }), 'img.bin': Uint8Array.from([0, 1, 2, 0]) };
  for (let i = 0; i < 250; i++) tree[`lib/m${String(i).padStart(3, '0')}.js`] = `module.exports = ${i};\n`;
  writeTree(root, tree);
  const { startPeer } = await import('../../src/app/peer');
  const { createTestNetwork } = await import('../helpers/testnet');
  const net = await createTestNetwork();
  const logs: string[] = [];
  const logger = { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m), debug: () => {}, trace: () => {} };
  const clone = path.join(tempDir(), 'clone');
  fs.cpSync(root, clone, { recursive: true });
  const pa = await startPeer({ mode: 'share', dir: root, name: 'a', network: net.network });
  const pb = await startPeer({ mode: 'join', code: pa.code, dir: clone, name: 'b', network: net.network, force: true, logger: logger as never });
  try {
    const bases = readBases(pa.workspace.index);
    assert.ok(bases.length >= 3, `${bases.length} bases`);
    assert.equal(bases.reduce((n, b) => n + b.count, 0), 250, 'every text in a base, the notebook and the binary not');
    assert.ok(logs.includes(`index: ${bases.length} of ${bases.length} bases built from this folder's files`), logs.join('\n'));
    assert.equal(entriesOf(pb.workspace), entriesOf(pa.workspace));
  } finally {
    await pb.close();
    await pa.close();
    await net.destroy();
  }
});

test('past the first 256 bases, a start\'s bases take up to 256 texts gathered over several slices, so that 1,024 bases cover 200,000 texts; a clone builds them', async () => {
  assert.equal(baseCapacity(0), 100);
  assert.equal(baseCapacity(SMALL_BASES), LARGE_BASE_FILES);
  assert.equal(baseCapacity(undefined), 0, 'every base taken: none');
  assert.ok((MAX_BASES - SMALL_BASES) * LARGE_BASE_FILES + SMALL_BASES * 80 >= 200_000, 'the file cap (PROTOCOL §6.2) is covered');
  const [ts, tj] = [new MemoryTransport('sharer3'), new MemoryTransport('joiner3')];
  const sharer = new SharedWorkspace({ transport: ts, mode: 'share' });
  // The small bases a start made first: one file each here.
  const early = Array.from({ length: SMALL_BASES }, (_, i) => file(`a/f${String(i).padStart(3, '0')}.txt`, `early ${i}\n`));
  for (const f of early) assert.ok(sharer.createLazyTextsAsBase([f], 'disk'));
  // Then the folder's next batch: 700 texts and a binary every 100 files, read from disk.
  const root = tempDir();
  const tree: Record<string, string | Uint8Array> = {};
  for (let i = 0; i < 700; i++) tree[`src/m${String(i).padStart(3, '0')}.js`] = `module.exports = ${i};\n`;
  for (let i = 0; i < 7; i++) tree[`src/m${String(i * 100).padStart(3, '0')}.bin`] = Uint8Array.from([0, i, 0]);
  writeTree(root, tree);
  const rels = sortByPath(Object.keys(tree), (p) => p);
  const report: ScanReport = { files: [], skipped: [], excluded: [], totalBytes: 0, links: [], folders: [] } as unknown as ScanReport;
  const { turns } = await turnsDuring(() =>
    shareBatch(
      {
        root,
        ws: sharer,
        addFromDisk: (rel, bytes) => void sharer.createBinary(rel, bytes, 'disk'),
        addTextsAsBase: (files) => !!sharer.createLazyTextsAsBase(files.map((f) => ({ path: f.rel, size: f.bytes.byteLength, hash: f.hash })), 'disk'),
        nextBaseCapacity: () => baseCapacity(nextBase(sharer.index).k),
        isClosed: () => false,
      },
      rels.map((rel) => ({ rel, size: Buffer.byteLength(tree[rel]) })),
      report,
    ),
  );
  const large = readBases(sharer.index).filter((b) => b.k >= SMALL_BASES);
  assert.deepEqual(large.map((b) => b.count), [256, 256, 188], 'full bases, then the batch\'s rest');
  assert.equal(sharer.files().length, SMALL_BASES + 707, 'every file shared, the binaries one by one');
  assert.ok(turns >= 2, `the event loop turned while the bases were gathered (${turns})`);
  // A clone holding the same files builds every base: only the binaries' entries travel.
  const own = [...early, ...rels.filter((r) => r.endsWith('.js')).map((r) => file(r, tree[r] as string))];
  const joiner = new SharedWorkspace({ transport: tj, mode: 'join', localTexts: Promise.resolve<LocalTexts>({ files: own, isText: async () => true }) });
  const counted = countIndexAnswers(ts, tj);
  try {
    link(ts, tj);
    await joiner.whenIndexReady();
    await waitFor(() => entriesOf(joiner) === entriesOf(sharer), 'the joiner\'s index the same as the sharer\'s');
    const whole = Y.encodeStateAsUpdate(sharer.index).byteLength;
    // What travels is the bases' descriptions (~140 bytes each) and the binaries' entries; the 956
    // texts' entries alone are over half the index.
    assert.ok(counted.bytes < 0.2 * whole, `the joiner received ${counted.bytes} bytes of index answers for an index of ${whole}`);
  } finally {
    sharer.close();
    joiner.close();
  }
});

test('a path a peer takes while a large base is gathered stays the peer\'s: the base is not made, and the other texts go in one by one', async () => {
  const sharer = new SharedWorkspace({ transport: new MemoryTransport('sharer5'), mode: 'share' });
  for (let i = 0; i < SMALL_BASES; i++) assert.ok(sharer.createLazyTextsAsBase([file(`a/f${String(i).padStart(3, '0')}.txt`, `early ${i}\n`)], 'disk'));
  const root = tempDir();
  const tree: Record<string, string> = {};
  for (let i = 0; i < 300; i++) tree[`src/m${String(i).padStart(3, '0')}.js`] = `module.exports = ${i};\n`;
  writeTree(root, tree);
  const rels = sortByPath(Object.keys(tree), (p) => p);
  const report = { files: [], skipped: [], excluded: [], totalBytes: 0, links: [], folders: [] } as unknown as ScanReport;
  // Once the gathering has begun (the folder's files are read first, each read looking whether the
  // share was closed), a peer creates the first path, gathered by then, at the third look.
  let looks = 0;
  let gathering = false;
  await shareBatch(
    {
      root,
      ws: sharer,
      addFromDisk: (rel, bytes, hash) => void sharer.createLazyText(rel, bytes.byteLength, hash ?? contentHash(bytes), 'disk'),
      addTextsAsBase: (files) => !!sharer.createLazyTextsAsBase(files.map((f) => ({ path: f.rel, size: f.bytes.byteLength, hash: f.hash })), 'disk'),
      nextBaseCapacity: () => ((gathering = true), baseCapacity(nextBase(sharer.index).k)),
      isClosed: () => (gathering && ++looks === 3 && sharer.createText('src/m000.js', 'the peer\'s\n', 'editor'), false),
    },
    rels.map((rel) => ({ rel, size: Buffer.byteLength(tree[rel]) })),
    report,
  );
  assert.ok(looks > 3, 'the base was gathered over several rounds');
  assert.equal(sharer.byPath('src/m000.js')!.hash, contentHash(Buffer.from('the peer\'s\n')), 'the peer\'s file stays');
  assert.equal(sharer.files().length, SMALL_BASES + 300, 'every other file shared once');
  assert.ok(!sharer.files().some((f) => f.path.includes('conflict')), 'no path claimed twice');
  const inLarge = readBases(sharer.index).filter((b) => b.k >= SMALL_BASES).reduce((n, b) => n + b.count, 0);
  assert.ok(inLarge < 299, `the base that held the path was not made (${inLarge} texts in large bases)`);
  sharer.close();
});

test('a clone whose bases take longer to build than the index asker waits is not sent the whole index by every member', async () => {
  const [ts, tm, tj] = [new MemoryTransport('sharer4'), new MemoryTransport('member4'), new MemoryTransport('joiner4')];
  const sharer = new SharedWorkspace({ transport: ts, mode: 'share' });
  const files = Array.from({ length: 2000 }, (_, i) => file(`src/d${String(i >> 6).padStart(2, '0')}/f${String(i).padStart(4, '0')}.ts`, `// ${i}\n`));
  for (let i = 0; i < files.length; i += 100) assert.ok(sharer.createLazyTextsAsBase(files.slice(i, i + 100), 'disk'));
  // A second member, with the whole index.
  const member = new SharedWorkspace({ transport: tm, mode: 'join' });
  link(ts, tm);
  await member.whenIndexReady();
  await waitFor(() => entriesOf(member) === entriesOf(sharer), 'the member\'s index');
  // The clone holds a binary in every base's range: each base asks whether it is a text, slowly, so
  // that building the 20 bases takes ~4 s, past the index asker's 3 s (STALL_MS).
  const own = sortByPath([...files, ...files.filter((_, i) => i % 100 === 50).map((f) => file(`${f.path}.bin`, 'binary'))], (f) => f.path);
  const localTexts = Promise.resolve<LocalTexts>({
    files: own,
    isText: async (p) => {
      if (p.endsWith('.bin')) await new Promise((r) => setTimeout(r, 200));
      return !p.endsWith('.bin');
    },
  });
  const joiner = new SharedWorkspace({ transport: tj, mode: 'join', localTexts });
  const fromSharer = countIndexAnswers(ts, tj);
  const fromMember = countIndexAnswers(tm, tj);
  try {
    link(ts, tj);
    link(tm, tj);
    await joiner.whenIndexReady();
    await waitFor(() => entriesOf(joiner) === entriesOf(sharer), 'the joiner\'s index the same as the sharer\'s');
    await new Promise((r) => setTimeout(r, 500)); // answers still on their way would be counted
    const whole = Y.encodeStateAsUpdate(sharer.index).byteLength;
    const received = fromSharer.bytes + fromMember.bytes;
    assert.ok(received < 0.2 * whole, `the joiner received ${fromSharer.bytes} + ${fromMember.bytes} bytes of index answers for an index of ${whole}`);
  } finally {
    sharer.close();
    member.close();
    joiner.close();
  }
});

test('nextBase follows the bases map as descriptions are added, replaced and removed, here or by a peer', () => {
  // What nextBase must answer, read from the whole map every time.
  const whole = (doc: Y.Doc) => {
    const bases = readBases(doc);
    const maxK = bases.length ? Math.max(...bases.map((d) => d.k)) : -1;
    let last: string | undefined;
    for (const d of bases) if (last === undefined || comparePaths(d.last, last) > 0) last = d.last;
    return { k: maxK + 1 < MAX_BASES ? maxK + 1 : undefined, last };
  };
  const a = new Y.Doc();
  const b = new Y.Doc();
  a.on('update', (u: Uint8Array, origin: unknown) => origin !== 'peer' && Y.applyUpdate(b, u, 'peer'));
  b.on('update', (u: Uint8Array, origin: unknown) => origin !== 'peer' && Y.applyUpdate(a, u, 'peer'));
  let seed = 3;
  // The high bits: a power-of-two LCG's low bits repeat with a short period.
  const next = (n: number) => Math.floor((seed = (seed * 1103515245 + 12345) % 2147483648) / 65536) % n;
  const paths = ['a', 'b', 'a/b', 'c/d/e', 'z', 'b/a', 'é'];
  for (let i = 0; i < 400; i++) {
    const doc = next(2) ? a : b;
    const map = doc.getMap<unknown>(BASES_MAP);
    const [first, last] = [paths[next(paths.length)], paths[next(paths.length)]].sort(comparePaths);
    const good = { first, last, count: 1 + next(5), update: contentHash(Buffer.from(String(i))) };
    const key = next(10) === 0 ? String(MAX_BASES - 1 + next(3)) : String(next(40));
    switch (next(6)) {
      case 0: map.set(key, { ...good, first: last, last: first }); break; // ill-formed when first > last
      case 1: map.set(`0${key}`, good); break; // not a canonical key: no base
      case 2: map.delete(key); break;
      default: map.set(key, good);
    }
    assert.deepEqual(nextBase(a), whole(a), `a, step ${i}`);
    assert.deepEqual(nextBase(b), whole(b), `b, step ${i}`);
  }
  assert.ok(readBases(a).length > 10, 'bases were made');
});
