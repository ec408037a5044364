/**
 * Loaded into a headless peer process by the bench (`node --require out/bench/peer-probe.js dist/cli.js
 * … --json`): measures, inside that process, how long its event loop stalls (perf_hooks'
 * monitorEventLoopDelay) and how many UDP bytes it sent and received (udx-native's per-socket
 * counters: every hyperswarm stream and the DHT ride on those sockets), and the peaks of
 * process.memoryUsage() sampled every 50 ms (which part of the memory makes the peak RSS). Prints a `probe` JSON line
 * every HYPERPAIR_PROBE_MS (default 250) with totals since the process started. Nothing of the peer
 * changes; a bench-only instrument.
 */
import * as fs from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

interface UdxSocket {
  bytesReceived: number;
  bytesTransmitted: number;
  once(event: 'close', fn: () => void): void;
}
interface UdxClass {
  prototype: { createSocket(...args: unknown[]): UdxSocket };
}

const sockets = new Set<UdxSocket>();
let closedRx = 0;
let closedTx = 0;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const UDX = require('udx-native') as UdxClass;
const createSocket = UDX.prototype.createSocket;
UDX.prototype.createSocket = function (this: unknown, ...args: unknown[]): UdxSocket {
  const socket = createSocket.apply(this, args);
  sockets.add(socket);
  socket.once('close', () => {
    closedRx += socket.bytesReceived;
    closedTx += socket.bytesTransmitted;
    sockets.delete(socket);
  });
  return socket;
};

const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
const ms = (ns: number) => Math.round(ns / 1e4) / 100;
const mb = (bytes: number) => Math.round(bytes / 1048576);
/** The largest of each of process.memoryUsage()'s figures so far (MB): what makes up the peak RSS. */
const peak = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
const sampleMemory = () => {
  const m = process.memoryUsage();
  for (const k of Object.keys(peak) as Array<keyof typeof peak>) peak[k] = Math.max(peak[k], mb(m[k]));
};
const sampler = setInterval(sampleMemory, 50);
sampler.unref();
const timer = setInterval(() => {
  let rx = closedRx;
  let tx = closedTx;
  for (const s of sockets) {
    rx += s.bytesReceived;
    tx += s.bytesTransmitted;
  }
  process.stdout.write(JSON.stringify({ event: 'probe', loopP99Ms: ms(loop.percentile(99)), loopMaxMs: ms(loop.max), ownStallMaxMs: ownStallMaxMs === undefined ? undefined : Math.round(ownStallMaxMs), udpRxBytes: rx, udpTxBytes: tx, peakMB: peak }) + '\n');
}, Number(process.env.HYPERPAIR_PROBE_MS ?? 250));
timer.unref();
/**
 * The main thread's time on a CPU and waiting for one (ns), from Linux's schedstat: a stall that the
 * process spent waiting for a CPU (other processes on the same cores: the bench runs four peers and
 * their gits on two) is told apart from one it spent running, or blocked in its own calls.
 */
const SCHEDSTAT = `/proc/${process.pid}/task/${process.pid}/schedstat`;
function schedstat(): { run: number; wait: number } | undefined {
  try {
    const [run, wait] = fs.readFileSync(SCHEDSTAT, 'utf8').split(' ').map(Number);
    return { run, wait };
  } catch {
    return undefined; // not Linux
  }
}
/** The longest stall less the time it waited for a CPU (ms), where schedstat can be read. */
let ownStallMaxMs: number | undefined;
// HYPERPAIR_STALL_LOG=<file>: each stall over 40 ms (the goal is 50), with when it began (seconds
// since this module loaded, close to --cpu-prof's start), to find in a profile what ran then, and how
// much of it the main thread ran and waited for a CPU.
const stallLog = process.env.HYPERPAIR_STALL_LOG;
{
  const t0 = performance.now();
  let last = t0;
  let lastSched = schedstat();
  const stallTimer = setInterval(() => {
    const now = performance.now();
    const sched = schedstat();
    const stalled = now - last - 10;
    if (sched && lastSched) {
      const waited = (sched.wait - lastSched.wait) / 1e6;
      ownStallMaxMs = Math.max(ownStallMaxMs ?? 0, stalled - waited);
      if (stallLog && stalled > 40) {
        // The monotonic clock in µs is the clock of a --cpu-prof profile's timestamps (startTime, and
        // timeDeltas added to it), so a stall can be found there exactly.
        const began = process.hrtime.bigint() / 1000n - BigInt(Math.round((now - last) * 1000));
        const ran = (sched.run - lastSched.run) / 1e6;
        fs.appendFileSync(stallLog, `${process.pid} at ${((last - t0) / 1000).toFixed(2)}s stalled ${stalled.toFixed(0)}ms (monotonic ${began} µs) ran ${ran.toFixed(0)}ms waited for a CPU ${waited.toFixed(0)}ms\n`);
      }
    }
    last = now;
    lastSched = sched;
  }, 10);
  stallTimer.unref();
}

