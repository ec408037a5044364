import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PathClaims } from '../../src/sync/path-claims';

test('path claims: one id held alone, a second makes a set, leaving goes back to one, the smallest is shown', () => {
  const c = new PathClaims();
  assert.deepEqual([...c.ids('a')], []);
  assert.equal(c.first('a'), undefined);
  c.add('a', 'm');
  c.add('a', 'm');
  assert.deepEqual([...c.ids('a')], ['m'], 'the same id twice is one claim');
  c.add('a', 'k');
  c.add('a', 'z');
  assert.deepEqual([...c.ids('a')].sort(), ['k', 'm', 'z']);
  assert.equal(c.first('a'), 'k');
  assert.ok(c.has('a', 'z') && !c.has('a', 'q') && c.claimed('a'));
  c.remove('a', 'k');
  c.remove('a', 'q'); // not a claimant: nothing changes
  assert.equal(c.first('a'), 'm');
  c.remove('a', 'm');
  assert.deepEqual([...c.ids('a')], ['z']);
  assert.ok(c.has('a', 'z'));
  c.remove('a', 'z');
  assert.ok(!c.claimed('a'));
  assert.deepEqual([...c.ids('a')], []);
});
