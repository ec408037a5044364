/**
 * `npm run bench`: what users feel, each figure beside a reference measured in the same run over the
 * same kind of connection (real hyperswarm on a loopback testnet), so that ratios mean something on a
 * noisy machine. Prints a table and writes bench/results.json. Not a test: nothing here asserts.
 *
 * The join runs two headless peers as processes of their own, as real peers are. The other
 * measurements keep both peers in this one process (one event loop), which adds their work together;
 * a real pair of machines does each side in parallel.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import Hyperswarm from 'hyperswarm';
import HyperDHT from 'hyperdht';
import * as Y from 'yjs';
import { Session, createSessionCode } from '../src/session';
import { SharedWorkspace } from '../src/sync/workspace';
import { createTestNetwork, waitFor, type TestNetwork } from '../test/helpers/testnet';
import { loadTrace, type SequentialTrace } from '../test/helpers/traces';
import { readTree } from '../test/helpers/tree';
import { crowd } from './crowd';
import { newFileToEveryDisk } from './new-file';
import { startPeer, type RunningPeer } from '../src/app/peer';
import { CliPeer } from './processes';
import { repoRows, tarCopyMs } from './repo';
import type { Row } from './row';
import { terminalBench } from './terminal';
import { voiceBench } from './voice';
import { tunnelBench } from './tunnel';

const rows: Row[] = [];
const quick = process.argv.includes('--quick');
/** `--only=edit,trace,join,join-small,scale,crowd,new-file,tunnel,terminal,footprint,repo,binding`: run some scenarios (for profiling one). `--huge`: repo with 100,000 files too; `--repo-files=N`: one repo of N files. */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const wanted = (name: string): boolean => !only || only.includes(name);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function bareConnection(net: TestNetwork): Promise<{ a: Hyperswarm.SecretStream; b: Hyperswarm.SecretStream; close(): Promise<void> }> {
  const mk = () => new Hyperswarm({ dht: new HyperDHT({ bootstrap: net.network.bootstrap, host: '127.0.0.1', firewalled: false }) });
  const sa = mk();
  const sb = mk();
  const topic = Buffer.alloc(32, Math.floor(Math.random() * 255));
  const conns: Hyperswarm.SecretStream[] = [];
  for (const s of [sa, sb]) s.on('connection', (c) => (c.on('error', () => {}), conns.push(c)));
  await sa.join(topic).flushed();
  sb.join(topic);
  await waitFor(() => conns.length === 2, 'a bare connection', 30_000);
  const a = conns.find((c) => c.publicKey.equals(sa.keyPair.publicKey))!;
  const b = conns.find((c) => c.publicKey.equals(sb.keyPair.publicKey))!;
  return { a, b, close: async () => void (await Promise.all([sa.destroy(), sb.destroy()])) };
}

async function pairOfWorkspaces(net: TestNetwork) {
  const code = createSessionCode();
  const sa = new Session({ code, name: 'A', network: net.network });
  const sb = new Session({ code, name: 'B', network: net.network });
  const wa = new SharedWorkspace({ transport: sa, mode: 'share' });
  const wb = new SharedWorkspace({ transport: sb, mode: 'join' });
  await Promise.all([sa.ready(), sb.ready()]);
  await waitFor(() => sa.peers().length === 1 && sb.peers().length === 1, 'two peers', 60_000);
  await wb.whenIndexReady();
  return {
    wa,
    wb,
    close: async () => {
      wa.close();
      wb.close();
      await Promise.all([sa.leave(), sb.leave()]);
    },
  };
}

