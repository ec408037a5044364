import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALPHABET,
  CODE_CHARS,
  DATA_CHARS,
  canonical,
  checkPartialCode,
  createSessionCode,
  parseSessionCode,
} from '../../src/session/code';
import { deriveKeys, proof, verifyProof } from '../../src/session/secrets';
import { parseBootstrap } from '../../src/session/network';

test('a new code: six groups of five from the Crockford alphabet, valid, 130 random bits', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const code = createSessionCode();
    assert.match(code, /^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){5}$/);
    const parsed = parseSessionCode(code);
    assert.ok(parsed.ok);
    assert.equal(parsed.secret.length, DATA_CHARS);
    seen.add(code);
  }
  assert.equal(seen.size, 200);
  assert.ok(DATA_CHARS * Math.log2(ALPHABET.length) >= 128);
});

test('codes are case-insensitive, tolerant of spaces, dashes and underscores, and fold I/L/O', () => {
  const code = createSessionCode();
  const variants = [
    code.toLowerCase(),
    code.replace(/-/g, ' '),
    code.replace(/-/g, ''),
    `  ${code.replace(/-/g, '_')}  `,
    code.replace(/1/g, 'l').replace(/0/g, 'o'),
    code.replace(/1/g, 'I'),
  ];
  for (const v of variants) {
    const parsed = parseSessionCode(v);
    assert.ok(parsed.ok, v);
    assert.equal(parsed.code, code);
  }
});

test('mistyped codes are reported as mistyped, at once, with a reason', () => {
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  let substitutionsCaught = 0;
  let substitutions = 0;
  for (let i = 0; i < 300; i++) {
    const c = canonical(createSessionCode());
    const pos = rand(CODE_CHARS);
    const replacement = ALPHABET[(ALPHABET.indexOf(c[pos]) + 1 + rand(31)) % 32];
    const typo = c.slice(0, pos) + replacement + c.slice(pos + 1);
    substitutions++;
    const parsed = parseSessionCode(typo);
    if (!parsed.ok) {
      assert.equal(parsed.reason, 'checksum');
      assert.match(parsed.message, /check the code/);
      substitutionsCaught++;
    }
    // Adjacent transposition of two different characters.
    const p = rand(CODE_CHARS - 1);
    if (c[p] !== c[p + 1]) {
      const swapped = c.slice(0, p) + c[p + 1] + c[p] + c.slice(p + 2);
      assert.equal(parseSessionCode(swapped).ok, false, 'a transposition must be reported');
    }
  }
  // A 20-bit checksum lets through about one random typo in a million.
  assert.equal(substitutionsCaught, substitutions);

  const c = createSessionCode();
  const short = parseSessionCode(c.slice(0, -3));
  assert.ok(!short.ok && short.reason === 'too-short');
  const long = parseSessionCode(c + 'A');
  assert.ok(!long.ok && long.reason === 'too-long');
  const bad = parseSessionCode(c.replace(/^./, 'U'));
  assert.ok(!bad.ok && bad.reason === 'bad-character' && bad.message.includes('"U"'));
  const empty = parseSessionCode('   ');
  assert.ok(!empty.ok && empty.reason === 'empty');
});

test('validation as you type accepts a plausible prefix and rejects a wrong character at once', () => {
  const code = createSessionCode();
  for (let n = 0; n <= code.length; n++) assert.ok(checkPartialCode(code.slice(0, n)).ok, code.slice(0, n));
  assert.equal(checkPartialCode('ABC!').ok, false);
  const typo = code.slice(0, -1) + (code.endsWith('0') ? '1' : '0');
  assert.equal(checkPartialCode(typo).ok, false);
});

test('invite links carry the code', () => {
  const code = createSessionCode();
  for (const link of [
    `vscode://hyperpair.hyperpair/join?code=${encodeURIComponent(code)}`,
    `https://example.invalid/join?x=1&code=${code.replace(/-/g, '')}`,
  ]) {
    const parsed = parseSessionCode(link);
    assert.ok(parsed.ok, link);
    assert.equal(parsed.code, code);
  }
});

test('topic and auth key: deterministic, distinct per code, unrelated to each other and to the code', () => {
  const a = parseSessionCode(createSessionCode());
  const b = parseSessionCode(createSessionCode());
  assert.ok(a.ok && b.ok);
  const ka = deriveKeys(a.secret);
  assert.deepEqual(deriveKeys(a.secret), ka);
  assert.notDeepEqual(deriveKeys(b.secret).topic, ka.topic);
  assert.notDeepEqual(ka.topic, ka.authKey);
  assert.equal(ka.topic.length, 32);
  assert.ok(!ka.topic.toString('latin1').includes(a.secret.toString('latin1').slice(0, 6)));
});

test('a proof verifies only for its own handshake, sender and session', () => {
  const k = deriveKeys(Buffer.from('A'.repeat(26))).authKey;
  const other = deriveKeys(Buffer.from('B'.repeat(26))).authKey;
  const hh = Buffer.alloc(64, 1);
  const pk = Buffer.alloc(32, 2);
  const p = proof(k, hh, pk);
  assert.ok(verifyProof(k, hh, pk, p));
  assert.ok(!verifyProof(k, Buffer.alloc(64, 3), pk, p), 'replayed on another connection');
  assert.ok(!verifyProof(k, hh, Buffer.alloc(32, 4), p), 'reflected from another sender');
  assert.ok(!verifyProof(other, hh, pk, p), 'another session');
  assert.ok(!verifyProof(k, hh, pk, p.subarray(0, 31)));
});

test('bootstrap lists parse, and bad ones say how to write them', () => {
  assert.deepEqual(parseBootstrap('127.0.0.1:49737, node.example:1'), [
    { host: '127.0.0.1', port: 49737 },
    { host: 'node.example', port: 1 },
  ]);
  assert.deepEqual(parseBootstrap('[::1]:5'), [{ host: '::1', port: 5 }]);
  assert.throws(() => parseBootstrap('localhost'), /host:port/);
  assert.throws(() => parseBootstrap('a:70000'), /host:port/);
  assert.throws(() => parseBootstrap(''), /no bootstrap/);
});
