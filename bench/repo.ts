/**
 * `--only=repo`: generated trees shaped like a source repository (nested packages, mostly small
 * texts, some binaries, a .gitignore with ignored build output and installed dependencies, a tracked
 * fixture under node_modules/, symbolic links in and out of the tree), committed in a real git
 * repository. Both peers are headless peers in processes of their own with the bench's probe inside
 * (peer-probe.ts: event-loop stalls, UDP bytes). Measures: time until `share` prints the code, time
 * to join into an empty folder, the same tree copied with `tar | tar`, peak RSS of each peer, event
 * loop p99/max in each, and a join into a clone of the repository that differs in three files
 * (time, UDP bytes received, conflict copies). 100,000 files only with `--huge`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { TestNetwork } from '../test/helpers/testnet';
import { CliPeer, type CliEvent } from './processes';
import type { Row } from './row';

const PROBE = path.resolve(__dirname, 'peer-probe.js');
/** `HYPERPAIR_BENCH_HEAP=<dir>`: each peer writes a V8 heap snapshot there once every join is done. */
const HEAP_DIR = process.env.HYPERPAIR_BENCH_HEAP;
const HEAP_PEAK = HEAP_DIR ? process.env.HYPERPAIR_BENCH_HEAP_PEAK : undefined;
const GIT = ['-c', 'user.name=bench', '-c', 'user.email=bench@example.org', '-c', 'init.defaultBranch=main', '-c', 'gc.auto=0'];

