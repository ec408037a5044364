/**
 * Texts nobody edited travel as bytes by hash, many per message (docs/PROTOCOL.md §6.2, version 3):
 * the `texts-get` / `texts-data` encoding, one answer per request in order, a joiner that holds the
 * bytes (its clone) asking nobody, a member without them passed over, answers that were not asked
 * for or do not hash to their names cutting the sender off, edited texts still loading as documents,
 * a new member sent no `step 1` for documents that are still their first state, and a writer taking
 * texts in order past the bound on bytes held ahead (it hung there).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import { MessageType, decodeMessage, encodeTexts, type TextItem } from '../../src/sync/protocol';
import { SharedWorkspace } from '../../src/sync/workspace';
import { contentHash } from '../../src/sync/hash';
import { TextBytesFetcher } from '../../src/sync/text-bytes';
import { MemoryTransport, link } from '../helpers/memory-transport';
import { shareLazily, useDisk } from '../helpers/lazy-texts';
import { waitFor } from '../helpers/testnet';

interface Peer {
  transport: MemoryTransport;
  ws: SharedWorkspace;
  disk: Map<string, Uint8Array>;
  /** Every message it sent: [to, type, items (texts messages), doc and kind (sync)]. */
  sent: Array<{ to: string; type: MessageType; items?: TextItem[]; doc?: string; kind?: number }>;
}

function peer(name: string, mode: 'share' | 'join', disk: Record<string, string> = {}): Peer {
  const transport = new MemoryTransport(name);
  const ws = new SharedWorkspace({ transport, mode, docRequestTimeoutMs: 2_000 });
  // Like the mirror: texts nobody edited are written from their bytes, so none is fetched as a document.
  const files = useDisk(ws, disk, true);
  const sent: Peer['sent'] = [];
  const send = transport.send.bind(transport);
  transport.send = (to, data) => {
    const m = decodeMessage(data);
    if (m.type === MessageType.TextsGet || m.type === MessageType.TextsData) sent.push({ to, type: m.type, items: m.items });
    else if (m.type === MessageType.Sync) sent.push({ to, type: m.type, doc: m.doc, kind: decoding.readVarUint(m.decoder) });
    else sent.push({ to, type: m.type });
    return send(to, data);
  };
  return { transport, ws, disk: files, sent };
}


/** What the mirror does for each text of a first copy: the bytes, "written" to its disk, then said so. */
async function writeAll(p: Peer): Promise<void> {
  await Promise.all(
    p.ws.files().map(async (e) => {
      const bytes = await p.ws.loadTextBytes(e.id);
      assert.ok(bytes, `bytes of ${e.path}`);
      p.disk.set(e.path, bytes);
      p.ws.textWritten(e.id, e.hash);
    }),
  );
}

const tree = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`src/f${i}.ts`, `export const v${i} = ${i};\n`.repeat(1 + (i % 7))]));

test('§6 (version 3) texts-get and texts-data: their exact encoding', () => {
  const id = 'ab'.repeat(16);
  const hash = 'cd'.repeat(32);
  const get = encodeTexts(MessageType.TextsGet, [{ id, hash }]);
  assert.equal(Buffer.from(get).toString('hex'), '06' + '01' + '20' + Buffer.from(id).toString('hex') + '40' + Buffer.from(hash).toString('hex'));
  const data = encodeTexts(MessageType.TextsData, [{ id, hash, bytes: Buffer.from('hi') }, { id, hash }]);
  const item = '20' + Buffer.from(id).toString('hex') + '40' + Buffer.from(hash).toString('hex');
  assert.equal(Buffer.from(data).toString('hex'), '07' + '02' + item + '01' + '02' + '6869' + item + '00');
  assert.deepEqual(decodeMessage(data), { type: MessageType.TextsData, items: [{ id, hash, bytes: Uint8Array.from(Buffer.from('hi')) }, { id, hash }] });
  assert.throws(() => decodeMessage(Uint8Array.of(MessageType.TextsGet, 0)), /texts in one message/);
  assert.throws(() => decodeMessage(encodeTexts(MessageType.TextsGet, [{ id: 'index', hash }])), /bad file id/);
});

