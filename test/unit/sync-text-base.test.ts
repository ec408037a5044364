/**
 * A text's deterministic first state (docs/PROTOCOL.md §6.1, version 2): peers that build a text's
 * document from the same bytes at the same time converge on one copy of it, with their edits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { contentHash } from '../../src/sync/hash';
import { BASE_CLIENT, baseText, baseUpdate, isPristine, materialise, ownClientId } from '../../src/sync/text-base';

function peerDoc(clientID: number): Y.Doc {
  const doc = new Y.Doc({ gc: true });
  doc.clientID = clientID;
  return doc;
}

function exchange(a: Y.Doc, b: Y.Doc): void {
  const toB = Y.encodeStateAsUpdate(a, Y.encodeStateVector(b));
  const toA = Y.encodeStateAsUpdate(b, Y.encodeStateVector(a));
  Y.applyUpdate(b, toB);
  Y.applyUpdate(a, toA);
}

const content = 'first line\nsecond line é 😀\n';

test('a document whose only change deletes part of its first state is not pristine (released, the deletion would be lost)', () => {
  const doc = peerDoc(11);
  materialise(doc, content, null);
  assert.equal(isPristine(doc), true);
  doc.getText('content').delete(0, 6);
  assert.equal(isPristine(doc), false);
  const other = peerDoc(12);
  materialise(other, content, null);
  other.getText('content').insert(0, 'x');
  assert.equal(isPristine(other), false);
});

test('two peers that materialise the same bytes make the identical update, and merge to one copy', () => {
  assert.deepEqual(baseUpdate(content), baseUpdate(content));
  const a = peerDoc(11);
  const b = peerDoc(22);
  materialise(a, content, null);
  materialise(b, content, null);
  assert.deepEqual(Y.encodeStateAsUpdate(a), Y.encodeStateAsUpdate(b));
  exchange(a, b);
  assert.equal(a.getText('content').toString(), content);
  assert.equal(b.getText('content').toString(), content);
  // The peer's own client id is back in place for its edits.
  assert.equal(a.clientID, 11);
});

test('edits made on two concurrent materialisations both survive, the base once', () => {
  const a = peerDoc(11);
  const b = peerDoc(22);
  materialise(a, content, null);
  materialise(b, content, null);
  a.getText('content').insert(0, 'A-token ');
  b.getText('content').insert(content.length, 'B-token');
  exchange(a, b);
  const expected = 'A-token ' + content + 'B-token';
  assert.equal(a.getText('content').toString(), expected);
  assert.equal(b.getText('content').toString(), expected);
  assert.equal(a.getText('content').toString().split('first line').length, 2, 'the base is not duplicated');
});

test('an edit that arrives before the peer built the base waits for it, then applies', () => {
  const a = peerDoc(11);
  materialise(a, content, null);
  const sv = Y.encodeStateVector(a);
  a.getText('content').insert(5, '+');
  const edit = Y.encodeStateAsUpdate(a, sv); // only the edit: its item follows the base's
  const b = peerDoc(22);
  Y.applyUpdate(b, edit);
  assert.equal(b.getText('content').toString(), '', 'nothing to show before the base');
  assert.equal(isPristine(b), false, 'a doc with a pending edit is not pristine');
  materialise(b, content, null);
  assert.equal(b.getText('content').toString(), a.getText('content').toString());
  assert.equal(isPristine(b), false);
});

test('a doc is pristine while it holds only its base; an empty text has an empty base', () => {
  const a = peerDoc(11);
  materialise(a, content, null);
  assert.equal(isPristine(a), true);
  a.getText('content').insert(0, 'x');
  assert.equal(isPristine(a), false);
  const e = peerDoc(12);
  materialise(e, '', null);
  assert.equal(isPristine(e), true);
  assert.equal(e.getText('content').toString(), '');
  assert.equal(ownClientId(BASE_CLIENT), 1, 'no peer edits as the base client');
  assert.equal(ownClientId(7), 7);
});

test('only bytes with the entry hash, valid UTF-8, become a base', () => {
  const bytes = Buffer.from(content, 'utf8');
  assert.equal(baseText(bytes, contentHash(bytes)), content);
  assert.equal(baseText(Buffer.from('other'), contentHash(bytes)), undefined, 'bytes that changed since');
  const bad = Buffer.from([0xff, 0xfe, 0x41]);
  assert.equal(baseText(bad, contentHash(bad)), undefined, 'not UTF-8');
  const bom = Buffer.from('\ufeffx', 'utf8');
  assert.equal(baseText(bom, contentHash(bom)), '\ufeffx', 'a BOM is content');
});

test('the first state\'s bytes are exactly the update Yjs makes for client 0 inserting the text (long, multi-byte and astral texts too)', () => {
  for (const text of ['', 'héllo', 'a', '😀 emoji \u{10ffff}', '\r\n\ufeffbom', 'x'.repeat(300_000), 'é'.repeat(70_000)]) {
    const doc = peerDoc(BASE_CLIENT);
    if (text.length > 0) doc.getText('content').insert(0, text);
    assert.deepEqual(Buffer.from(baseUpdate(text)), Buffer.from(Y.encodeStateAsUpdate(doc)), `${text.length} characters`);
  }
});