/** A deterministic pseudo-random sequence (xorshift32), so that every run builds the same tree. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

const WORDS = ['const', 'return', 'export', 'function', 'import', 'value', 'result', 'if', 'await', 'string', 'number', 'map', 'list', 'item', 'index'];

/** Writes `files` shared files under root (plus ignored output and dependencies), commits them. */
export function generateRepo(root: string, files: number): { bytes: number } {
  const r = rng(files);
  let bytes = 0;
  const write = (rel: string, data: string | Buffer) => {
    const abs = path.join(root, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, data);
  };
  write('.gitignore', 'node_modules/\ndist/\n*.log\n');
  write('package.json', '{ "name": "bench-repo", "private": true }\n');
  const packages = Math.max(4, Math.round(files / 2000));
  for (let i = 0; i < files - 2; i++) {
    // packages/p3/src/d1/d4/f123.ts: 3–5 levels, ~20 files per folder
    const folder = Math.floor(i / 20);
    const dir = `packages/p${folder % packages}/src/d${Math.floor(folder / packages) % 10}/e${folder % 7}`;
    if (i % 33 === 5) {
      const b = Buffer.alloc(4096 + Math.floor(r() * 60_000));
      for (let j = 0; j + 4 <= b.length; j += 4) b.writeUInt32LE(Math.floor(r() * 0xffffffff), j);
      write(`${dir}/img${i}.png`, b);
      bytes += b.length;
    } else {
      // Mostly small: median ~1.5 KB, a tail to ~20 KB (average ~3 KB, like the issue's repositories).
      const target = Math.floor(300 + 2500 * -Math.log(1 - r() * 0.999));
      const lines: string[] = [];
      let n = 0;
      while (n < target) {
        const line = Array.from({ length: 3 + Math.floor(r() * 8) }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ') + `; // ${i}\n`;
        lines.push(line);
        n += line.length;
      }
      const text = lines.join('');
      write(`${dir}/f${i}.${i % 5 === 0 ? 'md' : 'ts'}`, text);
      bytes += Buffer.byteLength(text);
    }
  }
  // Ignored: build output and installed dependencies (not shared); a tracked fixture under node_modules.
  for (let i = 0; i < 200; i++) write(`dist/chunk${i}.js`, `// built ${i}\n`.repeat(50));
  for (let i = 0; i < 300; i++) write(`node_modules/dep${i % 30}/lib/m${i}.js`, `module.exports = ${i};\n`);
  write('packages/p0/test/node_modules/fixture/index.js', 'module.exports = "fixture";\n');
  execFileSync('git', [...GIT, 'init', '-q'], { cwd: root });
  execFileSync('git', [...GIT, 'add', '-A'], { cwd: root });
  execFileSync('git', [...GIT, 'add', '-f', 'packages/p0/test/node_modules/fixture/index.js'], { cwd: root });
  // Links: inside the tree (relative, shared as links) and one leaving it (reported, not shared).
  for (let p = 0; p < packages; p++) fs.symlinkSync(`../p${(p + 1) % packages}/src`, path.join(root, `packages/p${p}/linked-src`));
  fs.symlinkSync('../../outside', path.join(root, 'packages/escape'));
  execFileSync('git', [...GIT, 'add', '-A'], { cwd: root });
  execFileSync('git', [...GIT, 'commit', '-q', '-m', 'generated'], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
  return { bytes };
}

/** Wall time of `tar -c | tar -x` of the same files (the floor of writing them, no network). */
export function tarCopyMs(src: string, dst: string): number {
  fs.mkdirSync(dst, { recursive: true });
  const t0 = performance.now();
  const r = spawnSync('sh', ['-c', `tar -C "$1" --exclude=./.git -cf - . | tar -C "$2" -xf -`, 'tar', src, dst]);
  if (r.status !== 0) throw new Error(`tar | tar failed: ${r.stderr.toString()}`);
  return performance.now() - t0;
}

const probeOf = (peer: CliPeer): CliEvent | undefined => peer.latest('probe')?.e;
const num = (e: CliEvent | undefined, k: string): number => (typeof e?.[k] === 'number' ? (e[k] as number) : NaN);

/** Three files of the sharer differ from the clone (uncommitted edits), and one of the clone's own. */
function divergeClone(src: string, clone: string): void {
  const edit = (root: string, rel: string, add: string) => fs.appendFileSync(path.join(root, rel), add);
  const texts = execFileSync('git', ['ls-files', '*.ts'], { cwd: src, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\n').filter(Boolean);
  edit(src, texts[1], '// the sharer edited this\n');
  edit(src, texts[Math.floor(texts.length / 2)], '// and this\n');
  edit(src, texts[texts.length - 1], '// and this\n');
  edit(clone, texts[7], '// the joiner\'s own uncommitted change\n');
}

/**
 * The stall row's note: which column is the max, and the longest stall less the time its process
 * waited for a CPU (peer-probe.ts, Linux): the peers and their gits share the machine's cores here,
 * where on two machines they would not.
 */
function stallNote(probe: CliEvent | undefined): string {
  const own = probe?.ownStallMaxMs;
  return `reference column = max${typeof own === 'number' ? `; the longest stall less the time it waited for a CPU: ${own} ms` : ''}`;
}

export async function repoRows(net: TestNetwork, cli: string, files: number, streamMBps: number, table: Row[]): Promise<void> {
  // Printed as they come too: a 30,000-file run takes minutes on a shared machine.
  const rows = { push: (r: Row) => (table.push(r), console.error(`repo: ${r.name}: ${r.value} ${r.unit}${r.reference === undefined ? '' : ` (reference ${r.reference})`}${r.note ? ` — ${r.note}` : ''}`)) };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperpair-bench-repo-'));
  const src = path.join(tmp, 'src');
  const clone = path.join(tmp, 'clone');
  const dst = path.join(tmp, 'dst');
  const label = `repo ${files.toLocaleString('en')} files`;
  const t0 = performance.now();
  const { bytes } = generateRepo(src, files);
  execFileSync('git', [...GIT, 'clone', '-q', src, clone], { cwd: tmp });
  divergeClone(src, clone);
  const genMs = performance.now() - t0;
  const netArgs = ['--bootstrap', net.bootstrapSpec, '--host', '127.0.0.1', '--no-lan'];
  // HYPERPAIR_BENCH_NODE_ARGS: more flags for node in every peer (space-separated), to compare V8 settings.
  const nodeArgs = [...(process.env.HYPERPAIR_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--require', PROBE, ...(process.env.HYPERPAIR_BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.HYPERPAIR_BENCH_PROF}`] : []), ...(HEAP_DIR ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${HEAP_DIR}`] : [])];
  // The bundle's code cache (src/cli/code-cache.ts), as any earlier start of this build makes it:
  // the peers below measure a usual start, not the first one after a build.
  execFileSync(process.execPath, [...(process.env.HYPERPAIR_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), cli, 'help'], { stdio: 'ignore' });
  // The peers' state (sync records, the scan cache) in the bench's folder, not the user's.
  const stateBefore = process.env.HYPERPAIR_STATE_DIR;
  process.env.HYPERPAIR_STATE_DIR = path.join(tmp, 'state');
  const started = performance.now();
  const sharer = new CliPeer(cli, ['share', src, '--name', 'sharer', '--max-file-size', '512', ...netArgs], nodeArgs);
  const peers: CliPeer[] = [sharer];
  try {
    const code = await sharer.next('code', 600_000);
    // The joiner starts as soon as there is a code: it joins while the sharer still reads its folder.
    const joiner = new CliPeer(cli, ['join', code.e.code as string, dst, '--name', 'joiner', ...netArgs], nodeArgs);
    peers.push(joiner);
    const sharing = await sharer.next('sharing', 600_000);
    // The "left out" lines follow "sharing": counted once the sharer says it is ready (counted at
    // "sharing", the one link that leaves the tree was there in some runs and not in others).
    await sharer.next('ready', 60_000);
    const skipped = sharer.count('skipped');
    const what = `${sharing.e.files} files, ${(Number(sharing.e.bytes) / 1024 / 1024).toFixed(1)} MB shared; ${skipped} left out with a reason`;
    rows.push({
      name: `${label}: \`share\` until the code is printed (${what})`,
      value: code.at - started,
      unit: 'ms',
      goal: '≈ 1 s',
      met: code.at - started <= 1500,
      note: `tree generated and committed in ${(genMs / 1000).toFixed(1)} s`,
    });
    rows.push({ name: `${label}: \`share\` until the whole folder is in the session (a joiner joining meanwhile)`, value: sharing.at - started, unit: 'ms' });
    const joining = await joiner.next('joining', 60_000);
    const joined = await joiner.next('joined', 1_200_000);
    const connected = await joiner.next('progress', 0);
    const joinedProbe = (await joiner.nextAfter('probe', joined.at, 5000)).e;
    const tarMs = tarCopyMs(dst, path.join(tmp, 'tar'));
    const ms = joined.at - joining.at;
    rows.push({ name: `${label}: join into an empty folder, until every file is on disk`, value: ms, unit: 'ms', reference: tarMs, goal: '≤ 3× tar | tar (reference)', met: ms <= 3 * tarMs, note: `connected with the index after ${(connected.at - joining.at).toFixed(0)} ms` });
    const mbps = bytes / 1024 / 1024 / ((joined.at - connected.at) / 1000);
    rows.push({ name: `${label}: join throughput from connected to on disk`, value: mbps, unit: 'MB/s', reference: streamMBps || undefined, goal: '≥ ½ bare stream', met: streamMBps ? mbps >= streamMBps / 2 : undefined });
    rows.push({ name: `${label}: UDP bytes received by that joiner (whole tree; DHT traffic included)`, value: num(joinedProbe, 'udpRxBytes') / 1024 / 1024, unit: 'MB', note: `${(bytes / 1024 / 1024).toFixed(1)} MB of file content` });

    // Into a clone of the repository that differs in three files (the sharer's uncommitted edits)
    // and holds one uncommitted change of the joiner's own.
    // HYPERPAIR_BENCH_HEAP_PEAK=<MB> (with HYPERPAIR_BENCH_HEAP): instead of the snapshots at the end,
    // the clone joiner's old space is capped there and snapshotted as it nears the cap, to see what
    // its peak holds (it may then run out of memory: a diagnostic run).
    const peakCap = HEAP_PEAK ? [`--max-old-space-size=${HEAP_PEAK}`, '--heapsnapshot-near-heap-limit=1'] : [];
    const cloner = new CliPeer(cli, ['join', code.e.code as string, clone, '--name', 'cloner', '--force', ...netArgs], [...nodeArgs, ...peakCap]);
    peers.push(cloner);
    const cJoining = await cloner.next('joining', 60_000);
    const cJoined = await cloner.next('joined', 1_200_000);
    const cProbe = (await cloner.nextAfter('probe', cJoined.at, 5000)).e;
    const conflictCopies = listConflicts(clone);
    rows.push({
      name: `${label}: join into a clone differing in 3 files (+1 uncommitted change of the joiner's), until on disk`,
      value: cJoined.at - cJoining.at,
      unit: 'ms',
      goal: 'a few seconds',
      note: `${conflictCopies.length} conflict cop${conflictCopies.length === 1 ? 'y' : 'ies'}: ${conflictCopies.slice(0, 3).join(', ')}`,
    });
    const rx = num(cProbe, 'udpRxBytes') / 1024 / 1024;
    rows.push({ name: `${label}: UDP bytes received joining into that clone`, value: rx, unit: 'MB', goal: '< 1 MB', met: rx < 1, note: 'no text travels (protocol 3), nor the index bases the clone rebuilds (protocol 4): what differs, awareness and DHT traffic; see README' });

    const peaks = [sharer, joiner, cloner].map((peer) => peer.peakRssMB() ?? NaN);
    const probes = [sharer, joiner, cloner].map(probeOf);
    // Heap snapshots after the peaks and stalls are read (writing one takes about the heap's size
    // again, and stops the process meanwhile).
    if (HEAP_DIR && !HEAP_PEAK) for (const peer of [sharer, joiner, cloner]) await peer.heapSnapshot(600_000);
    for (const [i, who] of (['sharer', 'joiner', 'clone joiner'] as const).entries()) {
      const p = probes[i];
      const m = p?.peakMB as Record<string, number> | undefined;
      const parts = m ? `peaks sampled every 50 ms: rss ${m.rss}, V8 heap total ${m.heapTotal} (used ${m.heapUsed}), external ${m.external} (array buffers ${m.arrayBuffers}) MB` : undefined;
      rows.push({ name: `${label}: ${who}: peak RSS`, value: peaks[i], unit: 'MB', goal: files <= 30_000 ? '< 200 MB' : '< 400 MB', met: peaks[i] < (files <= 30_000 ? 200 : 400), note: parts });
      rows.push({ name: `${label}: ${who}: event-loop stall p99 / max`, value: num(p, 'loopP99Ms'), unit: 'ms', reference: num(p, 'loopMaxMs'), goal: 'max ≤ 50 ms', met: num(p, 'loopMaxMs') <= 50, note: stallNote(p) });
    }
    await restartRows(cli, src, label, netArgs, nodeArgs, sharer, rows);
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
    if (stateBefore === undefined) delete process.env.HYPERPAIR_STATE_DIR;
    else process.env.HYPERPAIR_STATE_DIR = stateBefore;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The same folder shared again (the scan cache of the first start is there): until code, until all in. */
async function restartRows(cli: string, src: string, label: string, netArgs: string[], nodeArgs: string[], first: CliPeer, rows: { push(r: Row): void }): Promise<void> {
  await first.stop();
  const started = performance.now();
  const again = new CliPeer(cli, ['share', src, '--name', 'sharer', '--max-file-size', '512', ...netArgs], nodeArgs);
  try {
    const code = await again.next('code', 600_000);
    const sharing = await again.next('sharing', 600_000);
    const probe = (await again.nextAfter('probe', sharing.at, 5000)).e;
    rows.push({ name: `${label}: second \`share\` of the same folder (scan cache): until the code is printed`, value: code.at - started, unit: 'ms', goal: '≈ 1 s', met: code.at - started <= 1500 });
    rows.push({ name: `${label}: second \`share\`: until the whole folder is in the session`, value: sharing.at - started, unit: 'ms' });
    rows.push({ name: `${label}: second \`share\`: peak RSS`, value: again.peakRssMB() ?? NaN, unit: 'MB' });
    rows.push({ name: `${label}: second \`share\`: event-loop stall p99 / max`, value: num(probe, 'loopP99Ms'), unit: 'ms', reference: num(probe, 'loopMaxMs'), goal: 'max ≤ 50 ms', met: num(probe, 'loopMaxMs') <= 50, note: stallNote(probe) });
  } finally {
    await again.stop();
  }
}

function listConflicts(root: string): string[] {
  const out = execFileSync('git', ['ls-files', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return out.split('\n').filter((p) => p.includes('(conflict'));
}
