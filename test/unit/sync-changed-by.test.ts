/**
 * Who changed a file since this peer last looked (issue 16, item 9), from real Yjs documents synced
 * the way peers sync them; and the `summon` awareness field of "Bring everyone here" (issue 17), read
 * from untrusted states.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { ChangedBy, nearestColour } from '../../src/sync/changed-by';
import { readPresence } from '../../src/sync/awareness';
import { PALETTE } from '../../src/session/format';

function doc(client: number): Y.Doc {
  const d = new Y.Doc();
  d.clientID = client;
  return d;
}
const sync = (from: Y.Doc, to: Y.Doc) => Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)));

test('the writers of a text since the last look: nobody at first sight, then exactly who wrote', () => {
  const mine = doc(1);
  const bob = doc(2);
  const carol = doc(3);
  bob.getText('content').insert(0, 'from bob ');
  sync(bob, mine);
  const tracker = new ChangedBy(1);
  assert.deepEqual(tracker.writers('f', mine), [], 'the first copy marks nothing');
  mine.getText('content').insert(0, 'me ');
  assert.deepEqual(tracker.writers('f', mine), [], 'my own edits are not news');
  sync(mine, carol);
  carol.getText('content').insert(0, 'carol ');
  sync(carol, mine);
  assert.deepEqual(tracker.writers('f', mine), [3]);
  sync(mine, bob);
  bob.getText('content').insert(0, 'bob again ');
  carol.getText('content').insert(0, 'carol again ');
  sync(bob, mine);
  sync(carol, mine);
  assert.deepEqual(tracker.writers('f', mine).sort(), [2, 3]);
  assert.deepEqual(tracker.writers('f', mine), [], 'nothing new since');
});

test('decoration colours: a person\'s colour maps to the nearest of the palette VS Code knows', () => {
  PALETTE.forEach((c, i) => assert.equal(nearestColour(c, PALETTE), i));
  assert.equal(nearestColour('#e6194c', PALETTE), 0);
  assert.equal(nearestColour('not a colour', PALETTE), nearestColour('#000000', PALETTE));
});

test('"bring everyone here": a summon is read only as a positive whole number', () => {
  const user = { id: 'a'.repeat(64), name: 'Alice', colour: '#112233' };
  assert.equal(readPresence({ user, summon: 1765000000000 })?.summon, 1765000000000);
  for (const bad of [-1, 0, 1.5, '12', { x: 1 }, Number.MAX_VALUE]) assert.equal(readPresence({ user, summon: bad })?.summon, undefined, JSON.stringify(bad));
});
