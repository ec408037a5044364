/**
 * A lossy, delayed link: one peer in its own network namespace, the other peers and the DHT in another,
 * joined only through a user-space forwarder (lossy-link.py) that drops and delays frames. Concurrent
 * writers then write as in concurrent-writers. Needs root, `ip netns` and python3; skips and says why
 * without them.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { netnsUnavailable, run } from '../helpers/netns';
import * as path from 'node:path';
import { ChaosPeer, startSession } from './peers';
import { Tally, withPeers, type ScenarioContext, type ScenarioResult } from './scenario';
import { writeTrials } from './writes';
import * as fs from 'node:fs';

const FORWARDER = path.resolve(__dirname, '../../../test/chaos/lossy-link.py');
const LOSS = Number(process.env.HYPERPAIR_CHAOS_LOSS ?? 0.05);
const DELAY_MS = Number(process.env.HYPERPAIR_CHAOS_DELAY_MS ?? 50);
const JITTER_MS = Number(process.env.HYPERPAIR_CHAOS_JITTER_MS ?? 10);

const ID = `hpc${process.pid % 100000}`;
const NS = { near: `${ID}-near`, far: `${ID}-far`, link: `${ID}-link` };
const ADDR = { near: '10.78.0.1', far: '10.78.0.2' };

function whyNot(): string | undefined {
  return netnsUnavailable(`${ID}-probe`, ['ip', 'python3'], 'apt-get install iproute2 python3');
}

/** near ⟷ (n1 | link namespace, forwarder | f1) ⟷ far: no kernel path between near and far. */
function createLink(): void {
  for (const n of Object.values(NS)) run('ip', ['netns', 'add', n]);
  for (const side of ['near', 'far'] as const) {
    const inner = `${ID}${side[0]}0`;
    const outer = `${ID}${side[0]}1`;
    run('ip', ['link', 'add', inner, 'type', 'veth', 'peer', 'name', outer]);
    run('ip', ['link', 'set', inner, 'netns', NS[side]]);
    run('ip', ['link', 'set', outer, 'netns', NS.link]);
    run('ip', ['-n', NS[side], 'link', 'set', inner, 'name', 'eth0']);
    run('ip', ['-n', NS[side], 'addr', 'add', `${ADDR[side]}/24`, 'dev', 'eth0']);
    run('ip', ['-n', NS[side], 'link', 'set', 'eth0', 'up']);
    run('ip', ['-n', NS[side], 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', NS.link, 'link', 'set', outer, 'up']);
  }
}

function destroyLink(): void {
  for (const n of Object.values(NS)) {
    try {
      run('ip', ['netns', 'del', n]);
    } catch {
      // never made
    }
  }
}

/** A child process whose first stdout line is awaited (the testnet's bootstrap, the forwarder's "ready"). */
function childWithFirstLine(cmd: string, args: string[]): { child: ChildProcessWithoutNullStreams; first: Promise<string>; output: () => string } {
  const child = spawn(cmd, args, { stdio: 'pipe' });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const first = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.on('exit', (code) => reject(new Error(`${cmd} ${args.join(' ')} exited (${code}): ${err.trim().slice(-500)}`)));
  });
  return { child, first, output: () => out };
}

async function stopChild(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

// Resolved here: the child's own resolution would depend on its working directory.
const TESTNET = `
const createTestnet = require(${JSON.stringify(require.resolve('@hyperswarm/testnet'))});
createTestnet(3, { host: '${ADDR.near}' }).then((t) => {
  console.log(t.bootstrap.map((b) => b.host + ':' + b.port).join(','));
  process.once('SIGTERM', () => t.destroy().then(() => process.exit(0)));
});`;

export async function lossyLink(ctx: ScenarioContext): Promise<ScenarioResult> {
  const t = new Tally('lossy-link');
  const why = whyNot();
  if (why) {
    t.result.skipped = why;
    return t.done();
  }
  destroyLink();
  const started: ChildProcessWithoutNullStreams[] = [];
  try {
    createLink();
    const fwd = childWithFirstLine('ip', ['netns', 'exec', NS.link, 'python3', FORWARDER, `${ID}n1`, `${ID}f1`, String(LOSS), String(DELAY_MS), String(JITTER_MS), String(ctx.seed)]);
    started.push(fwd.child);
    await fwd.first;
    const testnet = childWithFirstLine('ip', ['netns', 'exec', NS.near, process.execPath, '-e', TESTNET]);
    started.push(testnet.child);
    const bootstrap = await testnet.first;
    const near = { bootstrap, host: ADDR.near, wrap: ['ip', 'netns', 'exec', NS.near] };
    const far = { bootstrap, host: ADDR.far, wrap: ['ip', 'netns', 'exec', NS.far] };
    const dir = (n: string) => {
      const d = path.join(ctx.root, n, 'tree');
      fs.mkdirSync(d, { recursive: true });
      return d;
    };
    const peers = [new ChaosPeer('s', dir('s'), near), new ChaosPeer('a', dir('a'), near), new ChaosPeer('far', dir('far'), far)];
    await withPeers(peers, async () => {
      await startSession(peers[0], peers.slice(1), 120_000);
      await writeTrials(ctx, peers, t, 'll');
    });
    await stopChild(fwd.child);
    const tail = fwd.output().trim().split('\n').pop() ?? '';
    t.note(`link: ${LOSS * 100}% loss, ${DELAY_MS}±${JITTER_MS} ms each way; forwarder: ${tail}`);
    ctx.log(`lossy-link: ${tail}`);
  } finally {
    for (const c of started.reverse()) await stopChild(c);
    destroyLink();
  }
  return t.done();
}
