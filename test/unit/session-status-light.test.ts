/**
 * The status light on its own (src/session/status-light.ts): what each set of facts shows, told
 * only on a change of status or member count, and `closed` is final.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SessionStatus } from '../../src/session/session-types';
import { StatusLight, type StatusFacts } from '../../src/session/status-light';

const base: StatusFacts = { left: false, members: 0, waiting: false, offline: false, announced: false, missing: false };

function light() {
  const told: Array<[SessionStatus, number]> = [];
  return { told, light: new StatusLight((status, members) => told.push([status, members])) };
}

test('each set of facts shows its status, and only changes are told', () => {
  const { told, light: l } = light();
  assert.equal(l.status, 'connecting');
  l.update(base);
  assert.deepEqual(told, [], 'connecting already');
  l.update({ ...base, offline: true });
  l.update({ ...base, announced: true });
  l.update({ ...base, announced: true });
  l.update({ ...base, announced: true, members: 2 });
  l.update({ ...base, announced: true, members: 3 });
  l.update({ ...base, announced: true, missing: true });
  l.update({ ...base, announced: true, waiting: true });
  assert.deepEqual(told, [['offline', 0], ['alone', 0], ['connected', 2], ['connected', 3], ['offline', 0], ['waiting', 0]]);
  assert.equal(l.status, 'waiting');
});

test('members win over waiting and offline; leaving wins over all', () => {
  const { told, light: l } = light();
  l.update({ ...base, members: 1, waiting: true, offline: true });
  l.update({ ...base, members: 1, left: true });
  assert.deepEqual(told, [['connected', 1], ['closed', 0]]);
});

test('closed is final', () => {
  const { told, light: l } = light();
  l.close();
  l.update({ ...base, members: 4, announced: true });
  l.close();
  assert.deepEqual(told, [['closed', 0]]);
  assert.equal(l.status, 'closed');
});
