/**
 * Strangers on the session's topic (which anyone watching the DHT can see) who do not know the code:
 * random bytes, a 16 MiB frame, a protocol version from the future, a wrong membership proof, garbage
 * on the channel before authenticating — as fast as they can while people edit and someone joins.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import HyperDHT from 'hyperdht';
import Hyperswarm from 'hyperswarm';
import Protomux from 'protomux';
import type { Duplex } from 'node:stream';
import { parseSessionCode } from '../../src/session/code';
import { parseBootstrap } from '../../src/session/network';
import { deriveKeys } from '../../src/session/secrets';
import { handshakeEncoding, PROTOCOL_NAME, PROTOCOL_VERSION } from '../../src/session/wire';
import { settle } from './oracle';
import { startSession, type ChaosPeer } from './peers';
import { dirsOf, makePeer, seeded, sleep, Tally, tokensOf, until, withPeers, writerFor, type ScenarioContext, type ScenarioResult } from './scenario';

const ATTACKS = ['random-bytes', 'huge-frame', 'version-2', 'wrong-proof', 'garbage-channel', 'silent'] as const;
type Attack = (typeof ATTACKS)[number];

function attack(stream: Duplex, kind: Attack, random: () => number): void {
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
  switch (kind) {
    case 'random-bytes':
      stream.write(bytes(16 + Math.floor(random() * 4096)));
      break;
    case 'huge-frame':
      stream.write(crypto.randomBytes(16 * 1024 * 1024 - 64));
      break;
    case 'version-2':
    case 'wrong-proof':
    case 'garbage-channel': {
      const mux = Protomux.from(stream);
      const ch = mux.createChannel({ protocol: PROTOCOL_NAME, handshake: handshakeEncoding });
      if (!ch) return;
      ch.open(kind === 'version-2' ? { version: PROTOCOL_VERSION + 1, proof: null } : { version: PROTOCOL_VERSION, proof: bytes(32) });
      if (kind === 'garbage-channel') stream.write(bytes(64));
      break;
    }
    case 'silent':
      break; // opens the connection and says nothing: holds a slot until the peer's timeout
  }
}

class Stranger {
  private readonly dht: HyperDHT;
  private readonly swarm: Hyperswarm;
  private readonly streams = new Set<Duplex>();
  private readonly targets = new Map<string, Buffer>();
  private stopped = false;
  connections = 0;

  constructor(bootstrap: string, host: string, private readonly topic: Buffer, private readonly random: () => number) {
    this.dht = new HyperDHT({ bootstrap: parseBootstrap(bootstrap), host, firewalled: false });
    this.swarm = new Hyperswarm({ dht: new HyperDHT({ bootstrap: parseBootstrap(bootstrap), host, firewalled: false }) });
    this.swarm.on('connection', (conn) => {
      this.targets.set(conn.remotePublicKey.toString('hex'), conn.remotePublicKey);
      this.hold(conn, ATTACKS[Math.floor(this.random() * ATTACKS.length)]);
    });
  }

  /** Finds the members on the topic, then dials them again and again with a fresh identity each time. */
  async run(untilMs: number, parallel = 8): Promise<void> {
    this.swarm.join(this.topic, { client: true, server: false });
    await until(() => this.targets.size > 0 || Date.now() > untilMs, 60_000, 100);
    const worker = async () => {
      while (!this.stopped && Date.now() < untilMs) {
        const keys = [...this.targets.values()];
        if (keys.length === 0) return;
        const target = keys[Math.floor(this.random() * keys.length)];
        const kind = ATTACKS[Math.floor(this.random() * (ATTACKS.length - 1))]; // a huge frame now and then only
        const stream = this.dht.connect(target, { keyPair: HyperDHT.keyPair() });
        // Say its piece, linger a moment, and hang up: as many connections as the dialling allows.
        await new Promise<void>((resolve) => {
          const done = () => (clearTimeout(timer), resolve());
          const timer = setTimeout(() => (stream.destroy(), done()), 3000);
          stream.on('error', () => undefined);
          stream.on('close', done);
          stream.on('open', () => {
            this.hold(stream, this.random() < 0.05 ? 'huge-frame' : kind);
            setTimeout(() => stream.destroy(), 300);
          });
        });
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
  }

  private hold(stream: Duplex, kind: Attack): void {
    this.connections++;
    this.streams.add(stream);
    stream.on('error', () => undefined);
    stream.on('close', () => this.streams.delete(stream));
    try {
      attack(stream, kind, this.random);
    } catch {
      // the stream closed under us
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    for (const s of this.streams) s.destroy();
    await this.swarm.destroy();
    await this.swarm.dht.destroy();
    await this.dht.destroy();
  }
}

function peakRssMB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
  } catch {
    return undefined;
  }
}

