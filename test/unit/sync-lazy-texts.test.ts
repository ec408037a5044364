/**
 * Texts without a Yjs document until someone needs one (docs/PROTOCOL.md §6.1–§6.2, version 2): a
 * text shared as bytes gets its document built from them when a member asks, peers holding the same
 * bytes build identical first states and converge with their edits, only edits travel to a peer that
 * holds the bytes, and documents nobody holds are released and built again without losing anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as decoding from 'lib0/decoding';
import { MessageType, decodeMessage } from '../../src/sync/protocol';
import { SharedWorkspace } from '../../src/sync/workspace';
import { MemoryTransport, link } from '../helpers/memory-transport';
import { shareLazily, useDisk } from '../helpers/lazy-texts';
import { waitFor } from '../helpers/testnet';

interface Peer {
  transport: MemoryTransport;
  ws: SharedWorkspace;
  /** The peer's "disk": path → bytes, read by its text source. */
  disk: Map<string, Uint8Array>;
  /** Text sync messages it sent: [doc, kind, payload bytes]. */
  sent: Array<[string, number, number]>;
}

function peer(name: string, mode: 'share' | 'join', disk: Record<string, string> = {}): Peer {
  const transport = new MemoryTransport(name);
  const ws = new SharedWorkspace({ transport, mode, docRequestTimeoutMs: 2_000 });
  const files = useDisk(ws, disk);
  const sent: Array<[string, number, number]> = [];
  const send = transport.send.bind(transport);
  transport.send = (to, data) => {
    const m = decodeMessage(data);
    if (m.type === MessageType.Sync && m.doc !== 'index') sent.push([m.doc, decoding.readVarUint(m.decoder), decoding.readVarUint8Array(m.decoder).byteLength]);
    return send(to, data);
  };
  return { transport, ws, disk: files, sent };
}


const big = 'line of a source file\n'.repeat(200);

test('a text shared as bytes has no document until a member asks; then its first state is built and released again', async (t) => {
  const a = peer('a', 'share', { 'src/a.ts': big, 'src/b.ts': 'export const b = 1;\n' });
  const b = peer('b', 'join');
  t.after(() => [a.ws, b.ws].forEach((w) => w.close()));
  const ids = shareLazily(a);
  assert.equal(a.ws.textDocuments, 0, 'nothing materialised at share');
  assert.equal(a.ws.isTextReady(ids.get('src/a.ts')!), true, 'complete here, as bytes');
  link(a.transport, b.transport);
  await b.ws.whenIndexReady();
  const text = await b.ws.loadText(ids.get('src/a.ts')!);
  assert.equal(text?.toString(), big);
  await b.ws.whenComplete();
  // Two looks: a document unused across a whole period is released.
  a.ws.releaseIdleTexts();
  assert.equal(a.ws.releaseIdleTexts(), 2);
  assert.equal(a.ws.textDocuments, 0);
  // Built again on demand, same content.
  assert.equal((await a.ws.text(ids.get('src/a.ts')!)).toString(), big);
});

test('peers holding the same bytes build identical first states: nothing but the edits travels, and both edits survive', async (t) => {
  const files = { 'README.md': big };
  const a = peer('a', 'share', files);
  const b = peer('b', 'join', files); // a clone with the same file
  t.after(() => [a.ws, b.ws].forEach((w) => w.close()));
  const id = shareLazily(a).get('README.md')!;
  link(a.transport, b.transport);
  await b.ws.whenIndexReady();
  // Both open it at the same time and type.
  const [ta, tb] = await Promise.all([a.ws.text(id), b.ws.text(id)]);
  ta.insert(0, 'A-token ');
  tb.insert(tb.length, 'B-token');
  const expected = 'A-token ' + big + 'B-token';
  await waitFor(() => a.ws.loadedText(id)?.toString() === expected && b.ws.loadedText(id)?.toString() === expected, 'both edits on both');
  const bytesSent = [...a.sent, ...b.sent].filter(([doc]) => doc === id).reduce((n, [, , len]) => n + len, 0);
  assert.ok(bytesSent < big.length / 2, `only edits travelled (${bytesSent} bytes for a ${big.length}-byte text)`);
  assert.equal(a.ws.index.getMap<import('yjs').Map<unknown>>('files').get(id)?.get('edited'), true, 'the entry says it was edited');
});

