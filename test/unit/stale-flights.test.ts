/**
 * An edit a disposed binding sent may land on the document's next binding (stale-flights.ts): where
 * it landed first, it is part of the base that binding merges from, so a collaborator's text is not
 * put in twice; a refused edit, or typing, is still the person's and reaches the shared text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handOver } from '../../src/sync/binding-merge';
import { baseAfterLanding, landedFirst, type StaleFlight } from '../../src/sync/stale-flights';
import { applyEdits, type TextEdit } from '../../src/sync/textdiff';

const eights = (text: string) => text.split('8').length - 1;
const stale = (sent: TextEdit[], applied: boolean): StaleFlight => ({ sent, answer: Promise.resolve(applied) });

/** The shared text and the buffer after the next binding merged from `base` (BufferBinding's hand-over). */
function merged(base: string, text: string, shared: string): { shared: string; buffer: string } {
  const m = handOver(base, text, shared);
  if (!m) return { shared, buffer: text };
  const after = applyEdits(shared, m.toShared);
  return { shared: after, buffer: applyEdits(text, m.pending) };
}

// The two-editor rename race: the old binding sent "8" (a collaborator's keystroke, already in the
// shared text), the document was bound again, and the edit landed there.
const sent: TextEdit[] = [{ offset: 6, deleteCount: 0, insert: '8' }];

test('a stale edit that landed first is not typing: the collaborator\'s character is in the text once', () => {
  const changes = [sent];
  assert.equal(landedFirst(changes, stale(sent, true), true), true);
  const base = baseAfterLanding('race w', changes, stale(sent, true), true);
  assert.equal(base, 'race w8');
  assert.deepEqual(merged(base, 'race w8', 'race w8 w9'), { shared: 'race w8 w9', buffer: 'race w8 w9' });
  // Taken for typing (the buffer's text when bound as the base), it was the "w88" of the stress run.
  assert.equal(eights(merged('race w', 'race w8', 'race w8 w9').shared), 2);
});

test('typing after a stale edit landed is shared, once', () => {
  const changes: TextEdit[][] = [sent, [{ offset: 7, deleteCount: 0, insert: 'x' }]];
  const base = baseAfterLanding('race w', changes, stale(sent, true), true);
  const after = merged(base, 'race w8x', 'race w8 w9');
  assert.equal(after.buffer, after.shared);
  assert.equal(eights(after.shared), 1, after.shared);
  assert.equal(after.shared.replace('x', ''), 'race w8 w9', after.shared);
});

test('a refused edit, or one the person typed before it landed, stays the person\'s typing', () => {
  // Refused: the same character typed by the person is theirs.
  const refused = baseAfterLanding('race w', [sent], stale(sent, false), false);
  assert.equal(refused, 'race w');
  assert.equal(eights(merged(refused, 'race w8', 'race w8 w9').shared), 2);
  // Landed after a keystroke of the person's: taken for typing too (a double, never a loss).
  const typedFirst: TextEdit[][] = [[{ offset: 6, deleteCount: 0, insert: 'y' }], sent];
  assert.equal(landedFirst(typedFirst, stale(sent, true), true), false);
  assert.equal(baseAfterLanding('race w', typedFirst, stale(sent, true), true), 'race w');
});