export async function hostileConnections(ctx: ScenarioContext): Promise<ScenarioResult> {
  const t = new Tally('hostile-connections');
  const random = seeded(ctx, 5000);
  for (let trial = 0; trial < ctx.trials; trial++) {
    const tctx = { ...ctx, root: `${ctx.root}/t${trial}` };
    const [s, a] = ['s', 'a'].map((n) => makePeer(tctx, n, n === 's' ? { 'h-s.txt': 'start\n', 'h-a.txt': 'start\n' } : {}));
    const late: ChaosPeer = makePeer(tctx, 'late');
    await withPeers([s, a, late], async () => {
      const code = await startSession(s, [a]);
      const parsed = parseSessionCode(code);
      if (!parsed.ok) throw new Error(parsed.message);
      const stranger = new Stranger(ctx.net.bootstrap, ctx.net.host, deriveKeys(parsed.secret).topic, random);
      // Each writes its own file: this proves that edits keep flowing under the flood, apart from the
      // write races that concurrent-writers covers.
      const writers = [s, a].map((p, i) =>
        writerFor(p, { id: `h${trial}-${p.name}`, file: `h-${p.name}.txt`, mode: i ? 'rewrite' : 'append', intervalMs: { min: 30, max: 300 }, random: seeded(ctx, 5000 + trial * 10 + i) }),
      );
      writers.forEach((w) => w.start());
      const flood = stranger.run(Date.now() + ctx.durationMs);
      await sleep(ctx.durationMs / 3);
      late.join(code); // someone joins in the middle of the flood
      await flood;
      await stranger.close();
      await late.waitFor('ready', 60_000).catch((err: Error) => t.finding(`trial ${trial}: a member could not join during the flood: ${err.message.slice(0, 200)}`));
      writers.forEach((w) => w.stop());
      const v = await settle(dirsOf([s, a, late]), tokensOf(writers), ctx.settleMs);
      t.add(v, `trial ${trial}`);
      for (const p of [s, a]) {
        if (!p.running) t.finding(`trial ${trial}: ${p.name} exited during the flood: ${p.stderr.trim().slice(-300)}`);
        const mismatch = p.events.filter((e) => e.event === 'protocol-mismatch').length;
        if (mismatch > 0) t.finding(`trial ${trial}: ${p.name} printed ${mismatch} "protocol mismatch" lines caused by strangers`);
        const refused = p.events.filter((e) => e.event === 'peer-rejected').length;
        if (refused > 20) t.finding(`trial ${trial}: ${p.name} printed ${refused} "refused a peer" lines`);
      }
      if (stranger.connections === 0) t.finding(`trial ${trial}: the stranger never reached a member: this trial proves nothing`);
      const rss = peakRssMB(s.pid);
      ctx.log(`hostile-connections trial ${trial}: ${stranger.connections} hostile connections, ${v.linesLost}/${v.linesWritten} lost, sharer peak RSS ${rss ?? '?'} MB`);
      t.note(`trial ${trial}: ${stranger.connections} hostile connections; sharer peak RSS ${rss ?? '?'} MB`);
    });
  }
  return t.done();
}
