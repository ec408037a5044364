/** The fault-injection scenarios by name, and running a selection of them on one loopback testnet. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTestNetwork } from '../helpers/testnet';
import { hostileConnections } from './hostile';
import { fullDisk, sharerLeavesMidJoin } from './joins';
import { lossyLink } from './lossy';
import { folderRemoved } from './removal';
import type { Scenario, ScenarioContext, ScenarioResult } from './scenario';
import { concurrentWriters, createThenLeave, killRestart } from './writes';

export const SCENARIOS: Record<string, Scenario> = {
  'concurrent-writers': concurrentWriters,
  'kill-restart': killRestart,
  'create-then-leave': createThenLeave,
  'sharer-leaves-mid-join': sharerLeavesMidJoin,
  'lossy-link': lossyLink,
  'full-disk': fullDisk,
  'folder-removed': folderRemoved,
  'hostile-connections': hostileConnections,
};

export interface SuiteOptions {
  scenarios: string[];
  seed: number;
  trials: number;
  durationMs: number;
  settleMs: number;
  log?: (line: string) => void;
}

/** Runs scenarios one after another (two CPUs: several sessions at once would measure the machine). */
export async function runScenario(name: string, o: SuiteOptions): Promise<ScenarioResult> {
  const scenario = SCENARIOS[name];
  if (!scenario) throw new Error(`unknown scenario "${name}" (known: ${Object.keys(SCENARIOS).join(', ')})`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `hyperpair-chaos-${name}-`));
  const net = await createTestNetwork();
  const ctx: ScenarioContext = {
    net: { bootstrap: net.bootstrapSpec, host: '127.0.0.1' },
    root,
    seed: o.seed,
    trials: o.trials,
    durationMs: o.durationMs,
    settleMs: o.settleMs,
    log: o.log ?? (() => undefined),
  };
  try {
    return await scenario(ctx);
  } finally {
    await net.destroy();
    fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** One line per scenario: the figures the README quotes. */
export function table(results: ScenarioResult[]): string {
  const head = ['scenario', 'trials', 'lines written', 'lines lost', 'files', 'files lost', 'divergent', 'leftovers', 'findings'];
  const rows = results.map((r) =>
    r.skipped
      ? [r.scenario, 'skipped', '', '', '', '', '', '', r.skipped]
      : [r.scenario, r.trials, r.linesWritten, r.linesLost, r.filesExpected, r.filesLost, r.divergentTrials, r.leftovers, r.findings.length].map(String),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const fmt = (cells: Array<string | number>) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
  return [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => fmt(r as string[]))].join('\n');
}
