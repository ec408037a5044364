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

/** MB/s of the flood read straight from a local pseudo-terminal. */
async function localMBps(bytes: number): Promise<number> {
  const p = testPty().spawn(PLAIN_SHELL.shell, PLAIN_SHELL.args, { name: 'xterm-256color', cols: 120, rows: 40, cwd: process.cwd(), env: { ...stringEnv(), ...PLAIN_SHELL.env } });
  let seen = '';
  p.onData((d) => (seen = (seen + d).slice(-200)));
  try {
    const t0 = performance.now();
    p.write(flood(bytes, 0));
    await waitFor(() => seen.includes(`${DONE}1`), 'the local flood to end', 120_000);
    return bytes / 1024 / 1024 / ((performance.now() - t0) / 1000);
  } finally {
    p.kill();
  }
}

function p50(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

export async function terminalBench(testnet: TestNetwork, quick: boolean): Promise<Row[]> {
  const bytes = (quick ? 4 : 16) * 1024 * 1024;
  const rows: Row[] = [];
  const reference = await localMBps(bytes);
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
    tg.on('output', (_k, b) => {
      received += b.length;
      tail = (tail + b.toString('latin1')).slice(-200);
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
    const n = quick ? 50 : 200;
    const times: number[] = [];
    for (let i = 0; i < n + 10; i++) {
      const before = received;
      const t = performance.now();
      tg.input(term.key, 'x');
      await waitFor(() => received > before, 'the echo', 30_000);
      if (i >= 10) times.push(performance.now() - t);
      if (i % 50 === 49) {
        const mark = received;
        tg.input(term.key, '\x15'); // Ctrl+U: keep the line short
        await waitFor(() => received > mark, 'the line to be cleared', 30_000);
      }
    }
    rows.push({ name: `terminal: a guest's keystroke to its echo on the guest, p50 of ${n}`, value: p50(times), unit: 'ms', goal: '< 5 ms on loopback', met: p50(times) < 5 });
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
