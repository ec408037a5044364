/**
 * A crowd in one session (issue 15): n peers, each its own process (crowd-child.ts), on a loopback
 * testnet. Measures how long an edit takes to reach every other peer, how long a newcomer to a session
 * of n − 1 takes to be complete, and runs churn (a peer leaves and another joins every few seconds
 * while everyone edits) against an exact oracle: every token any peer typed is on every surviving
 * peer, and their texts are identical. Used by `npm run bench -- --only=crowd` and, smaller, a test.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as readline from 'node:readline';
import { createSessionCode } from '../src/session';

const CHILD = path.join(__dirname, 'crowd-child.js');
const now = () => performance.timeOrigin + performance.now();

interface Event {
  event: string;
  at: number;
  [key: string]: unknown;
}

class CrowdPeer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly spawnedAt = now();
  members = 0;
  readyAt: number | undefined;
  /** When the process got going ('started': modules loaded) and was announced on the DHT. */
  readonly stages = new Map<string, number>();
  /** Token → when this peer first saw it (as a remote change). */
  readonly saw = new Map<string, number>();
  readonly edited = new Map<string, number>();
  private dumps: Array<(text: string | null) => void> = [];
  exited = false;
  stderr = '';

  constructor(
    readonly name: string,
    args: string[],
    /** Every token typed by any peer, the departed included. */
    private readonly typed: Set<string>,
  ) {
    this.child = spawn(process.execPath, [CHILD, ...args], { stdio: 'pipe' });
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => this.onEvent(JSON.parse(line) as Event));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    // HYPERPAIR_CROWD_LOG_DIR: every peer's whole log in a file of its own (for a post-mortem).
    const dir = process.env.HYPERPAIR_CROWD_LOG_DIR;
    if (dir) this.child.stderr.pipe(fs.createWriteStream(path.join(dir, `${name}.log`)));
    this.child.on('exit', () => {
      this.exited = true;
      for (const d of this.dumps.splice(0)) d(null);
    });
  }

  send(cmd: Record<string, unknown>): void {
    if (!this.exited) this.child.stdin.write(JSON.stringify(cmd) + '\n');
  }

  dump(): Promise<string | null> {
    return new Promise((resolve) => {
      if (this.exited) return resolve(null);
      this.dumps.push(resolve);
      this.send({ cmd: 'dump' });
    });
  }

  async leave(): Promise<void> {
    const gone = new Promise<void>((resolve) => (this.exited ? resolve() : this.child.once('exit', () => resolve())));
    this.send({ cmd: 'leave' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }

  private onEvent(e: Event): void {
    if (e.event === 'started' || e.event === 'announced') this.stages.set(e.event, e.at);
    if (e.event === 'members') this.members = Number(e.n);
    else if (e.event === 'ready') this.readyAt = e.at;
    else if (e.event === 'edited') {
      this.edited.set(String(e.token), e.at);
      this.typed.add(String(e.token));
    }
    else if (e.event === 'saw') {
      for (const t of e.tokens as string[]) if (!this.saw.has(t)) this.saw.set(t, e.at);
    } else if (e.event === 'dump') this.dumps.shift()?.(e.text as string | null);
  }
}

export interface CrowdOptions {
  bootstrapSpec: string;
  /** Peers in the session once the newcomer joined (the newcomer joins a session of peers − 1). */
  peers: number;
  /** Edits measured for latency, one at a time at `editIntervalMs`. */
  edits: number;
  editIntervalMs: number;
  /** Churn: how long, how often a peer leaves and another joins, and how often someone edits. */
  churnMs: number;
  churnEveryMs: number;
  churnEditEveryMs: number;
  /** Pause between starting the processes of the first peers (30 starting at once starve 2 cores). */
  spawnEveryMs?: number;
  /** How long the mesh may take to form. */
  meshTimeoutMs: number;
  log?: (line: string) => void;
}

export interface CrowdResult {
  /** Latency of each (edit, receiving peer), sorted, ms. */
  latencies: number[];
  /** For each edit, until the last peer had it, sorted, ms. */
  reachAll: number[];
  /** From spawning the newcomer's process until its copy was complete, ms. */
  newcomerMs: number;
  /** Tokens typed during churn (and before), and those missing from some surviving peer at the end. */
  tokens: number;
  lost: number;
  identical: boolean;
  joins: number;
  leaves: number;
  survivors: number;
  /** How far the mesh formed (the session layer's discovery, not the sync layer, forms it). */
  mesh: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(predicate: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`crowd: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * Waits until every peer is complete and connected to every other, or the time is up: then the
 * crowd goes on over the links there are (forwarding reaches peers through others) and says how far
 * the mesh got.
 */
async function formMesh(live: CrowdPeer[], n: number, timeoutMs: number, log: (line: string) => void): Promise<{ full: boolean; describe: string }> {
  const start = Date.now();
  const describe = () => {
    const m = live.map((p) => p.members).sort((a, b) => a - b);
    const ready = live.filter((p) => p.readyAt !== undefined).length;
    return `${ready}/${n} complete, links per peer min ${m[0]} median ${m[m.length >> 1]} of ${n - 1}, after ${((Date.now() - start) / 1000).toFixed(0)} s`;
  };
  let lastLog = Date.now();
  for (;;) {
    const ready = live.every((p) => p.readyAt !== undefined);
    if (ready && live.every((p) => p.members === n - 1)) return { full: true, describe: `full mesh of ${n} (${describe()})` };
    if (Date.now() - start > timeoutMs) {
      if (!ready) throw new Error(`crowd: not every peer complete: ${describe()}`);
      return { full: false, describe: `NOT a full mesh: ${describe()}` };
    }
    if (Date.now() - lastLog > 15_000) {
      lastLog = Date.now();
      log(describe());
    }
    await sleep(50);
  }
}

export async function crowd(o: CrowdOptions): Promise<CrowdResult> {
  const code = createSessionCode();
  const live: CrowdPeer[] = [];
  const typed = new Set<string>();
  let named = 0;
  const spawnPeer = (mode: 'share' | 'join') => {
    const name = `p${named++}`;
    const p = new CrowdPeer(name, [o.bootstrapSpec, code, name, mode], typed);
    live.push(p);
    return p;
  };
  const log = o.log ?? (() => {});
  try {
    const sharer = spawnPeer('share');
    await until(() => sharer.readyAt !== undefined, 'the sharer', o.meshTimeoutMs);
    for (let i = 1; i < o.peers - 1; i++) {
      spawnPeer('join');
      if (o.spawnEveryMs) await sleep(o.spawnEveryMs);
    }
    const mesh1 = await formMesh(live, o.peers - 1, o.meshTimeoutMs, log);

    const newcomer = spawnPeer('join');
    await until(() => newcomer.readyAt !== undefined, 'the newcomer complete', o.meshTimeoutMs);
    const newcomerMs = newcomer.readyAt! - newcomer.spawnedAt;
    const mesh = await formMesh(live, o.peers, o.meshTimeoutMs, log);
    const stage = (s: string) => ((newcomer.stages.get(s) ?? NaN) - newcomer.spawnedAt).toFixed(0);
    log(`newcomer complete in ${newcomerMs.toFixed(0)} ms (modules loaded ${stage('started')} ms, announced ${stage('announced')} ms); ${mesh.describe}`);

    // Latency: one edit at a time, from a random peer, at a steady pace.
    const latencies: number[] = [];
    const reachAll: number[] = [];
    const all: string[] = [];
    for (let k = 0; k < o.edits; k++) {
      const author = live[k % live.length];
      const token = `<${author.name}.L${k}>`;
      all.push(token);
      author.send({ cmd: 'edit', token });
      await sleep(o.editIntervalMs);
    }
    await until(() => all.every((t) => live.every((p) => p.edited.has(t) || p.saw.has(t))), 'every edit everywhere', 60_000);
    for (const t of all) {
      const author = live.find((p) => p.edited.has(t))!;
      const t0 = author.edited.get(t)!;
      const times = live.filter((p) => p !== author).map((p) => p.saw.get(t)! - t0);
      latencies.push(...times);
      reachAll.push(Math.max(...times));
    }
    latencies.sort((a, b) => a - b);
    reachAll.sort((a, b) => a - b);
    log(`latency: ${latencies.length} deliveries`);

    // Churn: edits from everyone; every churnEveryMs one peer (never the sharer) leaves and one joins.
    let joins = 0;
    let leaves = 0;
    let editing = true;
    let seq = 0;
    const editor = (async () => {
      while (editing) {
        const ready = live.filter((p) => p.readyAt !== undefined && !p.exited);
        const author = ready[Math.floor(Math.random() * ready.length)];
        const token = `<${author.name}.C${seq++}>`;
        author.send({ cmd: 'edit', token });
        await sleep(o.churnEditEveryMs);
      }
    })();
    const churnEnd = Date.now() + o.churnMs;
    while (Date.now() < churnEnd) {
      await sleep(o.churnEveryMs);
      const candidates = live.filter((p) => p !== sharer && p.readyAt !== undefined);
      const leaver = candidates[Math.floor(Math.random() * candidates.length)];
      live.splice(live.indexOf(leaver), 1); // no more edits for it
      await leaver.leave(); // a graceful leave sends what it typed first

      leaves++;
      spawnPeer('join');
      joins++;
    }
    editing = false;
    await editor;
    await until(() => live.every((p) => p.readyAt !== undefined), 'the last joiners complete', o.meshTimeoutMs);
    const made = new Set(typed);
    let texts: Array<string | null> = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      texts = await Promise.all(live.map((p) => p.dump()));
      const complete = texts.every((x) => x !== null && [...made].every((t) => x.includes(t)));
      if ((complete && texts.every((x) => x === texts[0])) || Date.now() > deadline) break;
      await sleep(200);
    }
    const lost = [...made].filter((t) => texts.some((x) => x === null || !x.includes(t))).length;
    return {
      latencies,
      reachAll,
      newcomerMs,
      tokens: made.size,
      lost,
      identical: texts.every((x) => x === texts[0]),
      joins,
      leaves,
      survivors: live.length,
      mesh: `before the newcomer: ${mesh1.describe}; with it: ${mesh.describe}`,
    };
  } finally {
    await Promise.all(live.map((p) => p.leave()));
  }
}