test('§6.2 (version 3) a joiner fetches the texts nobody edited as bytes, many per message, with no Yjs document', async (t) => {
  const a = peer('a', 'share', tree(300));
  const b = peer('b', 'join');
  t.after(() => [a.ws, b.ws].forEach((w) => w.close()));
  shareLazily(a);
  link(a.transport, b.transport);
  await b.ws.whenIndexReady();
  await writeAll(b);
  for (const [path, bytes] of a.disk) assert.ok(Buffer.from(bytes).equals(b.disk.get(path) ?? Buffer.alloc(0)), path);
  const requests = b.sent.filter((m) => m.type === MessageType.TextsGet);
  assert.ok(requests.length >= 1 && requests.length <= 3, `${requests.length} requests for 300 texts`);
  const answers = a.sent.filter((m) => m.type === MessageType.TextsData);
  assert.deepEqual(answers.map((m) => m.items!.map((i) => i.id)), requests.map((m) => m.items!.map((i) => i.id)), 'one answer per request, in order');
  assert.equal(b.sent.filter((m) => m.type === MessageType.Sync && m.doc !== 'index').length, 0, 'no text step 1');
  assert.equal(a.ws.textDocuments + b.ws.textDocuments, 0, 'no document on either side');
  await b.ws.whenComplete();
  // b now holds them as bytes: opening one builds its document from b's own disk.
  const [first] = b.ws.files();
  assert.equal((await b.ws.text(first.id)).toString(), Buffer.from(a.disk.get(first.path)!).toString('utf8'));
});

test('§6.2 (version 3) a joiner that holds the bytes (its clone) asks nobody', async (t) => {
  const files = tree(40);
  const a = peer('a', 'share', files);
  const b = peer('b', 'join', files);
  t.after(() => [a.ws, b.ws].forEach((w) => w.close()));
  shareLazily(a);
  link(a.transport, b.transport);
  await b.ws.whenIndexReady();
  await writeAll(b);
  assert.equal(b.sent.filter((m) => m.type === MessageType.TextsGet).length, 0);
  assert.equal(b.ws.textDocuments, 0);
});

test('§6.2 (version 3) a member without the bytes answers "not found" and the next member is asked', async (t) => {
  const a = peer('a', 'share', tree(5));
  const c = peer('c', 'join');
  const b = peer('b', 'join');
  t.after(() => [a.ws, b.ws, c.ws].forEach((w) => w.close()));
  shareLazily(a);
  link(a.transport, c.transport);
  await c.ws.whenIndexReady();
  // b meets c first: c is asked first (it holds nothing yet), then a.
  link(b.transport, c.transport);
  link(b.transport, a.transport);
  await b.ws.whenIndexReady();
  await writeAll(b);
  const asked = b.sent.filter((m) => m.type === MessageType.TextsGet).map((m) => m.to);
  assert.deepEqual(asked, [c.transport.self.id, a.transport.self.id]);
  assert.ok(c.sent.filter((m) => m.type === MessageType.TextsData).every((m) => m.items!.every((i) => i.bytes === undefined)), 'c had none');
});

