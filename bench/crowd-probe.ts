/**
 * Finds where a crowd stops forming a mesh: `node out/bench/crowd-probe.js <peers> [spawnEveryMs]`
 * starts one on a fresh loopback testnet and prints how far the mesh got (not part of `npm run bench`).
 */
import { crowd } from './crowd';
import { createTestNetwork } from '../test/helpers/testnet';

async function main(): Promise<void> {
  const peers = Number(process.argv[2] ?? 10);
  const spawnEveryMs = Number(process.argv[3] ?? 0);
  const net = await createTestNetwork(Number(process.env.HYPERPAIR_CROWD_DHT ?? 3));
  const started = Date.now();
  try {
    const r = await crowd({
      bootstrapSpec: net.bootstrapSpec,
      peers,
      edits: 3 * peers,
      editIntervalMs: 100,
      churnMs: Number(process.env.HYPERPAIR_CROWD_CHURN_MS ?? 6_000),
      churnEveryMs: 3_000,
      churnEditEveryMs: 100,
      spawnEveryMs,
      meshTimeoutMs: Number(process.env.HYPERPAIR_CROWD_MESH_MS ?? 120_000),
      log: (line) => console.log(`${((Date.now() - started) / 1000).toFixed(0)} s: ${line}`),
    });
    const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];
    console.log(JSON.stringify({ peers, p50: pct(r.latencies, 50), p99: pct(r.latencies, 99), reachAllP50: pct(r.reachAll, 50), newcomerMs: Math.round(r.newcomerMs), lost: r.lost, identical: r.identical, tokens: r.tokens, mesh: r.mesh }));
  } finally {
    await net.destroy();
  }
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exitCode = 1;
});
