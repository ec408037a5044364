/**
 * One peer of the call benchmark in its own process (as real peers are: a transfer and the audio of two
 * peers must not share one event loop, or the bench measures that loop instead of the session): a
 * whole peer over a folder (startPeer: session, shared workspace, disk mirror; the speaker shares its
 * folder, the others join), its call, its call page (for the bench's Chromium to open) and its shared
 * servers. Driven by JSON lines on stdin, reporting JSON lines on stdout.
 *
 *   node voice-child.js <bootstrap host:port,…> <session code> <name> <speaker|listener|far>
 *
 * `far`: a listener whose call has no link to the speaker's (the speaker's has none to it either), so
 * it hears the speaker through the listener, relayed (voice/relay.ts).
 *   stdin:  {"cmd":"join"} | {"cmd":"link"} | {"cmd":"sink"} (share a local sink for the transfer)
 *           | {"cmd":"pump","on":true|false} (write into the other side's sink as fast as it takes)
 *           | {"cmd":"pacing","on":false} (bulk data not paced during the call: what it was before pacer.ts)
 *           | {"cmd":"datagrams","on":false} (frames on the channel only: what voice 1 does; says `datagrams`)
 *           | {"cmd":"expect","name":"x.bin","bytes":N} (says `received` once this folder holds it whole)
 *           | {"cmd":"stats"} (and reset) | {"cmd":"leave"}
 *   stdout: ready (with the folder, for the bench to write files into, as another program would),
 *           peers, members, link, shared, pumping, received, stats, left
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import * as readline from 'node:readline';
import { startPeer, type RunningPeer } from '../src/app/peer';
import type { Session } from '../src/session/session';
import { parseBootstrap } from '../src/session/network';
import { BulkPacer, pacerOf } from '../src/session/pacer';
import { ServerTunnels } from '../src/session/tunnel';
import { SessionCall } from '../src/session/voice/call';
import { DatagramPath } from '../src/session/voice/datagram';
import { CallPage } from '../src/session/voice/page-server';
import { HiddenLinks } from '../test/helpers/call-pair';

const say = (event: Record<string, unknown>) => process.stdout.write(JSON.stringify(event) + '\n');

async function main(): Promise<void> {
  const [spec, code, name, role] = process.argv.slice(2);
  // A real folder: a file transfer is the workspace's own (chunks asked for and served, §6), not a stream.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `hyperpair-voice-${role}-`));
  const folder = path.join(root, 'folder');
  fs.mkdirSync(folder);
  let started!: Promise<RunningPeer>;
  // The call rides on the session from the start (the joiners' first copy of the folder is not waited for).
  const session = await new Promise<Session>((resolve, reject) => {
    started = startPeer({
      mode: role === 'speaker' ? 'share' : 'join',
      code,
      dir: folder,
      stateDir: path.join(root, 'state'),
      name,
      lan: false,
      network: { bootstrap: parseBootstrap(spec), host: '127.0.0.1', firewalled: false },
      onSession: resolve,
    });
    started.catch(reject);
  });
  // The call's view of the session: with the link between the speaker and the far listener hidden.
  const source = role === 'far' ? new HiddenLinks(session, (p) => p.name === 'speaker') : role === 'speaker' ? new HiddenLinks(session, (p) => p.name === 'far') : session;
  const call = new SessionCall(source);
  const page = new CallPage(call);
  const tunnels = new ServerTunnels(session);
  const room = BulkPacer.prototype.room;
  const sendDatagram = DatagramPath.prototype.send;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  // Stalls of this process's event loop over 100 ms, with the CPU it used meanwhile: near the stall's
  // length, its own work held the loop; near none, the machine did not run it (other load).
  let stalls: Array<[number, number]> = [];
  let tick = [performance.now(), process.cpuUsage()] as const;
  setInterval(() => {
    const now = [performance.now(), process.cpuUsage()] as const;
    const gap = now[0] - tick[0];
    const cpu = (now[1].user - tick[1].user + now[1].system - tick[1].system) / 1000;
    if (gap > 100) stalls.push([Math.round(gap), Math.round(cpu)]);
    tick = now;
  }, 10).unref();
  // Capture until this host side has the frame: from its own page (a speaker), from the session (a listener).
  let up: number[] = [];
  let down: number[] = [];
  let bytes = 0;
  let frames = 0;
  let since = Date.now();
  // Per frame (keyed by its capture time): when the speaker's host sent it, with what was queued on
  // the connection ahead of it then (and whether it was paced, and whether it went as a datagram,
  // beside that queue); when the listener's host had it.
  let sentAt: Array<[number, number, number, number, number]> = [];
  let heardAt: Array<[number, number]> = [];
  const send = call.send.bind(call);
  call.send = (f) => {
    up.push(Date.now() - f.time);
    const listener = session.peers().find((p) => p.name === 'listener');
    const stream = listener && session.memberMux(listener.id)?.stream;
    const pacer = stream && pacerOf(stream);
    const [at, queued, paced, datagrams] = [Date.now(), pacer?.queued() ?? 0, pacer?.paced ? 1 : 0, call.sentAsDatagrams];
    const all = send(f);
    sentAt.push([f.time, at, queued, paced, call.sentAsDatagrams > datagrams ? 1 : 0]);
    return all;
  };
  call.on('frame', (_p, f) => {
    heardAt.push([f.time, Date.now()]);
    down.push(Date.now() - f.time);
    bytes += f.data.byteLength;
    frames++;
  });
  call.on('members', (m) => say({ event: 'members', n: m.length }));
  session.on('peer-join', () => say({ event: 'peers', n: session.peers().length }));
  let pumping = false;
  let pumped = 0;
  let sink: net.Server | undefined;

  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const m = JSON.parse(line) as { cmd: string; on?: boolean; name?: string; bytes?: number };
    if (m.cmd === 'join') {
      call.join();
      if (role !== 'speaker') call.setMuted(true); // one speaker, the others listeners
    } else if (m.cmd === 'link') say({ event: 'link', link: page.link() });
    else if (m.cmd === 'sink') {
      sink = net.createServer((s) => s.on('data', () => {}).on('error', () => {}));
      sink.listen(0, '127.0.0.1', () => {
        tunnels.share((sink!.address() as net.AddressInfo).port);
        say({ event: 'shared' });
      });
    } else if (m.cmd === 'pump') {
      pumping = m.on === true;
      if (pumping) void pump();
    } else if (m.cmd === 'expect') {
      void arrival(path.join(folder, String(m.name)), Number(m.bytes)).then((at) => say({ event: 'received', at }));
    } else if (m.cmd === 'datagrams') {
      DatagramPath.prototype.send = m.on === false ? () => false : sendDatagram;
      say({ event: 'datagrams' });
    } else if (m.cmd === 'pacing') {
      BulkPacer.prototype.room = m.on === false ? () => true : room;
    } else if (m.cmd === 'stats') {
      const seconds = (Date.now() - since) / 1000;
      say({ event: 'stats', up, down, sentAt, heardAt, kbps: (bytes * 8) / 1000 / seconds, framesPerSecond: frames / seconds, dropped: call.dropped, sent: call.sent, loopP99: loop.percentile(99) / 1e6, loopMax: loop.max / 1e6, pumpedMB: pumped / 1e6, stalls });
      [up, down, bytes, frames, since, pumped, sentAt, heardAt, stalls] = [[], [], 0, 0, Date.now(), 0, [], [], []];
      loop.reset();
    } else if (m.cmd === 'leave') {
      pumping = false;
      tunnels.close();
      sink?.close();
      void page.close().then(async () => {
        call.close();
        await (await started).close();
        fs.rmSync(root, { recursive: true, force: true });
        say({ event: 'left' });
        process.exit(0);
      });
    }
  });

  /** A bulk transfer on the same connection as the call, in the voice's direction. */
  async function pump(): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!tunnels.remote().some((r) => r.localPort !== undefined)) {
      if (Date.now() > deadline) throw new Error('the sink never reached the speaker');
      await new Promise((r) => setTimeout(r, 50));
    }
    const client = net.connect({ host: '127.0.0.1', port: tunnels.remote()[0].localPort! });
    client.on('error', () => {});
    await new Promise((r) => client.once('connect', r));
    say({ event: 'pumping' });
    const chunk = Buffer.alloc(64 * 1024, 1);
    while (pumping && !client.destroyed) {
      pumped += chunk.byteLength;
      if (!client.write(chunk)) await new Promise((r) => client.once('drain', r));
    }
    client.destroy();
  }

  /** When `file` is whole in this folder (the mirror writes a temporary file and renames it, so its size says it). */
  async function arrival(file: string, bytes: number): Promise<number> {
    for (;;) {
      const size = fs.statSync(file, { throwIfNoEntry: false })?.size;
      if (size === bytes) return Date.now();
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  await Promise.all([started, page.ready()]);
  say({ event: 'ready', folder });
}

void main();
