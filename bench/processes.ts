/**
 * Peers as separate processes, as real peers are: the headless peer (`dist/cli.js`, the shipped
 * bundle) driven through its `--json` lines, and its peak memory read from the kernel. Used by the
 * join benchmark, where two peers in one heap would share one event loop and one garbage collector.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface CliEvent {
  event: string;
  [key: string]: unknown;
}

export class CliPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly seen: Array<{ at: number; e: CliEvent }> = [];
  private readonly waiters = new Set<() => void>();
  private stderr = '';
  private readonly exited: Promise<number | null>;

  /** `nodeArgs`: flags for node itself (e.g. `--require` a probe, `--cpu-prof`). */
  constructor(cli: string, args: string[], nodeArgs: string[] = []) {
    this.child = spawn(process.execPath, [...nodeArgs, cli, ...args, '--json'], { stdio: 'pipe' });
    let partial = '';
    this.child.stdout.on('data', (d: Buffer) => {
      const at = performance.now();
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.seen.push({ at, e: JSON.parse(line) as CliEvent });
      for (const w of this.waiters) w();
    });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => (resolve(code), this.waiters.forEach((w) => w()))));
  }

  /** The first `event` line and when (performance.now() of this process) it arrived. */
  async next(event: string, timeoutMs: number): Promise<{ at: number; e: CliEvent }> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const hit = this.seen.find((s) => s.e.event === event);
      if (hit) return hit;
      if (this.child.exitCode !== null) throw new Error(`the headless peer exited (${this.child.exitCode}) before "${event}": ${this.stderr.trim()}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for "${event}" from the headless peer`);
      await new Promise<void>((resolve) => {
        const wake = () => (this.waiters.delete(wake), clearTimeout(timer), resolve());
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  /** How many `event` lines arrived so far. */
  count(event: string): number {
    return this.seen.filter((s) => s.e.event === event).length;
  }

  /** The last `event` line so far, if any. */
  latest(event: string): { at: number; e: CliEvent } | undefined {
    for (let i = this.seen.length - 1; i >= 0; i--) if (this.seen[i].e.event === event) return this.seen[i];
    return undefined;
  }

  /** Resolves with the first `event` line that arrived after `at` (performance.now() of this process). */
  async nextAfter(event: string, at: number, timeoutMs: number): Promise<{ at: number; e: CliEvent }> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const hit = this.seen.find((s) => s.e.event === event && s.at > at);
      if (hit) return hit;
      if (performance.now() > deadline) throw new Error(`timed out waiting for "${event}" from the headless peer`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Peak resident memory of the process so far (Linux: VmHWM), or undefined where unknown. */
  peakRssMB(): number | undefined {
    try {
      const status = fs.readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
      return kb === undefined ? undefined : Number(kb) / 1024;
    } catch {
      return undefined;
    }
  }

  /**
   * Has the peer write a V8 heap snapshot (it must run with `--heapsnapshot-signal=SIGUSR2`, see
   * HYPERPAIR_BENCH_HEAP in repo.ts) and waits until it has: the snapshot stops the process, so the
   * next probe line after the signal comes once it is written.
   */
  async heapSnapshot(timeoutMs: number): Promise<void> {
    const at = performance.now();
    this.child.kill('SIGUSR2');
    await this.nextAfter('probe', at, timeoutMs);
  }

  /** SIGINT (the peer's clean exit), then SIGKILL if it has not exited within 10 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}