test('a joiner holding the bytes of an edited text builds the first state and fetches only the edits', async (t) => {
  const files = { 'lib.ts': big };
  const a = peer('a', 'share', files);
  t.after(() => a.ws.close());
  const id = shareLazily(a).get('lib.ts')!;
  (await a.ws.text(id)).insert(0, '// edited\n');
  const b = peer('b', 'join', files);
  t.after(() => b.ws.close());
  link(a.transport, b.transport);
  await b.ws.whenIndexReady();
  assert.equal((await b.ws.loadText(id))?.toString(), '// edited\n' + big);
  const step2 = a.sent.filter(([doc, kind]) => doc === id && kind === 1);
  assert.ok(step2.length > 0 && step2.every(([, , len]) => len < 200), `the step 2 held the edit only (${step2.map((s) => s[2])})`);
});

test('a released text that a member then edits is built from the bytes and takes the edit; an observed document is kept', async (t) => {
  const files = { 'x.txt': 'one\ntwo\n', 'y.txt': 'open in an editor\n' };
  const a = peer('a', 'share', files);
  const b = peer('b', 'join', files);
  t.after(() => [a.ws, b.ws].forEach((w) => w.close()));
  const ids = shareLazily(a);
  link(a.transport, b.transport);
  await b.ws.whenIndexReady();
  await b.ws.whenComplete();
  const x = ids.get('x.txt')!;
  const y = ids.get('y.txt')!;
  const ya = await a.ws.text(y);
  const observer = () => {};
  ya.observe(observer); // as an editor binding does
  await a.ws.text(x);
  a.ws.releaseIdleTexts();
  a.ws.releaseIdleTexts();
  assert.equal(a.ws.loadedText(x), undefined, 'x released');
  assert.ok(a.ws.loadedText(y), 'y kept: someone observes it');
  (await b.ws.text(x)).insert(4, 'between\n');
  await waitFor(() => a.ws.loadedText(x)?.toString() === 'one\nbetween\ntwo\n', 'the edit on a, over its own bytes');
  // A delete of a text held as bytes had seen its first state: an edit made concurrently brings it back.
  b.ws.releaseIdleTexts();
  ya.unobserve(observer);
});

test('an edit through a reference kept past a release is not lost', async (t) => {
  const files = { 'k.txt': 'kept\n' };
  const a = peer('a', 'share', files);
  t.after(() => a.ws.close());
  const id = shareLazily(a).get('k.txt')!;
  const stale = await a.ws.text(id);
  a.ws.releaseIdleTexts();
  assert.equal(a.ws.releaseIdleTexts(), 1);
  stale.insert(0, 'late ');
  assert.equal(a.ws.loadedText(id)?.toString(), 'late kept\n');
  assert.equal((await a.ws.text(id)).toString(), 'late kept\n');
});

test('a text deleted by a peer that held it as bytes comes back with an edit made meanwhile elsewhere', async (t) => {
  const files = { 'gone.txt': 'to be deleted\n' };
  const a = peer('a', 'share', files);
  const b = peer('b', 'join', files); // builds it from its own bytes: a is never asked
  t.after(() => [a.ws, b.ws].forEach((w) => w.close()));
  const id = shareLazily(a).get('gone.txt')!;
  link(a.transport, b.transport);
  await b.ws.whenIndexReady();
  const tb = await b.ws.text(id);
  assert.equal(a.ws.loadedText(id), undefined, 'a never built it');
  // At the same moment: a deletes it (having seen only its first state), b types into it.
  a.ws.remove(id, 'disk');
  tb.insert(0, 'kept: ');
  await waitFor(() => a.ws.byId(id) !== undefined && b.ws.byId(id) !== undefined && a.ws.loadedText(id)?.toString() === 'kept: to be deleted\n', 'the file back on both, with the edit');
});
