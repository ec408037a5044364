/**
 * A small crowd (issue 15; the 30-peer version is `npm run bench -- --only=crowd`): six peers, each
 * its own process, on a loopback testnet; every edit reaches every peer, a newcomer completes, and
 * with peers leaving and joining while everyone edits, nothing is lost: every edit typed by anyone is
 * on every surviving peer, and their texts are identical.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crowd } from '../../bench/crowd';
import { createTestNetwork } from '../helpers/testnet';

test('six peers in their own processes: edits everywhere, a newcomer, churn with nothing lost', { timeout: 420_000 }, async (t) => {
  const net = await createTestNetwork();
  try {
    const r = await crowd({
      bootstrapSpec: net.bootstrapSpec,
      peers: 6,
      edits: 30,
      editIntervalMs: 100,
      churnMs: 8_000,
      churnEveryMs: 2_000,
      churnEditEveryMs: 100,
      meshTimeoutMs: 180_000,
      log: (line) => t.diagnostic(line),
    });
    t.diagnostic(`latency p50 ${r.latencies[Math.floor(r.latencies.length / 2)].toFixed(1)} ms; newcomer ${r.newcomerMs.toFixed(0)} ms`);
    assert.equal(r.latencies.length, 30 * 5, 'every edit reached every other peer');
    assert.ok(r.leaves >= 2 && r.joins === r.leaves, `${r.leaves} left, ${r.joins} joined`);
    assert.ok(r.tokens > 30, `${r.tokens} edits typed`);
    assert.equal(r.lost, 0, 'edits lost');
    assert.ok(r.identical, 'identical texts on every survivor');
  } finally {
    await net.destroy();
  }
});
