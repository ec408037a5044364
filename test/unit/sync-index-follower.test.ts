/**
 * What follows a change of the index (src/sync/index-follower.ts), over a real index document, file
 * view, progress tracker and text registry: updates go out (a member's named after it, and only this
 * peer's own reach the guard's shadow), nothing is told before the index is ready, a new entry is
 * told and its text fetched from the member that named it, a text the mirror writes from its bytes
 * is not fetched, a delete goes to the rules and a binary's chunks are asked of its sender first, and
 * once disposed nothing follows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { silentLogger } from '../../src/session/log';
import type { ChangeOrigin } from '../../src/sync/api';
import { Availability } from '../../src/sync/availability';
import { binaryEntry, entryMap, newId } from '../../src/sync/entries';
import { FileView } from '../../src/sync/file-view';
import { IndexFollower } from '../../src/sync/index-follower';
import { RemoteOrigin } from '../../src/sync/outbox';
import { ProgressTracker } from '../../src/sync/progress';
import { TextDocs } from '../../src/sync/texts';

const HASH = 'ab'.repeat(32);
const CHUNK = 'cd'.repeat(32);

function setup() {
  const index = new Y.Doc();
  const entries = index.getMap<Y.Map<unknown>>('files');
  const view = new FileView(entries, silentLogger);
  let ready = true;
  const tracker = new ProgressTracker({ indexReady: () => ready, fileCount: () => view.size }, () => {});
  const texts = new TextDocs({ newDoc: (name) => new Y.Doc({ guid: name }), transaction: () => {}, changed: () => {} });
  const availability = new Availability({
    byId: (id) => view.byId(id),
    textReady: (id) => texts.isReady(id),
    binaryHeld: () => false,
    tracker,
    logger: silentLogger,
    unavailable: () => {},
  });
  const log = {
    sent: [] as Array<string | undefined>,
    told: [] as string[],
    fetched: [] as string[],
    restores: [] as string[],
    preferred: [] as string[],
  };
  const leftToWriter = new Set<string>();
  const follower = new IndexFollower({
    index,
    entries,
    view,
    tracker,
    send: (_update, from) => log.sent.push(from),
    indexReady: () => ready,
    emit: (event, ...args) => {
      const [entry, origin] = args as [{ path: string }, ChangeOrigin];
      log.told.push(`${event} ${entry.path} ${origin}`);
      return true;
    },
    availability,
    texts,
    leftToWriter: (id) => leftToWriter.has(id),
    fetchText: (id, from) => log.fetched.push(`${view.byId(id)?.path} from ${from}`),
    askEdits: () => {},
    markEdited: () => {},
    rules: { keepConflictingVersions: () => {}, checkRestore: (id) => void log.restores.push(id), fixPaths: () => {} },
    binaries: { has: () => false, content: () => ({ hash: HASH, size: 1, chunks: [CHUNK, CHUNK] }) },
    preferChunks: (chunks, peerId) => log.preferred.push(`${chunks.length} of ${peerId}`),
  });
  /** An entry made by a member: its update arrives with the member's origin. */
  const fromMember = (peerId: string, change: (e: Y.Map<Y.Map<unknown>>) => void) => {
    const other = new Y.Doc();
    Y.applyUpdate(other, Y.encodeStateAsUpdate(index));
    const before = Y.encodeStateVector(other);
    change(other.getMap('files'));
    Y.applyUpdate(index, Y.encodeStateAsUpdate(other, before), new RemoteOrigin(peerId));
  };
  return { index, entries, tracker, follower, log, leftToWriter, fromMember, setReady: (v: boolean) => (ready = v) };
}

test("this peer's own index updates go out; a member's go out named after it", () => {
  const { entries, index, log, fromMember } = setup();
  index.transact(() => entries.set(newId(), entryMap({ path: 'own.txt', kind: 'text', size: 0, hash: HASH })), 'disk');
  fromMember('peer-b', (e) => e.set(newId(), entryMap({ path: 'theirs.txt', kind: 'text', size: 0, hash: HASH })));
  assert.deepEqual(log.sent, [undefined, 'peer-b']);
});

test('before the index is ready nothing is told; after, a new entry is told with its origin and fetched from the member that named it', () => {
  const { entries, index, log, fromMember, setReady } = setup();
  setReady(false);
  fromMember('peer-b', (e) => e.set(newId(), entryMap({ path: 'early.txt', kind: 'text', size: 0, hash: HASH })));
  assert.deepEqual(log.told, []);
  assert.deepEqual(log.fetched, []);
  setReady(true);
  fromMember('peer-b', (e) => e.set(newId(), entryMap({ path: 'late.txt', kind: 'text', size: 0, hash: HASH })));
  index.transact(() => entries.set(newId(), entryMap({ path: 'mine.txt', kind: 'text', size: 0, hash: HASH })), 'editor');
  assert.deepEqual(log.told, ['file-added late.txt remote', 'file-added mine.txt editor']);
  assert.deepEqual(log.fetched, ['late.txt from peer-b', 'mine.txt from undefined']);
});

test('refresh tells every entry already in the index (the index arrived) and counts it in progress', () => {
  const { entries, tracker, follower, log, fromMember, setReady } = setup();
  setReady(false);
  fromMember('peer-b', (e) => e.set(newId(), entryMap({ path: 'a.txt', kind: 'text', size: 5, hash: HASH })));
  setReady(true);
  follower.refresh(new Set(entries.keys()), 'remote', 'peer-b');
  assert.deepEqual(log.told, ['file-added a.txt remote']);
  assert.deepEqual({ files: tracker.progress().totalFiles, bytes: tracker.progress().totalBytes }, { files: 1, bytes: 5 });
});

test('a text the mirror writes from its bytes is not fetched', () => {
  const { log, leftToWriter, fromMember } = setup();
  const id = newId();
  leftToWriter.add(id);
  fromMember('peer-b', (e) => e.set(id, entryMap({ path: 'bytes.txt', kind: 'text', size: 0, hash: HASH })));
  assert.deepEqual(log.told, ['file-added bytes.txt remote']);
  assert.deepEqual(log.fetched, []);
});

test("a delete goes to the rules, and a new binary's chunks are asked of the member that sent it first", () => {
  const { log, fromMember } = setup();
  const id = newId();
  fromMember('peer-b', (e) => e.set(id, entryMap({ path: 'gone.txt', kind: 'text', size: 0, hash: HASH })));
  fromMember('peer-c', (e) => e.get(id)!.set('deleted', true));
  assert.deepEqual(log.restores, [id]);
  fromMember('peer-c', (e) => e.set(newId(), binaryEntry('pic.png', { hash: HASH, size: 1, chunks: [CHUNK], base: null })));
  assert.deepEqual(log.preferred, ['2 of peer-c']);
});

test('once disposed, nothing follows: no update goes out and nothing is told', () => {
  const { entries, index, follower, log } = setup();
  follower.dispose();
  index.transact(() => entries.set(newId(), entryMap({ path: 'after.txt', kind: 'text', size: 0, hash: HASH })), 'disk');
  assert.deepEqual(log.sent, []);
  assert.deepEqual(log.told, []);
});