test('§6.2 (version 3) texts that were not asked for, or bytes that do not hash to their name, cut the sender off', async (t) => {
  const a = peer('a', 'share', tree(3));
  const b = peer('b', 'join');
  t.after(() => [a.ws, b.ws].forEach((w) => w.close()));
  shareLazily(a);
  link(a.transport, b.transport);
  await b.ws.whenIndexReady();
  // Unasked.
  const e = b.ws.files()[0];
  a.transport.send(b.transport.self.id, encodeTexts(MessageType.TextsData, [{ id: e.id, hash: e.hash, bytes: a.disk.get(e.path)! }]));
  await waitFor(() => b.transport.disconnected.length === 1, 'cut off');
  assert.match(b.transport.disconnected[0].reason, /not asked for/);

  // Asked, but other bytes under the name.
  const c = peer('c', 'share', tree(3));
  t.after(() => c.ws.close());
  const liar = peer('liar', 'join');
  t.after(() => liar.ws.close());
  shareLazily(c);
  const send = c.transport.send.bind(c.transport);
  c.transport.send = (to, data) => {
    const m = decodeMessage(data);
    if (m.type !== MessageType.TextsData) return send(to, data);
    return send(to, encodeTexts(MessageType.TextsData, m.items.map((i) => ({ ...i, bytes: i.bytes && Buffer.from('not it') }))));
  };
  link(c.transport, liar.transport);
  await liar.ws.whenIndexReady();
  const got = liar.ws.loadTextBytes(liar.ws.files()[0].id);
  await waitFor(() => liar.transport.disconnected.length === 1, 'the liar cut off');
  assert.match(liar.transport.disconnected[0].reason, /do not match/);
  // With nobody left to ask it waits for a member (as a document request does), never taking wrong bytes.
  const outcome = await Promise.race([got, new Promise((resolve) => setTimeout(() => resolve('waiting'), 200))]);
  assert.equal(outcome, 'waiting');
  liar.ws.close(); // the wait ends with the workspace
  assert.equal(await got, undefined);
});

test('§6.2 (version 3) an edited text is not fetched as bytes: its document is loaded', async (t) => {
  const a = peer('a', 'share', { 'x.ts': 'const x = 1;\n' });
  const b = peer('b', 'join');
  t.after(() => [a.ws, b.ws].forEach((w) => w.close()));
  const id = shareLazily(a).get('x.ts')!;
  (await a.ws.text(id)).insert(0, '// edited\n');
  link(a.transport, b.transport);
  await b.ws.whenIndexReady();
  await waitFor(() => b.ws.byId(id) !== undefined && b.ws.firstStateHash(id) === undefined, 'the edited entry');
  assert.equal(await b.ws.loadTextBytes(id), undefined);
  assert.equal((await b.ws.loadText(id))?.toString(), '// edited\nconst x = 1;\n');
  assert.equal(b.sent.filter((m) => m.type === MessageType.TextsGet).length, 0);
});

test('§6.2 (version 3) a new member is sent step 1 only for documents with edits, not for those still their first state', async (t) => {
  const a = peer('a', 'share', { 'p.ts': 'pristine\n', 'e.ts': 'edited\n' });
  t.after(() => a.ws.close());
  const ids = shareLazily(a);
  await a.ws.text(ids.get('p.ts')!); // held as a document, still its first state
  (await a.ws.text(ids.get('e.ts')!)).insert(0, '!');
  const b = peer('b', 'join');
  t.after(() => b.ws.close());
  link(a.transport, b.transport);
  await b.ws.whenIndexReady();
  await waitFor(() => a.sent.some((m) => m.doc === ids.get('e.ts')), 'step 1 for the edited text');
  const textSteps = a.sent.filter((m) => m.type === MessageType.Sync && m.kind === 0 && m.doc !== 'index').map((m) => m.doc);
  assert.deepEqual(textSteps, [ids.get('e.ts')]);
  assert.equal(a.ws.index.getMap<Y.Map<unknown>>('files').get(ids.get('p.ts')!)?.get('edited'), undefined);
});

