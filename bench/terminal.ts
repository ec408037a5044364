/**
 * `--only=terminal`: shared terminals. Output throughput of a real shell through a shared terminal
 * (host's pty → guest's SharedTerminals) beside the same output read straight from a local pty in the
 * same run, and the round trip of one keystroke typed by an allowed guest (to its echo on the guest).
 */
import { performance } from 'node:perf_hooks';
import { Session, createSessionCode } from '../src/session';
import { SharedTerminals } from '../src/session/terminal';
import { testPty, PLAIN_SHELL } from '../test/helpers/pty';
import { waitFor, type TestNetwork } from '../test/helpers/testnet';
import type { Row } from './row';

const DONE = 'bench-done-';

/** A command that prints `bytes` of text, then a marker whose text is not in the command line itself. */
function flood(bytes: number, n: number): string {
  return `head -c ${bytes} /dev/zero | tr '\\0' a; echo; echo ${DONE}$((${n}+1))\r`;
}

/** The same measures on a local pseudo-terminal, without sharing: MB/s of the flood, keystroke echo p50. */
async function local(bytes: number, keys: number): Promise<{ mbps: number; echoMs: number }> {
  const p = testPty().spawn(PLAIN_SHELL.shell, PLAIN_SHELL.args, { name: 'xterm-256color', cols: 120, rows: 40, cwd: process.cwd(), env: { ...stringEnv(), ...PLAIN_SHELL.env } });
  let seen = '';
  const arrivals = new Arrivals();
  p.onData((d) => {
    seen = (seen + d).slice(-200);
    arrivals.arrived();
  });
  try {
    const t0 = performance.now();
    p.write(flood(bytes, 0));
    await waitFor(() => seen.includes(`${DONE}1`), 'the local flood to end', 120_000);
    const mbps = bytes / 1024 / 1024 / ((performance.now() - t0) / 1000);
    await new Promise((r) => setTimeout(r, 200)); // the prompt after the flood
    const echoMs = p50(await keystrokes(keys, (s) => p.write(s), arrivals));
    return { mbps, echoMs };
  } finally {
    p.kill();
  }
}

/** Resolves at the next output (event-driven: polling would quantise a round trip). */
class Arrivals {
  private waiting: (() => void) | undefined;
  next(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no echo within 30 s')), 30_000);
      this.waiting = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  arrived(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }
}

/** Round trips of single keystrokes to their echo (the first 10 warm up; Ctrl+U keeps the line short). */
async function keystrokes(n: number, type: (s: string) => void, arrivals: Arrivals): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n + 10; i++) {
    const echoed = arrivals.next();
    const t = performance.now();
    type('x');
    await echoed;
    if (i >= 10) times.push(performance.now() - t);
    if (i % 50 === 49) {
      const cleared = arrivals.next();
      type('\x15');
      await cleared;
      await new Promise((r) => setTimeout(r, 50)); // the rest of the redraw, before the next keystroke
    }
  }
  return times;
}

function p50(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

export async function terminalBench(testnet: TestNetwork, quick: boolean): Promise<Row[]> {
  const bytes = (quick ? 4 : 16) * 1024 * 1024;
  const rows: Row[] = [];
  const n = quick ? 50 : 200;
  const { mbps: reference, echoMs: localEcho } = await local(bytes, n);
  const code = createSessionCode();
  const host = new Session({ code, name: 'host', network: testnet.network, lan: false });
  const guest = new Session({ code, name: 'guest', network: testnet.network, lan: false });
  const pty = testPty();
  const th = new SharedTerminals(host, { pty });
  const tg = new SharedTerminals(guest, { pty });
  try {
    await Promise.all([host.ready(), guest.ready()]);
    const term = th.share({ ...PLAIN_SHELL, cols: 120, rows: 40 });
    await waitFor(() => tg.get(term.key) !== undefined, 'the guest to see the terminal', 60_000);
    let tail = '';
    let received = 0;
    const arrivals = new Arrivals();
    tg.on('output', (_k, b) => {
      received += b.length;
      tail = (tail + b.toString('latin1')).slice(-200);
      arrivals.arrived();
    });
    const t0 = performance.now();
    th.input(term.key, flood(bytes, 1));
    await waitFor(() => tail.includes(`${DONE}2`), 'the flood to reach the guest', 120_000);
    const mbps = bytes / 1024 / 1024 / ((performance.now() - t0) / 1000);
    rows.push({
      name: `terminal: a shell's output reaching a guest (${bytes / 1024 / 1024} MiB of text, both peers in this process)`,
      value: mbps,
      unit: 'MB/s',
      reference,
      goal: '≥ 50% of the same output read from a local pty',
      met: mbps >= reference * 0.5,
      note: `${Math.round((mbps / reference) * 100)}% of a local pty; ${(received / 1024 / 1024).toFixed(1)} MiB arrived`,
    });

    th.allow(term.key, guest.self.id);
    await waitFor(() => tg.canType(term.key), 'the guest to be allowed', 30_000);
    await new Promise((r) => setTimeout(r, 200)); // the prompt after the flood
    const echo = p50(await keystrokes(n, (x) => tg.input(term.key, x), arrivals));
    rows.push({
      name: `terminal: a guest's keystroke to its echo on the guest, p50 of ${n}`,
      value: echo,
      unit: 'ms',
      reference: localEcho,
      goal: '< 5 ms more than a local pty',
      met: echo - localEcho < 5,
      note: 'reference: the same keystrokes on a local pty',
    });
  } finally {
    th.close();
    tg.close();
    await Promise.all([host.leave(), guest.leave()]);
  }
  return rows;
}

function stringEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (typeof v === 'string') env[k] = v;
  return env;
}