// HYPERPAIR_ALLOC_DIR=<dir>: V8's sampling heap profiler, keeping objects already collected, so the
// profile says where the process allocated (garbage included), not only what is still live; written
// to <dir>/alloc-<pid>.heapprofile every 2 s (the peer is killed at the end, not asked to exit).
const allocDir = process.env.HYPERPAIR_ALLOC_DIR;
if (allocDir) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const inspector = require('node:inspector') as typeof import('node:inspector');
  const session = new inspector.Session();
  session.connect();
  const params = { samplingInterval: 64 * 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true };
  session.post('HeapProfiler.startSampling', params as unknown as object);
  const file = `${allocDir}/alloc-${process.pid}.heapprofile`;
  const writer = setInterval(() => {
    session.post('HeapProfiler.getSamplingProfile', (err, res) => {
      if (!err) fs.writeFileSync(file, JSON.stringify(res.profile));
    });
  }, 2000);
  writer.unref();
}

// HYPERPAIR_GC_LOG=<dir>: after every major garbage collection, the heap then (live data, as near as
// can be told from outside V8) and the largest used so far, to <dir>/gc-<pid>.log: whether a peak is
// what the peer holds or garbage it has not collected yet.
const gcDir = process.env.HYPERPAIR_GC_LOG;
if (gcDir) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PerformanceObserver, constants } = require('node:perf_hooks') as typeof import('node:perf_hooks');
  const t0 = performance.now();
  const file = `${gcDir}/gc-${process.pid}.log`;
  let snapshotExt = Number(process.env.HYPERPAIR_GC_SNAPSHOT_EXT ?? 0);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = ((e as unknown as { detail?: { kind?: number } }).detail)?.kind;
      if (kind !== constants.NODE_PERFORMANCE_GC_MAJOR) {
        // Any other pause long enough to matter in a stall (scavenges, incremental steps), and when.
        if (e.duration >= 5) fs.appendFileSync(file, `${((e.startTime - t0) / 1000).toFixed(2)}s ${kind === constants.NODE_PERFORMANCE_GC_MINOR ? 'minor' : `kind ${kind}`} ${e.duration.toFixed(0)}ms\n`);
        continue;
      }
      const m = process.memoryUsage();
      fs.appendFileSync(file, `${((e.startTime - t0) / 1000).toFixed(2)}s major ${e.duration.toFixed(0)}ms: used after ${mb(m.heapUsed)} total ${mb(m.heapTotal)} ext ${mb(m.external)} rss ${mb(m.rss)}; peak used so far ${peak.heapUsed} rss ${peak.rss}\n`);
      // HYPERPAIR_GC_SNAPSHOT_EXT=<MB>: once, a heap snapshot when a collection leaves that much
      // external memory live (what holds file bytes in the middle of a share or a join).
      if (snapshotExt && mb(m.external) >= snapshotExt) {
        snapshotExt = 0;
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        setImmediate(() => (require('node:v8') as typeof import('node:v8')).writeHeapSnapshot(`${gcDir}/ext-${process.pid}.heapsnapshot`));
      }
    }
  }).observe({ entryTypes: ['gc'] });
}
