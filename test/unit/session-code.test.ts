import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALPHABET,
  CODE_CHARS,
  DATA_CHARS,
  checkPartialCode,
  checksum,
  createSessionCode,
  formatSessionCode,
  parseSessionCode,
} from '../../src/session/code';
import ce from 'compact-encoding';
import { handshakeEncoding, helloEncoding } from '../../src/session/wire';
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

/** Deterministic codes (a seeded generator), so that the typo tests give the same answer every run. */
function seededCodes(count: number, seed: number): string[] {
  const codes: string[] = [];
  for (let i = 0; i < count; i++) {
    let data = '';
    for (let j = 0; j < DATA_CHARS; j++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      data += ALPHABET[(seed >> 8) & 31];
    }
    codes.push(data + checksum(data));
  }
  return codes;
}

test('the worked example of docs/PROTOCOL.md: checksum, code, topic, auth key, proof, handshake bytes', () => {
  const data = '0123456789ABCDEFGHJKMNPQRS';
  assert.equal(checksum(data), '6DXT');
  assert.equal(formatSessionCode(data + '6DXT'), '01234-56789-ABCDE-FGHJK-MNPQR-S6DXT');
  const parsed = parseSessionCode('01234-56789-ABCDE-FGHJK-MNPQR-S6DXT');
  assert.ok(parsed.ok);
  assert.equal(parsed.secret.toString('ascii'), data);
  const keys = deriveKeys(parsed.secret);
  assert.equal(keys.topic.toString('hex'), '0412869ef4969b6e2853e57e183074ac536d1c922ae2a5f3e970c56c7966e8c3');
  assert.equal(keys.authKey.toString('hex'), 'f4c093e75829f8df6c5b8a2ffe3c51af465f890f450e8c5f4a81465ded19ce7b');
  assert.equal(
    proof(keys.authKey, Buffer.alloc(64, 0x11), Buffer.alloc(32, 0x22)).toString('hex'),
    '5c74f4639495d8e7fe3986c335645a2f2123fd7dba40088e6ad3003dbf1c23c1',
  );
  const hs = Buffer.from(ce.encode(handshakeEncoding, { version: 5, proof: Buffer.alloc(32, 0xab) }));
  assert.equal(hs.toString('hex'), '05' + 'ab'.repeat(32));
  // An earlier peer's handshake is read (its proof checked first), then refused for its version.
  assert.deepEqual(ce.decode(handshakeEncoding, Buffer.from('04' + 'ab'.repeat(32), 'hex')), { version: 4, proof: Buffer.alloc(32, 0xab) });
  assert.deepEqual(ce.decode(handshakeEncoding, Buffer.from('03' + 'ab'.repeat(32), 'hex')), { version: 3, proof: Buffer.alloc(32, 0xab) });
  assert.deepEqual(ce.decode(handshakeEncoding, Buffer.from('02' + 'ab'.repeat(32), 'hex')), { version: 2, proof: Buffer.alloc(32, 0xab) });
  assert.deepEqual(ce.decode(handshakeEncoding, Buffer.from('01' + 'ab'.repeat(32), 'hex')), { version: 1, proof: Buffer.alloc(32, 0xab) });
  assert.equal(Buffer.from(ce.encode(helloEncoding, { name: 'Ann', colour: '#e6194b' })).toString('hex'), '03416e6e0723653631393462');
  // A reader reads a future version's number and stops, whatever follows.
  assert.deepEqual(ce.decode(handshakeEncoding, Buffer.from('06ffffff', 'hex')), { version: 6, proof: null });
  // The example folds I/L/O and ignores case, spaces and underscores.
  for (const typed of ['oI234 56789 abcde fghjk mnpqr s6dxt', 'Ol234_56789_ABCDE_FGHJK_MNPQR_S6DXT']) {
    const p = parseSessionCode(typed);
    assert.ok(p.ok, typed);
    assert.equal(p.code, '01234-56789-ABCDE-FGHJK-MNPQR-S6DXT');
  }
});

test('every single-character substitution of these codes is reported as a typo', () => {
  // A 20-bit checksum lets about one random typo in a million through; these fixed codes have none.
  let typos = 0;
  for (const c of seededCodes(20, 11)) {
    for (let pos = 0; pos < CODE_CHARS; pos++) {
      for (const replacement of ALPHABET) {
        if (replacement === c[pos]) continue;
        const parsed = parseSessionCode(c.slice(0, pos) + replacement + c.slice(pos + 1));
        assert.ok(!parsed.ok && parsed.reason === 'checksum', `${c} with ${replacement} at ${pos}`);
        typos++;
      }
    }
  }
  assert.equal(typos, 20 * 30 * 31);
});

test('mistyped codes are reported as mistyped, at once, with a reason', () => {
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  let substitutionsCaught = 0;
  let substitutions = 0;
  for (const c of seededCodes(300, 3)) {
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
  const typo = parseSessionCode(c.slice(0, 3) + (c[3] === '7' ? '8' : '7') + c.slice(4));
  assert.ok(!typo.ok && typo.message === 'That code has a typo — check the code and try again.');
  const empty = parseSessionCode('   ');
  assert.ok(!empty.ok && empty.reason === 'empty');
});

test('validation as you type accepts a plausible prefix and rejects a wrong character at once', () => {
  const code = createSessionCode();
  for (let n = 0; n <= code.length; n++) assert.ok(checkPartialCode(code.slice(0, n)).ok, code.slice(0, n));
  const partial = checkPartialCode('ABC!');
  assert.ok(!partial.ok && partial.reason === 'bad-character' && partial.message.includes('"!"'));
  assert.ok(checkPartialCode('abcde-fg').ok, 'lower case and a dash while typing');
  const tooLong = checkPartialCode(code + '0');
  assert.ok(!tooLong.ok && tooLong.reason === 'too-long');
  const typo = code.slice(0, -1) + (code.endsWith('0') ? '1' : '0');
  assert.equal(checkPartialCode(typo).ok, false);
});

test('invite links carry the code', () => {
  const code = createSessionCode();
  for (const link of [
    `vscode://hyperpair.hyperpair/join?code=${encodeURIComponent(code)}`,
    `https://example.invalid/join?x=1&code=${code.replace(/-/g, '')}`,
    `  vscode://hyperpair.hyperpair/join?code=${code.toLowerCase()}  `,
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
