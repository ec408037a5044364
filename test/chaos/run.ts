/**
 * `npm run chaos`: the fault-injection suite at volume. Prints one line per trial as it goes, then a
 * table, and writes every figure and finding to chaos/results.json.
 *
 *   npm run chaos -- [--scenario <name>]… [--trials N] [--duration <ms>] [--settle <ms>] [--seed N] [--out <file>]
 *   (or HYPERPAIR_CHAOS_TRIALS, HYPERPAIR_CHAOS_DURATION_MS, HYPERPAIR_CHAOS_SETTLE_MS, HYPERPAIR_CHAOS_SEED)
 * Exit status 1 when any line or file was lost, any trees diverged, temporary files were left behind, or
 * anything else went wrong.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { runScenario, SCENARIOS, table } from './suite';
import type { ScenarioResult } from './scenario';

function num(flag: string, value: string | undefined, env: string, fallback: number): number {
  const raw = value ?? process.env[env];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} takes a whole number, not "${raw}"`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', multiple: true },
      trials: { type: 'string' },
      duration: { type: 'string' },
      settle: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const opts = {
    scenarios: values.scenario ?? Object.keys(SCENARIOS),
    trials: num('--trials', values.trials, 'HYPERPAIR_CHAOS_TRIALS', 6),
    durationMs: num('--duration', values.duration, 'HYPERPAIR_CHAOS_DURATION_MS', 10_000),
    settleMs: num('--settle', values.settle, 'HYPERPAIR_CHAOS_SETTLE_MS', 20_000),
    seed: num('--seed', values.seed, 'HYPERPAIR_CHAOS_SEED', 12),
    log: (line: string) => console.log(line),
  };
  for (const s of opts.scenarios) if (!SCENARIOS[s]) throw new Error(`unknown scenario "${s}" (known: ${Object.keys(SCENARIOS).join(', ')})`);
  console.log(`chaos: ${opts.scenarios.join(', ')}; ${opts.trials} trials of ${opts.durationMs} ms each, seed ${opts.seed}`);
  const results: ScenarioResult[] = [];
  for (const name of opts.scenarios) {
    let r: ScenarioResult;
    try {
      r = await runScenario(name, opts);
    } catch (err) {
      // One scenario's crash is a result too: the others still run.
      r = { scenario: name, trials: 0, linesWritten: 0, linesLost: 0, filesExpected: 0, filesLost: 0, divergentTrials: 0, leftovers: 0, findings: [`crashed: ${(err as Error).stack ?? err}`], notes: [], durationMs: 0 };
    }
    results.push(r);
    for (const f of r.findings) console.log(`  ! ${name}: ${f}`);
  }
  console.log('\n' + table(results));
  const out = path.resolve(values.out ?? 'chaos/results.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), options: { ...opts, log: undefined }, results }, null, 2) + '\n');
  console.log(`\nresults: ${out}`);
  const bad = results.some((r) => !r.skipped && (r.linesLost > 0 || r.filesLost > 0 || r.divergentTrials > 0 || r.leftovers > 0 || r.findings.length > 0));
  return bad ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`chaos: ${err.message}`);
    process.exit(2);
  },
);
