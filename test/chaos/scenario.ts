/** What every scenario is given and what it reports. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChaosPeer, stopAll, type PeerNet } from './peers';
import type { Verdict } from './oracle';
import { rng, Writer, type WriterOptions } from './writers';

export interface ScenarioContext {
  net: PeerNet;
  /** A fresh folder for this scenario's peers. */
  root: string;
  seed: number;
  trials: number;
  /** How long writers write in one trial. */
  durationMs: number;
  /** How long peers get to converge after the writers stop. */
  settleMs: number;
  log: (line: string) => void;
}

export interface ScenarioResult {
  scenario: string;
  trials: number;
  linesWritten: number;
  linesLost: number;
  filesExpected: number;
  filesLost: number;
  /** Trials whose surviving trees did not end byte-identical. */
  divergentTrials: number;
  /** Hidden temporary files left in shared folders. */
  leftovers: number;
  /** What else went wrong (hangs, false success, a restart refused), and samples of what was lost. */
  findings: string[];
  /** Figures worth reading that are not problems (connection counts, memory, join times). */
  notes: string[];
  /** Why the scenario could not run here (no root, mount refused…), when it did not. */
  skipped?: string;
  durationMs: number;
}

export type Scenario = (ctx: ScenarioContext) => Promise<ScenarioResult>;

/** Sums verdicts of trials into one result. */
export class Tally {
  readonly result: ScenarioResult;
  private readonly started = Date.now();

  constructor(scenario: string) {
    this.result = { scenario, trials: 0, linesWritten: 0, linesLost: 0, filesExpected: 0, filesLost: 0, divergentTrials: 0, leftovers: 0, findings: [], notes: [], durationMs: 0 };
  }

  add(v: Verdict, label: string): void {
    const r = this.result;
    r.trials++;
    r.linesWritten += v.linesWritten;
    r.linesLost += v.linesLost;
    r.filesExpected += v.filesExpected;
    r.filesLost += v.filesLost;
    r.leftovers += v.leftovers;
    if (!v.identical) r.divergentTrials++;
    if (v.linesLost > 0 || v.filesLost > 0) r.findings.push(`${label}: lost ${v.linesLost}/${v.linesWritten} lines, ${v.filesLost}/${v.filesExpected} files, e.g. ${v.lostSample.join('; ')}`);
    else if (!v.identical) r.findings.push(`${label}: trees differ: ${v.differ.join(' | ')}`);
    if (v.doubled.length) r.findings.push(`${label}: lines taken twice, e.g. ${v.doubled.join('; ')}`);
  }

  finding(text: string): void {
    if (this.result.findings.length < 40) this.result.findings.push(text);
  }

  note(text: string): void {
    if (this.result.notes.length < 40) this.result.notes.push(text);
  }

  done(): ScenarioResult {
    this.result.durationMs = Date.now() - this.started;
    return this.result;
  }
}

/** A peer's folder is `<root>/<name>/tree`; `<root>/<name>` also holds the writers' scratch files. */
export function makePeer(ctx: ScenarioContext, name: string, files: Record<string, string | Buffer> = {}): ChaosPeer {
  const dir = path.join(ctx.root, name, 'tree');
  fs.mkdirSync(dir, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(dir, ...rel.split('/'));
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, content);
  }
  return new ChaosPeer(name, dir, ctx.net);
}

export function writerFor(peer: ChaosPeer, o: Omit<WriterOptions, 'dir' | 'scratch'>): Writer {
  return new Writer({ ...o, dir: peer.dir, scratch: path.join(path.dirname(peer.dir), `${o.id}.scratch`) });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Until `predicate` holds or `timeoutMs` passes; resolves whether it held (a miss is reported, not thrown). */
export async function until(predicate: () => boolean, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (predicate()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/** Runs `body` with peers that are always stopped afterwards, whatever happens. */
export async function withPeers<T>(peers: ChaosPeer[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await stopAll(peers);
  }
}

export function seeded(ctx: ScenarioContext, salt: number): () => number {
  return rng(ctx.seed * 7919 + salt);
}

export const dirsOf = (peers: ChaosPeer[]) => peers.map((p) => ({ name: p.name, dir: p.dir }));
export const tokensOf = (writers: Writer[]) => writers.flatMap((w) => w.written);
