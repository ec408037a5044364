/**
 * The connection report (src/session/diagnose.ts): what it says for each situation, what it advises,
 * and that it never holds a full key. Pure: built from plain inputs, as Session.diagnose() builds it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDiagnosis, describePath, formatDiagnosis, type DiagnosisInput } from '../../src/session/diagnose';
import { RELAY_ADVICE } from '../../src/session/format';

const selfId = 'ab'.repeat(32);
const memberId = 'cd'.repeat(32);
const relay = Buffer.alloc(32, 0xef);

function input(extra: Partial<DiagnosisInput> = {}): DiagnosisInput {
  return {
    self: { id: selfId, name: 'Ann', colour: '#e6194b' },
    status: 'connected',
    bootstrap: [{ host: '127.0.0.1', port: 49737 }],
    dht: undefined,
    lanEnabled: true,
    lan: { port: 4242, interface: 'default', peersHeard: 1, otherAnswers: 0, lastProblem: undefined },
    lanError: undefined,
    relays: [],
    lastConnectProblem: undefined,
    members: [{ id: memberId, name: 'Bob', path: 'lan', rttMs: 3, connectedAt: Date.now() - 5_000 }],
    ...extra,
  };
}

test('the report holds keys only shortened, and no secret', () => {
  const d = buildDiagnosis(input({ relays: [relay] }));
  const text = formatDiagnosis(d) + JSON.stringify(d);
  assert.equal(d.self.id, 'abababab…');
  assert.equal(d.members[0].id, 'cdcdcdcd…');
  assert.deepEqual(d.relays.keys, ['efefefef…']);
  for (const full of [selfId, memberId, relay.toString('hex')]) assert.ok(!text.includes(full.slice(0, 9)), `no more than 8 characters of ${full.slice(0, 8)}`);
});

test('no DHT answer: UDP is reported blocked, and the advice names LAN discovery', () => {
  const d = buildDiagnosis(input());
  assert.equal(d.dht.udp, false);
  assert.equal(d.dht.nat.type, 'unknown');
  assert.equal(d.dht.network, 'private (127.0.0.1:49737)');
  assert.ok(d.advice.some((a) => /UDP may be blocked/.test(a) && a.endsWith('LAN discovery.')));
  assert.ok(buildDiagnosis(input({ bootstrap: undefined })).dht.network === 'public hyperswarm DHT');
});

test('a failed direct connection without a relay advises one, in the same words as the session\'s notice; with a relay it does not', () => {
  const problem = { code: 'HOLEPUNCH_ABORTED', at: Date.now() - 3_000 };
  const without = buildDiagnosis(input({ lastConnectProblem: problem }));
  assert.deepEqual(without.lastConnectProblem, { code: 'HOLEPUNCH_ABORTED', secondsAgo: 3 });
  assert.ok(without.advice.some((a) => a.includes('HOLEPUNCH_ABORTED') && a.includes(RELAY_ADVICE)));
  const withRelay = buildDiagnosis(input({ lastConnectProblem: problem, relays: [relay] }));
  assert.ok(!withRelay.advice.some((a) => a.includes(RELAY_ADVICE)));
});

test('LAN discovery switched on but not running says why', () => {
  const d = buildDiagnosis(input({ lan: undefined, lanError: 'LAN discovery could not listen on TCP (EACCES)' }));
  assert.equal(d.lan.running, false);
  assert.ok(d.advice.includes('LAN discovery is switched on but not running: LAN discovery could not listen on TCP (EACCES).'));
  assert.match(formatDiagnosis(d), /LAN discovery: switched on, not running/);
});

test('the text form: one fact a line, members with path, RTT and age', () => {
  const text = formatDiagnosis(buildDiagnosis(input()));
  assert.match(text, /^Hyperpair connection report — /);
  assert.match(text, /\n {2}Bob \(cdcdcdcd…\): local network, RTT 3 ms, connected 5 s\n/);
  assert.match(text, /\nLAN discovery: on \(TCP port 4242, multicast via default\)\n/);
  assert.deepEqual(['lan', 'direct', 'relayed'].map((p) => describePath(p as 'lan')), ['local network', 'direct', 'through a relay']);
});

test('the consistency checks\' counts: open documents, files on disk and open notebooks, each on a line', () => {
  const d = { ...buildDiagnosis(input()), texts: { repairs: 1, divergences: 2, files: 3, notebooks: { repairs: 4, divergences: 5 } } };
  const text = formatDiagnosis(d);
  assert.match(text, /open documents: 1 merged after disagreeing with the shared text, 2 found apart from a peer's/);
  assert.match(text, /files on disk: 3 merged/);
  assert.match(text, /open notebooks: 4 cells merged after disagreeing with the shared text, 5 found with their cells apart from the shared notebook/);
  assert.doesNotMatch(formatDiagnosis({ ...d, texts: { repairs: 0, divergences: 0 } }), /open notebooks/);
});
