/**
 * Headless peers as real processes for the fault-injection suite: the shipped bundle (`dist/cli.js`)
 * driven through its `--json` lines, killed with SIGKILL or stopped with SIGINT, and restarted into the
 * same folder with the same session code.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import { waitFor } from '../helpers/testnet';

export const CLI = path.resolve(__dirname, '../../../dist/cli.js');

/**
 * What a peer passes to join into a folder that already holds the session's files (a restart after a
 * crash). Nothing: a folder synced with this session before is rejoined and its offline edits merged
 * (docs/PROTOCOL.md §6.6); HYPERPAIR_CHAOS_RESTART_FLAGS=--force tries the other route.
 */
export const RESTART_FLAGS: readonly string[] = process.env.HYPERPAIR_CHAOS_RESTART_FLAGS !== undefined
  ? process.env.HYPERPAIR_CHAOS_RESTART_FLAGS.split(' ').filter(Boolean)
  : [];

export interface CliEvent {
  event: string;
  [key: string]: unknown;
}

/** How a peer process reaches the DHT, and what it runs under (e.g. `ip netns exec <ns>`). */
export interface PeerNet {
  bootstrap: string;
  host: string;
  /** A command prefix, e.g. ['ip', 'netns', 'exec', 'ns1']. */
  wrap?: string[];
}

/** One peer: a name and a folder that outlive its processes (it can be killed and restarted). */
export class ChaosPeer {
  /** Every JSON line of every run of this peer, in order. */
  readonly events: CliEvent[] = [];
  private child: ChildProcessWithoutNullStreams | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);
  private stderrText = '';
  /** Events of the current run start here. */
  private runStart = 0;

  constructor(
    readonly name: string,
    readonly dir: string,
    private readonly net: PeerNet,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.child!.pid : undefined;
  }

  get stderr(): string {
    return this.stderrText;
  }

  share(extra: string[] = []): void {
    this.start(['share', this.dir, ...extra]);
  }

  join(code: string, extra: string[] = []): void {
    this.start(['join', code, this.dir, ...extra]);
  }

  /** Joins the session again into the folder it already holds (after a crash or a leave). */
  rejoin(code: string): void {
    this.join(code, [...RESTART_FLAGS]);
  }

  private start(args: string[]): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    const full = [...args, '--name', this.name, '--bootstrap', this.net.bootstrap, '--host', this.net.host, '--no-lan', '--json'];
    const [cmd, ...pre] = [...(this.net.wrap ?? []), process.execPath, CLI, ...full];
    const child = spawn(cmd, pre, { stdio: 'pipe' });
    this.child = child;
    this.runStart = this.events.length;
    let partial = '';
    child.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          this.events.push(JSON.parse(line) as CliEvent);
        } catch {
          this.events.push({ event: 'unparsable', line });
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      // Keep the tail only: a long run must not grow without bound.
      this.stderrText = (this.stderrText + d.toString()).slice(-64 * 1024);
    });
    child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** Events of the current (or last) run. */
  runEvents(): CliEvent[] {
    return this.events.slice(this.runStart);
  }

  has(event: string): boolean {
    return this.runEvents().some((e) => e.event === event);
  }

  async waitFor(event: string, timeoutMs: number): Promise<CliEvent> {
    await waitFor(() => {
      if (this.has(event)) return true;
      if (!this.running) throw new Error(`${this.name} exited before "${event}": ${this.stderrText.trim().slice(-2000)}`);
      return false;
    }, `"${event}" from ${this.name}`, timeoutMs);
    return this.runEvents().find((e) => e.event === event)!;
  }

  /** kill -9: nothing is flushed, nothing is said to the others. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await this.exited;
  }

  /**
   * Ctrl+C. Resolves true when the process exited within `graceMs`; otherwise kills it and resolves
   * false (a hang is a finding, not a reason to stop the suite).
   */
  async stop(graceMs = 10_000): Promise<boolean> {
    if (!this.running) return true;
    this.child!.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs))),
    ]);
    clearTimeout(timer);
    if (!inTime) await this.kill();
    return inTime;
  }

  /** Messages the peer showed its user in this and earlier runs (notices, problems). */
  told(): string[] {
    return this.events
      .filter(
        (e) =>
          ['notice', 'connect-problem', 'conflict', 'error', 'warning', 'write-failed'].includes(e.event) ||
          (e.event === 'joined' && e.complete === false) ||
          typeof e.message === 'string',
      )
      .map((e) => {
        if (e.event === 'write-failed') return `could not write ${String(e.path)}: ${String(e.why)}`;
        if (e.event === 'joined') return `joined incomplete: ${JSON.stringify(e.failed)}`;
        return String(e.message ?? JSON.stringify(e));
      });
  }
}

/** Starts a sharer of `sharer.dir` and joiners into theirs; resolves the session code once all are ready. */
export async function startSession(sharer: ChaosPeer, joiners: ChaosPeer[], timeoutMs = 60_000): Promise<string> {
  sharer.share();
  const code = String((await sharer.waitFor('code', timeoutMs)).code);
  await sharer.waitFor('ready', timeoutMs);
  for (const j of joiners) j.join(code);
  for (const j of joiners) await j.waitFor('ready', timeoutMs);
  return code;
}

export async function stopAll(peers: ChaosPeer[]): Promise<void> {
  await Promise.all(peers.map((p) => p.stop(10_000)));
}
