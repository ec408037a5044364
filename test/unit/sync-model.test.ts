/**
 * The shared-workspace model: index, lazily loaded texts, binaries, relaying, conflict rules and
 * hostile peers. Deterministic topologies run over the in-process transport; the rest over real
 * hyperswarm sessions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedWorkspace } from '../../src/sync/workspace';
import { MemoryTransport, link } from '../helpers/memory-transport';
import { indexUpdate } from '../helpers/sync-messages';
import { waitFor } from '../helpers/testnet';

function peer(name: string, mode: 'share' | 'join' = 'join') {
  const transport = new MemoryTransport(name);
  const ws = new SharedWorkspace({ transport, mode });
  return { transport, ws };
}

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

test('a joiner gets the index first, then texts and binaries, identical to the sharer\'s', async () => {
  const a = peer('a', 'share');
  const t = a.ws.createText('src/main.ts', 'console.log("hi")\n', 'disk');
  const big = bytes(700_000);
  const bin = a.ws.createBinary('assets/logo.png', big, 'disk');
  const empty = a.ws.createText('empty.txt', '', 'disk');
  const b = peer('b');
  const order: string[] = [];
  b.ws.on('file-added', (e) => order.push(e.path));
  link(a.transport, b.transport);
  await b.ws.whenIndexReady();
  assert.deepEqual(order.sort(), ['assets/logo.png', 'empty.txt', 'src/main.ts']);
  assert.equal((await b.ws.text(t.id)).toString(), 'console.log("hi")\n');
  assert.equal((await b.ws.text(empty.id)).toString(), '');
  assert.deepEqual(Buffer.from(await b.ws.binary(bin.id)), Buffer.from(big));
  assert.equal(b.ws.byPath('assets/logo.png')?.size, 700_000);
  a.ws.close();
  b.ws.close();
});

test('updates reach a peer connected only through a third (A—B—C)', async () => {
  const a = peer('a', 'share');
  const b = peer('b');
  const c = peer('c');
  const f = a.ws.createText('notes.md', 'start', 'disk');
  link(a.transport, b.transport);
  link(b.transport, c.transport);
  const tc = await c.ws.text(f.id);
  const ta = await a.ws.text(f.id);
  ta.insert(5, ' from A');
  tc.insert(0, 'C says: ');
  await waitFor(() => ta.toString() === tc.toString() && tc.toString().includes('from A') && ta.toString().includes('C says'), 'relay both ways');
  a.ws.createText('later.md', 'x', 'disk');
  await waitFor(() => c.ws.byPath('later.md') !== undefined, 'a new file relayed');
  for (const p of [a, b, c]) p.ws.close();
});

test('concurrent edits merge; a rename keeps the file\'s history and concurrent edits', async () => {
  const a = peer('a', 'share');
  const b = peer('b');
  const f = a.ws.createText('a.txt', 'hello world', 'disk');
  link(a.transport, b.transport);
  const tb = await b.ws.text(f.id);
  const ta = await a.ws.text(f.id);
  a.ws.rename(f.id, 'dir/renamed.txt', 'disk');
  ta.insert(0, 'A: ');
  tb.insert(11, ' and B');
  await waitFor(() => ta.toString() === tb.toString() && b.ws.byPath('dir/renamed.txt') !== undefined, 'convergence');
  assert.equal(ta.toString(), 'A: hello world and B');
  assert.equal(b.ws.byId(f.id)?.path, 'dir/renamed.txt');
  assert.equal(b.ws.byPath('a.txt'), undefined);
  a.ws.close();
  b.ws.close();
});

test('a delete concurrent with an edit: the edit wins and the file comes back, with a notice', async () => {
  const a = peer('a', 'share');
  const b = peer('b');
  const f = a.ws.createText('doc.txt', 'base', 'disk');
  link(a.transport, b.transport);
  const tb = await b.ws.text(f.id);
  await a.ws.text(f.id);
  const notices: string[] = [];
  a.ws.on('notice', (n) => notices.push(n));
  // Both act before hearing of the other.
  a.ws.remove(f.id, 'disk');
  tb.insert(4, ' + edit');
  await waitFor(() => a.ws.byId(f.id) !== undefined && b.ws.byId(f.id) !== undefined && a.ws.loadedText(f.id)?.toString() === 'base + edit', 'restore');
  assert.ok(notices.some((n) => /restored/.test(n)));
  // A delete after seeing every edit sticks.
  a.ws.remove(f.id, 'disk');
  await waitFor(() => b.ws.byId(f.id) === undefined, 'delete reaches b');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(a.ws.byId(f.id), undefined);
  a.ws.close();
  b.ws.close();
});

test('two peers replacing one binary at once: one wins, the other is kept as a conflict copy on both', async () => {
  const a = peer('a', 'share');
  const b = peer('b');
  const f = a.ws.createBinary('img.bin', bytes(1000, 1), 'disk');
  link(a.transport, b.transport);
  await b.ws.whenIndexReady();
  await waitFor(() => b.ws.byId(f.id) !== undefined, 'b sees the file');
  a.ws.updateBinary(f.id, bytes(1000, 2), 'disk');
  b.ws.updateBinary(f.id, bytes(1000, 3), 'disk');
  await waitFor(() => a.ws.files().length === 2 && b.ws.files().length === 2, 'a conflict copy on both');
  const contents = async (ws: SharedWorkspace) =>
    (await Promise.all(ws.files().map(async (e) => `${e.path}:${Buffer.from(await ws.binary(e.id))[0]}`))).sort();
  assert.deepEqual(await contents(a.ws), await contents(b.ws));
  const firstBytes = (await contents(a.ws)).map((s) => Number(s.split(':')[1])).sort();
  const expected = [bytes(1, 2)[0], bytes(1, 3)[0]].sort();
  assert.deepEqual(firstBytes, expected, 'both versions survive');
  assert.ok(a.ws.files().some((e) => /\(conflict [0-9a-f]{6}\)\.bin$/.test(e.path)));
  a.ws.close();
  b.ws.close();
});

test('two files created on one path at once: both are kept, one under a conflict name', async () => {
  const a = peer('a', 'share');
  const b = peer('b', 'share');
  a.ws.createText('same.txt', 'from a', 'disk');
  b.ws.createText('same.txt', 'from b', 'disk');
  link(a.transport, b.transport);
  await waitFor(() => a.ws.files().length === 2 && b.ws.files().length === 2, 'both files on both');
  const paths = (ws: SharedWorkspace) => ws.files().map((e) => e.path).sort();
  assert.deepEqual(paths(a.ws), paths(b.ws));
  assert.ok(paths(a.ws).includes('same.txt'));
  assert.ok(paths(a.ws).some((p) => /^same \(conflict [0-9a-f]{6}\)\.txt$/.test(p)));
  a.ws.close();
  b.ws.close();
});

test('a peer that sends an unsafe path or goes over the caps is cut off and nothing of it is kept', async () => {
  for (const bad of ['../evil', '/etc/passwd', 'a/../../b', 'C:\\x', 'ok/\u0000nul', 'con']) {
    const victim = new MemoryTransport('victim');
    const ws = new SharedWorkspace({ transport: victim, mode: 'share', caps: { maxFiles: 5 } });
    ws.createText('fine.txt', 'ok', 'disk');
    const attacker = new MemoryTransport('attacker');
    link(victim, attacker);
    attacker.send(victim.self.id, indexUpdate({ ['f'.repeat(32)]: { path: bad, kind: 'text', size: 1, hash: '' } }));
    await waitFor(() => victim.disconnected.length === 1, `cut off for ${JSON.stringify(bad)}`);
    assert.match(victim.disconnected[0].reason, /unsafe path/);
    assert.deepEqual(ws.files().map((f) => f.path), ['fine.txt']);
    ws.close();
  }
  // Over the file cap.
  const victim = new MemoryTransport('victim');
  const ws = new SharedWorkspace({ transport: victim, mode: 'share', caps: { maxFiles: 3 } });
  const attacker = new MemoryTransport('attacker');
  link(victim, attacker);
  const many = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i).padStart(32, '0'), { path: `f${i}`, kind: 'text', size: 1 }]));
  attacker.send(victim.self.id, indexUpdate(many));
  await waitFor(() => victim.disconnected.length === 1, 'cut off over the file cap');
  assert.match(victim.disconnected[0].reason, /max 3/);
  assert.equal(ws.files().length, 0);
  // Garbage.
  const v2 = new MemoryTransport('v2');
  const ws2 = new SharedWorkspace({ transport: v2, mode: 'share' });
  const noisy = new MemoryTransport('noisy');
  link(v2, noisy);
  noisy.send(v2.self.id, Uint8Array.from([0, 200, 1, 2, 3]));
  await waitFor(() => v2.disconnected.length === 1, 'cut off for garbage');
  ws.close();
  ws2.close();
});

test('open files load first: text() jumps the queue', async () => {
  const a = peer('a', 'share');
  // More files than requests in flight (64), so that there is a queue to jump.
  const ids = Array.from({ length: 200 }, (_, i) => a.ws.createText(`f${i}.txt`, `content ${i}`, 'disk').id);
  const b = peer('b');
  const order: string[] = [];
  b.ws.on('text-changed', (e) => order.push(e.id));
  link(a.transport, b.transport);
  await b.ws.whenIndexReady();
  const wanted = ids[199];
  const t = await b.ws.text(wanted);
  assert.equal(t.toString(), 'content 199');
  const at = order.indexOf(wanted);
  assert.ok(at >= 0 && at < 100, `the open file arrived at position ${at}`);
  await waitFor(() => ids.every((id) => b.ws.isTextReady(id)), 'the rest in the background');
  a.ws.close();
  b.ws.close();
});

test('a chunk that was not asked for, does not match its hash, or is oversized cuts its sender off', async () => {
  const { encodeBlob, MessageType, CHUNK_SIZE } = await import('../../src/sync/protocol');
  const { contentHash } = await import('../../src/sync/hash');
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['unrequested', encodeBlob(MessageType.BlobData, contentHash(Uint8Array.of(1)), Uint8Array.of(1)), /not asked for/],
    ['wrong hash', encodeBlob(MessageType.BlobData, contentHash(Uint8Array.of(1)), Uint8Array.of(2)), /not asked for or does not match/],
    ['oversized', encodeBlob(MessageType.BlobData, contentHash(Uint8Array.of(1)), new Uint8Array(CHUNK_SIZE + 1)), /max 262144/],
  ];
  for (const [what, message, reason] of cases) {
    const victim = new MemoryTransport('victim');
    const ws = new SharedWorkspace({ transport: victim, mode: 'share' });
    const attacker = new MemoryTransport('attacker');
    link(victim, attacker);
    attacker.send(victim.self.id, message);
    await waitFor(() => victim.disconnected.length === 1, `cut off for a ${what} chunk`);
    assert.match(victim.disconnected[0].reason, reason);
    ws.close();
  }
});

test('filesWithChunk names the live binary files whose current content holds a chunk', () => {
  const { ws } = peer('A', 'share');
  const content = Buffer.alloc(300 * 1024, 1);
  const e = ws.createBinary('a.bin', content, 'disk');
  const [first, second] = ws.content(e.id)!.chunks;
  assert.deepEqual(ws.filesWithChunk(first).map((f) => f.id), [e.id]);
  assert.deepEqual(ws.filesWithChunk(second).map((f) => f.id), [e.id]);
  ws.updateBinary(e.id, Buffer.alloc(10, 2), 'disk');
  assert.deepEqual(ws.filesWithChunk(first), []);
  assert.deepEqual(ws.filesWithChunk(ws.content(e.id)!.chunks[0]).map((f) => f.id), [e.id]);
  ws.remove(e.id, 'disk');
  assert.deepEqual(ws.filesWithChunk(ws.content(e.id)!.chunks[0]), []);
  ws.close();
});

test('hasFilesIn says whether a folder holds files, through creations, renames, removals and two files on one path', async () => {
  const [ta, tb] = [new MemoryTransport('fa'), new MemoryTransport('fb')];
  const a = new SharedWorkspace({ transport: ta, mode: 'share' });
  const b = new SharedWorkspace({ transport: tb, mode: 'join' });
  // Two files on one path at once: one of them shows under a conflict name in the same folder.
  a.createText('x/y/same.txt', 'a\n', 'disk');
  b.createText('x/y/same.txt', 'b\n', 'disk');
  link(ta, tb);
  await waitFor(() => a.files().length === 2 && b.files().length === 2, 'both copies on both');
  let seed = 7;
  const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  const folders = ['p', 'p/q', 'p/q/r', 'p/s', 'x', 'x/y', 't'];
  const check = (ws: SharedWorkspace, when: string) => {
    for (const folder of [...folders, 'p/q/r/f0.txt', 'nowhere']) {
      const brute = ws.files().some((f) => f.path.startsWith(folder + '/'));
      assert.equal(ws.hasFilesIn(folder), brute, `${folder} ${when}`);
    }
  };
  for (let step = 0; step < 300; step++) {
    const ws = random(2) ? a : b;
    const files = ws.files();
    const op = random(3);
    const folder = folders[random(folders.length)];
    if (op === 0 || files.length === 0) {
      const p = `${folder}/f${random(20)}.txt`;
      if (!ws.byPath(p)) ws.createText(p, `${step}\n`, 'editor');
    } else if (op === 1) {
      const p = `${folder}/g${random(20)}.txt`;
      if (!ws.byPath(p)) ws.rename(files[random(files.length)].id, p, 'editor');
    } else ws.remove(files[random(files.length)].id, 'editor');
    check(a, `after step ${step} (a)`);
    check(b, `after step ${step} (b)`);
  }
  await waitFor(() => JSON.stringify(a.files().map((f) => f.path).sort()) === JSON.stringify(b.files().map((f) => f.path).sort()), 'the same files');
  check(a, 'at the end (a)');
  check(b, 'at the end (b)');
  a.close();
  b.close();
});