/** 1. One character typed at a random place of a 100 KB file, until the other peer has it. */
async function editLatency(net: TestNetwork): Promise<void> {
  const n = Number(process.env.HYPERPAIR_BENCH_EDITS) || (quick ? 300 : 2000);
  const { wa, wb, close } = await pairOfWorkspaces(net);
  const file = wa.createText('big.txt', 'x'.repeat(100 * 1024), 'editor');
  const ta = await wa.text(file.id);
  const tb = await wb.text(file.id);
  const times: number[] = [];
  let resolveSeen: () => void = () => {};
  tb.observe(() => resolveSeen());
  for (let i = 0; i < n; i++) {
    const seen = new Promise<void>((r) => (resolveSeen = r));
    const t0 = performance.now();
    ta.doc!.transact(() => ta.insert(Math.floor(Math.random() * ta.length), 'y'), 'editor');
    await seen;
    times.push(performance.now() - t0);
  }
  await close();

  // Reference: the same size of Yjs update, one way over a bare hyperswarm stream.
  const doc = new Y.Doc();
  doc.getText('t').insert(0, 'x'.repeat(1000));
  let update: Uint8Array = new Uint8Array(0);
  doc.on('update', (u: Uint8Array) => (update = u));
  doc.getText('t').insert(500, 'y');
  const bare = await bareConnection(net);
  const ref: number[] = [];
  let resolveData: () => void = () => {};
  bare.b.on('data', () => resolveData());
  for (let i = 0; i < n; i++) {
    const got = new Promise<void>((r) => (resolveData = r));
    const t0 = performance.now();
    bare.a.write(Buffer.from(update));
    await got;
    ref.push(performance.now() - t0);
  }
  await bare.close();

  // The floor no transport can go under: the same edits between two Yjs documents in memory (local
  // insert and its update, then applying it on the other document), with no network at all.
  const ya = new Y.Doc();
  const yb = new Y.Doc();
  ya.getText('content').insert(0, 'x'.repeat(100 * 1024));
  Y.applyUpdate(yb, Y.encodeStateAsUpdate(ya));
  let last: Uint8Array = new Uint8Array(0);
  ya.on('update', (u: Uint8Array) => (last = u));
  const yjs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const text = ya.getText('content');
    ya.transact(() => text.insert(Math.floor(Math.random() * text.length), 'y'));
    Y.applyUpdate(yb, last);
    yjs.push(performance.now() - t0);
  }
  yjs.sort((x, y) => x - y);
  times.sort((x, y) => x - y);
  ref.sort((x, y) => x - y);
  const p50 = percentile(times, 50);
  const r50 = percentile(ref, 50);
  rows.push({ name: `edit latency p50 (${n} single-char edits, 100 KB file)`, value: p50, unit: 'ms', reference: r50, goal: '< 1 ms and ≤ 2× reference', met: p50 < 1 && p50 <= 2 * r50 });
  rows.push({ name: 'edit latency p95', value: percentile(times, 95), unit: 'ms', reference: percentile(ref, 95) });
  rows.push({ name: 'edit latency p99', value: percentile(times, 99), unit: 'ms', reference: percentile(ref, 99) });
  rows.push({ name: 'floor: the same edits between two Yjs documents in memory, p50', value: percentile(yjs, 50), unit: 'ms', note: 'no network' });
}

/**
 * 6. Scale: n headless peers in one session (a full mesh on the testnet); an insert on one peer until
 * every other peer has it. The typist changes with every edit, so every peer sends and receives.
 */
async function scale(net: TestNetwork, n: number): Promise<void> {
  const edits = quick ? 100 : 500;
  const code = createSessionCode();
  const sessions = Array.from({ length: n }, (_, i) => new Session({ code, name: `P${i}`, network: net.network }));
  const spaces = sessions.map((transport, i) => new SharedWorkspace({ transport, mode: i === 0 ? 'share' : 'join' }));
  await Promise.all(sessions.map((s) => s.ready()));
  await waitFor(() => sessions.every((s) => s.peers().length === n - 1), `a full mesh of ${n} peers`, 120_000);
  await Promise.all(spaces.map((w) => w.whenIndexReady()));
  const file = spaces[0].createText('scale.txt', 'x'.repeat(10 * 1024), 'editor');
  const texts = await Promise.all(spaces.map((w) => w.text(file.id)));
  // Every peer counts the edits it has seen; an edit has arrived everywhere when all counts reach it.
  const seen = texts.map(() => 0);
  let check: () => void = () => {};
  texts.forEach((t, i) => t.observe((e) => {
    if (e.transaction.local) return;
    seen[i]++;
    check();
  }));
  const times: number[] = [];
  for (let k = 0; k < edits; k++) {
    const from = k % n;
    const target = seen.map((c, i) => (i === from ? c : c + 1));
    const everywhere = new Promise<void>((resolve) => (check = () => seen.every((c, i) => c >= target[i]) && resolve()));
    const t0 = performance.now();
    const t = texts[from];
    t.doc!.transact(() => t.insert(Math.floor(Math.random() * t.length), 'y'), 'editor');
    await everywhere;
    times.push(performance.now() - t0);
  }
  spaces.forEach((w) => w.close());
  await Promise.all(sessions.map((s) => s.leave()));
  times.sort((x, y) => x - y);
  rows.push({ name: `scale: edit latency with ${n} peers (full mesh), p50 until every peer has it`, value: percentile(times, 50), unit: 'ms', note: `${edits} edits` });
  rows.push({ name: `scale: ${n} peers, p95`, value: percentile(times, 95), unit: 'ms' });
}

