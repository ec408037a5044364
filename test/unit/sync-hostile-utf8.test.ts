/**
 * A participant that sends text that is not text (docs/PROTOCOL.md §6.1): a Yjs update or step 2 whose
 * strings are not valid UTF-8, a text's bytes (`texts-data`) that are not, and an honest-looking edit
 * that splits a surrogate pair. Against a sharer and an honest joiner with real folders, over real
 * hyperswarm on a loopback testnet: the sender is cut off or the text normalised, nothing is lost,
 * and every copy (each peer's text and each disk) stays the same.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { Session } from '../../src/session';
import { startPeer, type PeerOptions, type RunningPeer } from '../../src/app/peer';
import { SharedWorkspace } from '../../src/sync/workspace';
import { silentLogger } from '../../src/session/log';
import { decodeMessage, encodeTexts, INDEX_DOC, MessageType, syncEncoder } from '../../src/sync/protocol';
import { contentHash } from '../../src/sync/hash';
import { createTestNetwork, waitFor, type TestNetwork } from '../helpers/testnet';
import { readTree, tempDir, writeTree } from '../helpers/tree';

let net: TestNetwork;
const running: RunningPeer[] = [];
before(async () => {
  net = await createTestNetwork();
});
after(async () => {
  await Promise.all(running.splice(0).map((p) => p.close()));
  await net.destroy();
});
async function peer(options: Omit<PeerOptions, 'network' | 'name'>): Promise<RunningPeer> {
  const p = await startPeer({ name: options.mode, network: net.network, ...options });
  running.push(p);
  return p;
}

/** A sharer and an honest joiner of `notes.txt`, its text live and its file followed on both. */
async function pair(): Promise<{ s: RunningPeer; j: RunningPeer; ds: string; dj: string; id: string }> {
  const ds = tempDir();
  writeTree(ds, { 'notes.txt': 'one \u{1F600} two\n' });
  const s = await peer({ mode: 'share', dir: ds });
  const dj = path.join(tempDir(), 'j');
  const j = await peer({ mode: 'join', code: s.code, dir: dj });
  fs.appendFileSync(path.join(dj, 'notes.txt'), 'from j\n');
  await waitFor(() => read(ds) === 'one \u{1F600} two\nfrom j\n', 'j\'s line on the sharer\'s disk');
  return { s, j, ds, dj, id: s.workspace.byPath('notes.txt')!.id };
}

const read = (dir: string) => fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8');

/** Every copy the same: both disks, and both peers' shared texts. */
function sameEverywhere(s: RunningPeer, j: RunningPeer, ds: string, dj: string, id: string): boolean {
  const texts = [s, j].map((p) => p.workspace.loadedText(id)?.toString());
  return JSON.stringify(readTree(ds)) === JSON.stringify(readTree(dj)) && texts[0] === texts[1] && texts[0] === read(ds);
}

async function rawAttacker(code: string, victim: RunningPeer): Promise<Session> {
  const a = new Session({ code, name: 'mallory', network: net.network });
  await a.ready();
  await waitFor(() => a.peers().some((p) => p.id === victim.session.self.id), 'the attacker to be admitted');
  return a;
}

/** Resolves with why `victim` dropped `attacker` (rejects if it keeps it for 20 s). */
function cutOff(victim: RunningPeer, attacker: Session): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      victim.session.off('peer-leave', on);
      reject(new Error('the attacker was not cut off'));
    }, 20_000);
    const on = (p: { id: string }, reason: string) => {
      if (p.id !== attacker.self.id) return;
      clearTimeout(timer);
      victim.session.off('peer-leave', on);
      resolve(reason);
    };
    victim.session.on('peer-leave', on);
  });
}

/** A Yjs update inserting `marker` in `content`, with those bytes replaced by `bytes` (same length). */
function updateWithBytes(marker: string, bytes: number[]): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('content').insert(0, marker);
  const update = Y.encodeStateAsUpdate(doc);
  const at = Buffer.from(update).indexOf(Buffer.from(marker, 'utf8'));
  assert.ok(at > 0 && bytes.length === Buffer.byteLength(marker));
  update.set(bytes, at);
  return update;
}

function syncMessage(doc: string, kind: number, update: Uint8Array): Uint8Array {
  const e = syncEncoder(doc);
  encoding.writeVarUint(e, kind);
  encoding.writeVarUint8Array(e, update);
  return encoding.toUint8Array(e);
}