test('§6.2 (version 3) a member that leaves with requests open: its texts go to another member at once', async (t) => {
  const files = tree(50);
  const a = peer('a', 'share', files);
  const c = peer('c', 'join'); // will hold the bytes too, as a joiner that wrote them
  const b = peer('b', 'join');
  t.after(() => [a.ws, b.ws, c.ws].forEach((w) => w.close()));
  shareLazily(a);
  link(a.transport, c.transport);
  await c.ws.whenIndexReady();
  await writeAll(c);
  // a never answers b: its answers are swallowed, then it leaves.
  const send = a.transport.send.bind(a.transport);
  a.transport.send = (to, data) => (to === b.transport.self.id && decodeMessage(data).type === MessageType.TextsData ? true : send(to, data));
  link(b.transport, a.transport);
  await b.ws.whenIndexReady();
  link(b.transport, c.transport);
  const all = writeAll(b);
  await waitFor(() => b.sent.some((m) => m.type === MessageType.TextsGet && m.to === a.transport.self.id), 'a request to a');
  const { unlink } = await import('../helpers/memory-transport');
  unlink(a.transport, b.transport);
  await all;
  for (const [path, bytes] of a.disk) assert.ok(Buffer.from(bytes).equals(b.disk.get(path) ?? Buffer.alloc(0)), path);
  assert.ok(b.sent.some((m) => m.type === MessageType.TextsGet && m.to === c.transport.self.id), 'c was asked');
});

test('§6.2 (version 3) a peer holding a text\'s first state only gets the edits made while it was away when it is back', async (t) => {
  const a = peer('a', 'share', { 'n.md': 'notes\n' });
  const b = peer('b', 'join');
  t.after(() => [a.ws, b.ws].forEach((w) => w.close()));
  const id = shareLazily(a).get('n.md')!;
  link(a.transport, b.transport);
  await b.ws.whenIndexReady();
  assert.equal((await b.ws.text(id)).toString(), 'notes\n'); // held as its first state
  const { unlink } = await import('../helpers/memory-transport');
  unlink(a.transport, b.transport);
  (await a.ws.text(id)).insert(0, 'edited away: ');
  await new Promise((resolve) => setTimeout(resolve, 20)); // its update sent (to nobody) before b is back
  link(a.transport, b.transport);
  await waitFor(() => b.ws.loadedText(id)?.toString() === 'edited away: notes\n', 'the edit on b');
});

test('§6.2 (version 3) a writer that takes texts in order never waits forever once the bytes held ahead reach their bound', { timeout: 30_000 }, async (t) => {
  // The whole index at once (a joiner joining after the sharer's scan): everything is fetched
  // ahead until the bound on bytes held stops the pump; the writer, taking texts one after another,
  // then asks for texts not asked yet. It hung there (10,000 files: 762 never written).
  const member = new MemoryTransport('member');
  const joiner = new MemoryTransport('joiner');
  // 100 KB each: five to a request, ten to half the bound.
  const texts = Array.from({ length: 60 }, (_, i) => Buffer.from(`export const v${i} = ${i};\n`.repeat(5000).slice(0, 100_000)));
  const items = texts.map((bytes, i) => ({ id: i.toString(16).padStart(32, '0'), hash: contentHash(bytes), size: bytes.byteLength }));
  const byId = new Map(items.map((it, i) => [it.id, texts[i]]));
  member.on('message', (from: { id: string }, data: Uint8Array) => {
    const m = decodeMessage(data);
    if (m.type === MessageType.TextsGet) member.send(from.id, encodeTexts(MessageType.TextsData, m.items.map((it) => ({ ...it, bytes: byId.get(it.id) }))));
  });
  const fetcher = new TextBytesFetcher(joiner, 30_000, 2 * 1024 * 1024);
  t.after(() => fetcher.close());
  joiner.on('message', (from: { id: string }, data: Uint8Array) => {
    const m = decodeMessage(data);
    if (m.type === MessageType.TextsData) assert.ok(fetcher.receive(from.id, m.items));
  });
  link(member, joiner);
  fetcher.prefetch(items);
  let written = 0;
  for (const it of items) {
    const bytes = await fetcher.fetch(it.id, it.hash, it.size);
    assert.deepEqual(bytes && Buffer.from(bytes), byId.get(it.id));
    await new Promise((resolve) => setTimeout(resolve, 1)); // writing it: answers land meanwhile
    fetcher.take(it.id);
    written++;
  }
  assert.equal(written, items.length);
  assert.equal(fetcher.pending, 0);
});
