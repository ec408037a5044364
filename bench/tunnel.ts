/**
 * `--only=tunnel`: shared servers. Throughput of one TCP connection through the tunnel beside one bare
 * hyperswarm stream in the same run (both ends in this process in both cases), and what the tunnel
 * adds to an HTTP request on a kept-alive connection (p50, beside the same requests made directly).
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import type Hyperswarm from 'hyperswarm';
import { Session, createSessionCode } from '../src/session';
import { ServerTunnels } from '../src/session/tunnel';
import { waitFor, type TestNetwork } from '../test/helpers/testnet';
import type { Row } from './row';

/** A row of the bench's table (bench/row.ts). */
export type BenchRow = Row;

type Bare = (net: TestNetwork) => Promise<{ a: Hyperswarm.SecretStream; b: Hyperswarm.SecretStream; close(): Promise<void> }>;

const CHUNK = Buffer.alloc(64 * 1024, 7);

/** Writes `total` bytes with backpressure and resolves with MB/s once `received()` reaches it. */
async function pump(write: (b: Buffer) => boolean, onDrain: (cb: () => void) => void, received: () => number, total: number): Promise<number> {
  const t0 = performance.now();
  for (let sent = 0; sent < total; sent += CHUNK.length) {
    if (!write(CHUNK)) await new Promise<void>((r) => onDrain(r));
  }
  await waitFor(() => received() >= total, 'every byte to arrive', 120_000);
  return total / 1024 / 1024 / ((performance.now() - t0) / 1000);
}

function p50(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

async function requestTimes(port: number, n: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  try {
    for (let i = 0; i < n + 20; i++) {
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        }).on('error', reject);
      });
      if (i >= 20) times.push(performance.now() - t0); // the first ones warm up
    }
  } finally {
    agent.destroy();
  }
  return times;
}

export async function tunnelBench(testnet: TestNetwork, bareConnection: Bare, quick: boolean): Promise<BenchRow[]> {
  const total = (quick ? 16 : 64) * 1024 * 1024;
  const rows: BenchRow[] = [];

  const bare = await bareConnection(testnet);
  let bareBytes = 0;
  bare.b.on('data', (d: Buffer) => (bareBytes += d.length));
  const bareMBps = await pump((b) => bare.a.write(b), (cb) => bare.a.once('drain', cb), () => bareBytes, total);
  await bare.close();

  const code = createSessionCode();
  const host = new Session({ code, name: 'host', network: testnet.network, lan: false });
  const guest = new Session({ code, name: 'guest', network: testnet.network, lan: false });
  const th = new ServerTunnels(host);
  const tg = new ServerTunnels(guest);
  let sinkBytes = 0;
  const sink = net.createServer((s) => s.on('data', (d: Buffer) => (sinkBytes += d.length)).on('error', () => {}));
  const web = http.createServer((_req, res) => res.end('ok'));
  try {
    await Promise.all([host.ready(), guest.ready()]);
    for (const server of [sink, web]) await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const sinkPort = (sink.address() as net.AddressInfo).port;
    const webPort = (web.address() as net.AddressInfo).port;
    th.share(sinkPort);
    th.share(webPort);
    await waitFor(() => tg.remote().filter((r) => r.localPort !== undefined).length === 2, 'the shares to reach the guest', 60_000);
    const local = (port: number) => tg.remote().find((r) => r.remotePort === port)!.localPort!;

    const client = net.connect({ host: '127.0.0.1', port: local(sinkPort) });
    client.on('error', () => {});
    await new Promise((r) => client.once('connect', r));
    const tunnelMBps = await pump((b) => client.write(b), (cb) => client.once('drain', cb), () => sinkBytes, total);
    client.destroy();
    const ratio = tunnelMBps / bareMBps;
    rows.push({ name: `tunnel: one TCP connection through a shared server (${total / 1024 / 1024} MiB, both peers in this process)`, value: tunnelMBps, unit: 'MB/s', reference: bareMBps, goal: '≥ 50% of a bare hyperswarm stream', met: ratio >= 0.5, note: `${Math.round(ratio * 100)}% of the bare stream` });

    const n = quick ? 100 : 500;
    const direct = p50(await requestTimes(webPort, n));
    const through = p50(await requestTimes(local(webPort), n));
    rows.push({ name: `tunnel: added latency per HTTP request, p50 of ${n} on a kept-alive connection`, value: through - direct, unit: 'ms', reference: direct, goal: '< 1 ms', met: through - direct < 1, note: `reference: the same request made directly` });
  } finally {
    th.close();
    tg.close();
    sink.close();
    web.close();
    await Promise.all([host.leave(), guest.leave()]);
  }
  return rows;
}