/** 2. The automerge-paper trace at full speed on A, until B's text equals endContent. */
async function traceConvergence(net: TestNetwork): Promise<void> {
  const trace = loadTrace<SequentialTrace>('automerge-paper.json.gz');
  const edits = trace.txns.reduce((n, t) => n + t.patches.length, 0);
  const apply = (t: Y.Text) => {
    for (const txn of trace.txns) {
      t.doc!.transact(() => {
        for (const [pos, del, ins] of txn.patches) {
          if (del) t.delete(pos, del);
          if (ins) t.insert(pos, ins);
        }
      }, 'editor');
    }
  };
  // Reference: a bare Yjs document in one process.
  const refDoc = new Y.Doc();
  let t0 = performance.now();
  apply(refDoc.getText('t'));
  const refMs = performance.now() - t0;

  const { wa, wb, close } = await pairOfWorkspaces(net);
  const file = wa.createText('paper.tex', trace.startContent, 'editor');
  const ta = await wa.text(file.id);
  const tb = await wb.text(file.id);
  t0 = performance.now();
  apply(ta);
  await waitFor(() => tb.length === trace.endContent.length && tb.toString() === trace.endContent, 'convergence', 600_000);
  const ms = performance.now() - t0;
  await close();
  rows.push({ name: `trace convergence (automerge-paper, ${edits} edits)`, value: ms, unit: 'ms', reference: refMs, goal: '≤ 2× reference', met: ms <= 2 * refMs });
  rows.push({ name: 'trace throughput', value: Math.round(edits / (ms / 1000)), unit: 'edits/s', reference: Math.round(edits / (refMs / 1000)) });
}

function generateWorkspace(root: string, files: number, totalBytes: number): void {
  const per = Math.floor(totalBytes / files);
  for (let i = 0; i < files; i++) {
    const dir = path.join(root, `d${i % 10}`, `e${i % 7}`);
    fs.mkdirSync(dir, { recursive: true });
    if (i % 4 === 0) {
      const b = Buffer.alloc(per);
      for (let j = 0; j < per; j += 4) b.writeUInt32LE((i * 2654435761 + j) >>> 0, Math.min(j, per - 4));
      fs.writeFileSync(path.join(dir, `blob${i}.bin`), b);
    } else {
      const line = `line of file ${i} — some text to share\n`;
      fs.writeFileSync(path.join(dir, `file${i}.txt`), line.repeat(Math.max(1, Math.floor(per / Buffer.byteLength(line)))));
    }
  }
}

/**
 * 3. A generated workspace from share to the joiner's disk, byte for byte. Both peers are headless
 * peers in processes of their own (the shipped `dist/cli.js`), as on two machines: each has its own
 * heap and event loop. The time runs from the joiner's "Joining" line to its "Joined" line (the files
 * are on disk when it prints it), as this process receives them.
 */
