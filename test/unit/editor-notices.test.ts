/** Which membership messages pop up (src/editor/notices.ts): the policy, in plain Node. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIRST_FEW, PeerNotices, type PeerNotificationMode } from '../../src/editor/notices';

function record(mode: PeerNotificationMode) {
  const seen: string[] = [];
  let current = mode;
  const notices = new PeerNotices(() => current, {
    popup: (m) => seen.push(`popup: ${m}`),
    quiet: (m) => seen.push(`quiet: ${m}`),
  });
  return { notices, seen, set: (m: PeerNotificationMode) => (current = m) };
}

test('first-few: the first messages of a session pop up, later ones are quiet, a new session starts over', () => {
  const { notices, seen } = record('first-few');
  for (let i = 1; i <= FIRST_FEW + 2; i++) notices.notice(`P${i} joined the session`);
  assert.deepEqual(seen, [
    ...Array.from({ length: FIRST_FEW }, (_, i) => `popup: P${i + 1} joined the session`),
    `quiet: P${FIRST_FEW + 1} joined the session`,
    `quiet: P${FIRST_FEW + 2} joined the session`,
  ]);
  notices.reset();
  notices.notice('Bob left the session');
  assert.equal(seen.at(-1), 'popup: Bob left the session');
});

test('always and never, and a change of the setting takes effect at the next message', () => {
  const { notices, seen, set } = record('never');
  notices.notice('a');
  set('always');
  for (let i = 0; i < FIRST_FEW + 1; i++) notices.notice('b');
  set('first-few');
  notices.notice('c'); // the pop-ups of "always" count: this session has had its first few
  assert.deepEqual(seen, ['quiet: a', ...Array.from({ length: FIRST_FEW + 1 }, () => 'popup: b'), 'quiet: c']);
});