test('an update or step 2 whose strings are not valid UTF-8 cuts its sender off and changes no copy', async () => {
  const { s, j, ds, dj, id } = await pair();
  const before = read(ds);
  // A lone surrogate written as WTF-8 (ED A0 80), a stray continuation byte, a truncated sequence.
  const bad: number[][] = [[0xed, 0xa0, 0x80, 0x5a], [0x5a, 0x80, 0x5a, 0x5a], [0x5a, 0x5a, 0x5a, 0xe2]];
  for (const [i, bytes] of bad.entries()) {
    const attacker = await rawAttacker(s.code, s);
    const dropped = cutOff(s, attacker);
    attacker.send(s.session.self.id, syncMessage(id, i === 1 ? 1 : 2, updateWithBytes('ZZZZ', bytes)));
    assert.match(await dropped, /bad data|not valid UTF-8/, JSON.stringify(bytes));
    await attacker.leave();
  }
  assert.equal(s.workspace.loadedText(id)?.toString(), before);
  // Nothing of it was kept or passed on: an honest edit after it still reaches every copy.
  fs.appendFileSync(path.join(ds, 'notes.txt'), 'from s\n');
  await waitFor(() => read(dj).endsWith('from s\n') && sameEverywhere(s, j, ds, dj, id), 'the sharer\'s line everywhere');
  assert.equal(read(dj), before + 'from s\n');
});

test('a text\'s bytes that are not valid UTF-8 cut their sender off and are never written', async () => {
  const { s, j, ds, dj, id } = await pair();
  const attacker = await rawAttacker(s.code, s);
  const bytes = Uint8Array.from([0x61, 0xed, 0xa0, 0x80, 0x0a]);
  const hash = contentHash(bytes);
  // Answers a request for the text's bytes with them (they hash to the entry's hash), then leaves: a
  // cut-off peer that dials again is asked again, and a first copy waiting for the text waits on.
  let answered = false;
  attacker.on('message', (from, data) => {
    const m = decodeMessage(data);
    if (m.type !== MessageType.TextsGet || answered) return;
    answered = true;
    attacker.send(from.id, encodeTexts(MessageType.TextsData, m.items.map((it) => ({ ...it, bytes }))));
    setTimeout(() => void attacker.leave(), 200);
  });
  const index = new Y.Doc();
  const entry = new Y.Map<unknown>();
  for (const [k, v] of Object.entries({ path: 'bad.txt', kind: 'text', size: bytes.byteLength, hash })) entry.set(k, v);
  index.getMap('files').set('f'.repeat(32), entry);
  attacker.send(s.session.self.id, syncMessage(INDEX_DOC, 2, Y.encodeStateAsUpdate(index)));
  await waitFor(() => j.workspace.byPath('bad.txt') !== undefined, 'the entry on the honest joiner');
  // A joiner's first copy fetches the bytes of texts nobody edited (texts-get): the attacker answers.
  const warnings: string[] = [];
  const logger = { ...silentLogger, warn: (m: string) => warnings.push(m) };
  const dv = path.join(tempDir(), 'v');
  await peer({ mode: 'join', code: s.code, dir: dv, logger });
  await waitFor(() => warnings.some((w) => w.includes('mallory') && /not valid UTF-8/.test(w)), 'the joiner to cut the attacker off').catch((err: Error) => {
    throw new Error(`${err.message}: ${warnings.join('; ')}`);
  });
  for (const dir of [ds, dj, dv]) assert.ok(!fs.existsSync(path.join(dir, 'bad.txt')), `bad.txt written into ${dir}`);
  fs.appendFileSync(path.join(ds, 'notes.txt'), 'from s\n');
  await waitFor(() => read(dv).endsWith('from s\n') && sameEverywhere(s, j, ds, dj, id) && read(dv) === read(ds), 'the sharer\'s line everywhere');
});

test('an edit that splits a surrogate pair leaves U+FFFD in every copy, the disks included', async () => {
  const { s, j, ds, dj, id } = await pair();
  // An honest workspace whose person inserts between the two halves of the emoji, then deletes one half.
  const session = new Session({ code: s.code, name: 'mallory', network: net.network });
  const ws = new SharedWorkspace({ transport: session, mode: 'join' });
  await session.ready();
  await waitFor(() => ws.byId(id) !== undefined, 'the index on the attacker');
  const ytext = await ws.text(id);
  await waitFor(() => ytext.toString() === read(ds), 'the text on the attacker');
  const half = ytext.toString().indexOf('\u{1F600}') + 1;
  ytext.insert(half, 'X');
  await waitFor(() => sameEverywhere(s, j, ds, dj, id) && !read(ds).includes('\u{1F600}'), 'one text everywhere, the pair gone', 15_000).catch((err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify([read(ds), read(dj), s.workspace.loadedText(id)?.toString(), j.workspace.loadedText(id)?.toString()])}`);
  });
  assert.equal(read(ds), 'one \ufffdX\ufffd two\nfrom j\n');
  ytext.delete(ytext.toString().indexOf('X') + 1, 1);
  await waitFor(() => sameEverywhere(s, j, ds, dj, id) && read(ds) === 'one \ufffdX two\nfrom j\n', 'the half deleted everywhere', 15_000).catch((err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify([read(ds), read(dj), s.workspace.loadedText(id)?.toString(), j.workspace.loadedText(id)?.toString()])}`);
  });
  ws.close();
  await session.leave();
});