async function join(net: TestNetwork, files: number, mb: number): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperpair-bench-'));
  const src = path.join(tmp, 'src');
  const dst = path.join(tmp, 'dst');
  generateWorkspace(src, files, mb * 1024 * 1024);
  const bytes = Object.values(readTree(src)).reduce((n, hex) => n + hex.length / 2, 0);
  const netArgs = ['--bootstrap', net.bootstrapSpec, '--host', '127.0.0.1', '--no-lan'];
  const prof = process.env.HYPERPAIR_BENCH_PROF;
  const nodeArgs = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [];
  const sharer = new CliPeer(CLI, ['share', src, '--name', 'sharer', '--max-file-size', '512', ...netArgs], nodeArgs);
  let joiner: CliPeer | undefined;
  try {
    await sharer.next('ready', 120_000);
    const code = (await sharer.next('code', 0)).e.code as string;
    joiner = new CliPeer(CLI, ['join', code, dst, '--name', 'joiner', ...netArgs], nodeArgs);
    const started = await joiner.next('joining', 60_000);
    const done = await joiner.next('joined', 600_000);
    // The first progress line comes when the joiner is connected and has the index (0 files yet).
    const connected = await joiner.next('progress', 0);
    const ms = done.at - started.at;
    const identical = JSON.stringify(readTree(src)) === JSON.stringify(readTree(dst));
    const mbps = bytes / 1024 / 1024 / ((done.at - connected.at) / 1000);
    rows.push({ name: `join: ${files} files, ${(bytes / 1024 / 1024).toFixed(1)} MB (from join, finding the sharer on the DHT included, to bytes on disk)`, value: ms, unit: 'ms', note: identical ? 'byte-identical' : 'NOT IDENTICAL' });
    rows.push({
      name: `join throughput (${files} files), from connected with the index to bytes on disk`,
      value: mbps,
      unit: 'MB/s',
      reference: streamMBps,
      goal: '≥ ½ reference',
      met: mbps >= streamMBps / 2,
      note: `connected after ${(connected.at - started.at).toFixed(0)} ms`,
    });
    // The disk's floor in the same run: this VM creates files 10–30× slower for minutes after mass
    // deletes (README, "Found about this machine"), which the bare stream never meets and the join does.
    const tarMBps = bytes / 1024 / 1024 / (tarCopyMs(dst, path.join(tmp, 'tar')) / 1000);
    rows.push({ name: `disk floor: \`tar | tar\` of the same ${files} files`, value: tarMBps, unit: 'MB/s', note: `join ÷ floor: ${(mbps / tarMBps).toFixed(2)}; bare stream ÷ floor: ${(streamMBps / tarMBps).toFixed(2)}` });
    for (const [who, peer] of [['sharer', sharer], ['joiner', joiner]] as const) {
      const rss = peer.peakRssMB();
      if (rss !== undefined) rows.push({ name: `peak RSS of the ${who} holding ${files} files, ${(bytes / 1024 / 1024).toFixed(0)} MB (its own process)`, value: rss, unit: 'MB' });
    }
  } finally {
    await Promise.all([joiner?.stop(), sharer.stop()]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

let streamMBps = 0;
/**
 * Reference for joins: one bare hyperswarm stream moving 64 MiB from another process (as the join's
 * sharer is), so that each end has its own event loop as in the join itself.
 */
async function streamThroughput(net: TestNetwork): Promise<void> {
  const total = (quick ? 16 : 64) * 1024 * 1024;
  const topic = crypto.randomBytes(32);
  const child = spawn(process.execPath, [path.join(__dirname, 'stream-child.js'), net.bootstrapSpec, topic.toString('hex'), String(total)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const swarm = new Hyperswarm({ dht: new HyperDHT({ bootstrap: net.network.bootstrap, host: '127.0.0.1', firewalled: false }) });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.on('exit', (code) => reject(new Error(`the stream sender exited (${code})`)));
    });
    const conn = await new Promise<Hyperswarm.SecretStream>((resolve) => {
      swarm.on('connection', (c: Hyperswarm.SecretStream) => (c.on('error', () => {}), resolve(c)));
      swarm.join(topic, { server: false, client: true });
    });
    let received = 0;
    const done = new Promise<void>((r) => conn.on('data', (d: Buffer) => (received += d.length) >= total && r()));
    const t0 = performance.now();
    conn.write(Buffer.from('g'));
    await done;
    const ms = performance.now() - t0;
    conn.destroy();
    streamMBps = total / 1024 / 1024 / (ms / 1000);
    rows.push({ name: `reference: one bare hyperswarm stream from another process (${total / 1024 / 1024} MiB)`, value: streamMBps, unit: 'MB/s' });
  } finally {
    await swarm.destroy();
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/cli.js');

function footprint(): void {
  rows.push({ name: 'peak RSS of this bench process (the in-process peers of the edit, trace and scale runs)', value: process.resourceUsage().maxRSS / 1024, unit: 'MB' });
  for (const f of ['dist/extension.js', 'dist/runtime.js', 'dist/cli.js', 'dist/cli-main.js']) {
    const p = path.join(ROOT, f);
    if (fs.existsSync(p)) rows.push({ name: `bundle size ${f}`, value: fs.statSync(p).size / 1024, unit: 'KB' });
  }
  for (const f of ['dist/extension.js', 'dist/runtime.js']) {
    const ms = moduleLoadMs(path.join(ROOT, f));
    if (ms !== undefined) {
      rows.push({ name: `module load time of ${f} (plain Node, 'vscode' stubbed; not activation in an editor)`, value: ms, unit: 'ms', note: 'median of 5 fresh processes' });
    }
  }
  vsixSize();
}

/**
 * How long `require` of a bundle takes in a fresh Node process: the part of activation that is ours
 * to shrink (VS Code's own work is not in it). 'vscode' is an empty stand-in, since only the
 * extension host has it; nothing is called, only loaded.
 */
function moduleLoadMs(file: string): number | undefined {
  if (!fs.existsSync(file)) return undefined;
  const script = `
    const Module = require('module');
    const load = Module._load;
    const stub = new Proxy(function () {}, { get: (t, k) => (k === '__esModule' ? false : stub), construct: () => stub, apply: () => stub });
    Module._load = function (request, ...rest) { return request === 'vscode' ? stub : load.call(this, request, ...rest); };
    const { performance } = require('perf_hooks');
    const t0 = performance.now();
    require(${JSON.stringify(file)});
    process.stdout.write(String(performance.now() - t0));`;
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    if (out.status !== 0) return undefined;
    runs.push(Number(out.stdout));
  }
  runs.sort((x, y) => x - y);
  return runs[2];
}

/** The VSIX for this machine's platform, built by `npm run package <target>` into dist-vsix/. */
function vsixSize(): void {
  const target = `${process.platform}-${process.arch}`;
  const out = spawnSync('npm', ['run', '--silent', 'package', '--', target], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  const dir = path.join(ROOT, 'dist-vsix');
  const file = fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => f.endsWith(`-${target}.vsix`)) : undefined;
  if (out.status !== 0 || !file) {
    const why = (out.stderr || out.stdout || '').trim().split('\n').pop() ?? '';
    rows.push({ name: `VSIX size, ${target}`, value: NaN, unit: 'KB', note: `not measured: npm run package ${target} failed (${why})` });
    return;
  }
  rows.push({ name: `VSIX size, ${target} (dist-vsix/${file})`, value: fs.statSync(path.join(dir, file)).size / 1024, unit: 'KB' });
}

/** 5. Opt-in (`--editor`): real keystrokes in one VS Code until they are in the other's buffer. */
async function editorKeystrokes(): Promise<void> {
  const { keystrokeLatency } = await import('./editor');
  const r = await keystrokeLatency(200, Number(process.env.HYPERPAIR_BENCH_KEY_INTERVAL_MS) || 100);
  const total = r.activation.map((t) => t.loadMs + t.activateMs).sort((x, y) => x - y);
  rows.push({
    name: 'activation time in the editor: from the bundle’s first line until activate() returns, in the extension host',
    value: total[total.length - 1],
    unit: 'ms',
    note: `the slower of ${total.length} editors; until activate() is called (VS Code prepares the extension's context meanwhile) + activate(): ${r.activation.map((t) => `${t.loadMs.toFixed(1)} + ${t.activateMs.toFixed(1)} ms`).join(', ')}`,
  });
  const sorted = [...r.latencies].sort((x, y) => x - y);
  const p50 = percentile(sorted, 50);
  const note = r.lost ? `${r.lost} of ${r.keys} keys never arrived` : `${r.keys} keystrokes, one per ${r.intervalMs} ms, two code-server editors`;
  rows.push({ name: 'keystroke in editor A until in editor B’s buffer, p50', value: p50, unit: 'ms', goal: '< 30 ms', met: p50 < 30 && r.lost === 0, note });
  rows.push({ name: 'keystroke A → B, p99', value: percentile(sorted, 99), unit: 'ms' });
  const local = [...r.local].sort((x, y) => x - y);
  rows.push({ name: 'of which: key sent until A’s extension host has it, p50', value: percentile(local, 50), unit: 'ms', note: 'browser → workbench → extension host, before Hyperpair' });
  if (r.shared.length) {
    const shared = [...r.shared].sort((x, y) => x - y);
    rows.push({ name: 'key sent until B’s shared text has it (before B’s editor applies it), p50', value: percentile(shared, 50), unit: 'ms', note: 'adds Hyperpair in A, the network, Hyperpair in B' });
  }
}

/** 30 peers, each its own process: edit latency to all, a newcomer, churn with an exact oracle. */
async function crowdRows(net: TestNetwork): Promise<void> {
  const peers = 30;
  const r = await crowd({
    bootstrapSpec: net.bootstrapSpec,
    peers,
    edits: quick ? 60 : 200,
    editIntervalMs: 100,
    churnMs: quick ? 15_000 : 40_000,
    churnEveryMs: 3_000,
    churnEditEveryMs: 100,
    spawnEveryMs: 2_000,
    meshTimeoutMs: 300_000,
    log: (line) => console.error(`crowd: ${line}`),
  });
  const [p50, p99] = [percentile(r.latencies, 50), percentile(r.latencies, 99)];
  const note = `${peers} processes, ${r.latencies.length} deliveries; ${r.mesh}`;
  rows.push({ name: `crowd: an edit until another peer has it, p50`, value: p50, unit: 'ms', goal: '< 50 ms', met: p50 < 50, note });
  rows.push({ name: 'crowd: an edit until another peer has it, p99', value: p99, unit: 'ms', goal: '< 250 ms', met: p99 < 250 });
  rows.push({ name: 'crowd: an edit until every other peer has it, p50', value: percentile(r.reachAll, 50), unit: 'ms' });
  rows.push({ name: `crowd: a newcomer joining a session of ${peers - 1}, process start to complete`, value: r.newcomerMs, unit: 'ms', goal: '< 5000 ms', met: r.newcomerMs < 5000 });
  rows.push({
    name: `crowd: churn (${r.leaves} left, ${r.joins} joined while all edited; ${r.tokens} edits), edits lost`,
    value: r.lost,
    unit: 'edits',
    goal: '0 and identical texts',
    met: r.lost === 0 && r.identical,
    note: `${r.survivors} survivors, texts ${r.identical ? 'identical' : 'NOT IDENTICAL'}`,
  });
}

/**
 * 8 headless peers in this process, real folders: a file written on one disk until on every other.
 * Twice: with LAN discovery (on one machine the peers also find each other's loopback address, the
 * fast path) and over the DHT path alone, as between machines that are not on one network.
 */
async function newFileRows(net: TestNetwork): Promise<void> {
  for (const lan of [true, false]) {
    const running: RunningPeer[] = [];
    const path = lan ? '' : ', DHT path only (no LAN)';
    try {
      const r = await newFileToEveryDisk({
        start: async (options) => {
          const p = await startPeer({ ...options, network: net.network, lan });
          running.push(p);
          return p;
        },
        peers: 8,
        rounds: quick ? 3 : 10,
        filesPerRound: 3,
        binariesPerRound: 1,
        meshTimeoutMs: 120_000,
        arrivalTimeoutMs: 30_000,
        log: (line) => console.error(`new-file${lan ? '' : ' (no LAN)'}: ${line}`),
      });
      const arrivals = [...r.arrivals].sort((a, b) => a - b);
      const everyDisk = [...r.everyDisk].sort((a, b) => a - b);
      const max = everyDisk[everyDisk.length - 1] ?? NaN;
      const whole = r.missing.length === 0 && r.askedFor.length === 0;
      const binaries = [...r.binaryEveryDisk].sort((a, b) => a - b);
      const note = `${r.files} files (${binaries.length} binary); ${r.missing.length} missing, ${r.askedFor.length} texts asked for instead of sent`;
      rows.push({ name: `new file${path}: written on one disk of 8 peers until on every other disk, p50`, value: percentile(everyDisk, 50), unit: 'ms', goal: '< 1000 ms', met: whole && percentile(everyDisk, 50) < 1000, note });
      rows.push({ name: `new file${path}: written on one disk of 8 peers until on every other disk, p99 (max)`, value: percentile(everyDisk, 99), unit: 'ms', goal: 'every one < 1000 ms', met: whole && max < 1000, note: `max ${max.toFixed(0)} ms` });
      rows.push({ name: `new file${path}: a binary of them, until on every other disk, p50 / max`, value: percentile(binaries, 50), unit: 'ms', note: `max ${(binaries[binaries.length - 1] ?? NaN).toFixed(0)} ms` });
      rows.push({ name: `new file${path}: until on one other disk, p50`, value: percentile(arrivals, 50), unit: 'ms' });
      rows.push({ name: `new file${path}: of which until the creator's own session has it (its watcher and read), p50`, value: percentile([...r.noticed].sort((a, b) => a - b), 50), unit: 'ms' });
    } finally {
      await Promise.all(running.map((p) => p.close()));
    }
  }
}

function fmt(n: number | undefined): string {
  if (n === undefined) return '';
  if (Number.isNaN(n)) return '—';
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(3);
}

/** The buffer binding's cost per keystroke, by file size: it should not grow with the file. */
async function bindingCost(): Promise<void> {
  const { bindingKeystrokeCost } = await import('./binding');
  for (const [bytes, label] of [[4 * 1024, '4 KB'], [1024 * 1024, '1 MB'], [4 * 1024 * 1024, '4 MB']] as const) {
    const r = await bindingKeystrokeCost(bytes, quick ? 100 : 400);
    rows.push({ name: `binding cost per keystroke typed here, ${label} file, p50`, value: r.localMs, unit: 'ms', goal: '< 0.1 ms at any size', met: r.localMs < 0.1 });
    rows.push({ name: `binding cost per keystroke from a peer until in the buffer, ${label} file, p50`, value: r.remoteMs, unit: 'ms', goal: '< 0.5 ms at any size', met: r.remoteMs < 0.5 });
  }
}

async function main(): Promise<void> {
  if (wanted('binding')) await bindingCost();
  const net = await createTestNetwork();
  try {
    if (wanted('join') || wanted('join-small')) await streamThroughput(net);
    if (wanted('edit')) await editLatency(net);
    if (wanted('trace')) await traceConvergence(net);
    if (wanted('join')) await join(net, 1000, quick ? 10 : 50);
    if (wanted('join-small')) await join(net, quick ? 2000 : 10_000, quick ? 2 : 10);
    // `--repo-files=N`: one repository of N files instead (a quick look, e.g. at bytes on the wire).
    const repoFiles = process.argv.find((a) => a.startsWith('--repo-files='))?.slice('--repo-files='.length);
    const repoSizes = repoFiles ? [Number(repoFiles)] : [10_000, 30_000, ...(process.argv.includes('--huge') ? [100_000] : [])];
    if (wanted('repo')) for (const n of repoSizes) await repoRows(net, CLI, n, streamMBps, rows);
    if (wanted('scale')) for (const n of [2, 4, 8]) await scale(net, n);
    if (wanted('crowd')) await crowdRows(net);
    if (wanted('new-file')) await newFileRows(net);
    if (wanted('tunnel')) rows.push(...(await tunnelBench(net, bareConnection, quick)));
    if (wanted('terminal')) rows.push(...(await terminalBench(net, quick)));
    if (wanted('voice')) rows.push(...(await voiceBench(net, quick)));
    if (wanted('footprint')) footprint();
    if (process.argv.includes('--editor')) await editorKeystrokes();
  } finally {
    await net.destroy();
  }
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}`;
  console.log(`\nHyperpair benchmarks — ${new Date().toISOString()} — ${machine}\n`);
  console.log('| measure | value | unit | reference | goal | met |');
  console.log('|---|---:|---|---:|---|---|');
  for (const r of rows) {
    console.log(`| ${r.name}${r.note ? ` (${r.note})` : ''} | ${fmt(r.value)} | ${r.unit} | ${fmt(r.reference)} | ${r.goal ?? ''} | ${r.met === undefined ? '' : r.met ? 'yes' : '**no**'} |`);
  }
  const out = path.resolve(__dirname, '../../bench/results.json');
  fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), machine, quick, rows }, null, 2) + '\n');
  console.log(`\nwritten to ${path.relative(process.cwd(), out)}`);
}

void main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
