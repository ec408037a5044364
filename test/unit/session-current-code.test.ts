/**
 * The current code on its own (src/session/current-code.ts): the keys follow the code, a change
 * gives back the topic left, the same code however written is no change, and a bad code changes
 * nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSessionCode, parseSessionCode, SessionCodeError } from '../../src/session/code';
import { CurrentCode } from '../../src/session/current-code';
import { deriveKeys } from '../../src/session/secrets';

function keysOf(code: string) {
  const parsed = parseSessionCode(code);
  assert.ok(parsed.ok);
  return deriveKeys(parsed.secret);
}

test('derives the topic, auth key and LAN key of its code', () => {
  const code = createSessionCode();
  const c = new CurrentCode(code);
  const k = keysOf(code);
  assert.equal(c.code, parseSessionCode(code).ok && code);
  assert.deepEqual([c.topic, c.authKey, c.lanKey], [k.topic, k.authKey, k.lanKey]);
});

test('a new code replaces every key and gives back the old topic; the same code is no change', () => {
  const first = createSessionCode();
  const c = new CurrentCode(first);
  const oldTopic = c.topic;
  assert.equal(c.change(first.toLowerCase()), undefined, 'the same code in lower case');
  assert.deepEqual(c.topic, oldTopic);
  const second = createSessionCode();
  assert.deepEqual(c.change(second), oldTopic);
  const k = keysOf(second);
  assert.equal(c.code, second);
  assert.deepEqual([c.topic, c.authKey, c.lanKey], [k.topic, k.authKey, k.lanKey]);
});

test('a code that does not parse is refused with its reason and changes nothing', () => {
  const code = createSessionCode();
  const c = new CurrentCode(code);
  const broken = code.slice(0, -1) + (code.endsWith('0') ? '1' : '0');
  assert.throws(() => c.change(broken), (err: unknown) => err instanceof SessionCodeError && err.reason === 'checksum');
  assert.throws(() => new CurrentCode(''), (err: unknown) => err instanceof SessionCodeError && err.reason === 'empty');
  assert.equal(c.code, code);
  assert.deepEqual(c.authKey, keysOf(code).authKey);
});
