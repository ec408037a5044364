/**
 * LAN discovery: peers of one session on the same local network find each other with multicast DNS
 * and connect over TCP, without any DHT node (an office or classroom without internet). What is
 * announced is a name derived from the session secret that changes every window (docs/PROTOCOL.md
 * §3.1); the connection itself is the same Noise stream, proof and channel as over the DHT: this
 * module only delivers Noise streams whose handshake is done, and the session treats them like any
 * hyperswarm connection.
 */
import * as net from 'node:net';
import { networkInterfaces } from 'node:os';
import type { RemoteInfo } from 'node:dgram';
import NoiseSecretStream from '@hyperswarm/secret-stream';
import multicastDns from 'multicast-dns';
import type HyperDHT from 'hyperdht';
import { deadline, DisposableStore, timeout, type IDisposable } from './disposable';
import type { Logger } from './log';
import { lanName, lanPeerTag } from './secrets';

/** How long one announced name is valid. Peers accept the window before and after theirs (clock skew). */
export const LAN_WINDOW_MS = 10 * 60_000;
const QUERY_MIN_MS = 1_000;
const QUERY_MAX_MS = 30_000;
/** The peer with the smaller tag dials; the other one dials too after this long, in case it was not heard. */
const DIAL_GRACE_MS = 3_000;
/** A TCP connection that has not finished its Noise handshake by then is dropped. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Inbound connections still in their handshake; more are refused (the port is open to the whole LAN). */
const MAX_PENDING_INBOUND = 32;
/**
 * Anyone who heard our name can answer to it with made-up tags and ports: bound what that costs
 * (dials in flight, tags remembered).
 */
const MAX_DIALS = 16;
const MAX_HEARD = 1024;

export interface LanOptions {
  /** From `deriveKeys`: keys the announced names and tags. */
  lanKey: Buffer;
  /** The swarm's key pair: a peer is the same participant over the LAN and over the DHT. */
  keyPair: HyperDHT.KeyPair;
  /** Address to listen on and to send multicast from; undefined: every interface. */
  host?: string;
  logger: Logger;
  /** A Noise stream to a LAN peer, handshake done (not yet authenticated: the session does that). */
  onStream(stream: NoiseSecretStream): void;
  /** Public keys this peer is connected to by any path, so that it does not dial them again. */
  connectedKeys(): Iterable<Uint8Array>;
  /** For tests: another clock, window length, mDNS port or group (defaults 5353, 224.0.0.251). */
  now?: () => number;
  windowMs?: number;
  mdnsPort?: number;
  mdnsGroup?: string;
}

export interface LanInfo {
  /** TCP port this peer accepts LAN connections on. */
  port: number | undefined;
  /** The interface multicast goes out on ('default' = the system's choice). */
  interface: string;
  /** Distinct peers of this session heard on the LAN. */
  peersHeard: number;
  /** Answers for names that are not this session's (other sessions, other services). */
  otherAnswers: number;
  /** The last problem sending or receiving multicast, if any. */
  lastProblem: string | undefined;
}

export class LanDiscovery {
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly windowMs: number;
  private server: net.Server | undefined;
  private mdns: multicastDns.MulticastDNS | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly dialing = new Set<string>();
  /** Timers (the next query, pending dials): all go on close. */
  private readonly timers = new DisposableStore();
  private readonly heard = new Set<string>();
  private pendingInbound = 0;
  private queryTimer: IDisposable | undefined;
  private queryDelay = QUERY_MIN_MS;
  private otherAnswers = 0;
  private lastProblem: string | undefined;
  private multicastInterface: string | undefined;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: LanOptions) {
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.windowMs = options.windowMs ?? LAN_WINDOW_MS;
  }

  /**
   * The session code changed (Session.rekey): from now on answer and ask under the new code's names
   * only. The listener and the connections it accepted stay; they are members' already.
   */
  rekey(lanKey: Buffer): void {
    this.options.lanKey = lanKey;
  }

  /** Listens on TCP and joins the multicast group; rejects with a readable Error if either fails. */
  ready(): Promise<void> {
    this.opening ??= this.open();
    return this.opening;
  }

  get port(): number | undefined {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }

  info(): LanInfo {
    return {
      port: this.port,
      interface: this.multicastInterface ?? 'default',
      peersHeard: this.heard.size,
      otherAnswers: this.otherAnswers,
      lastProblem: this.lastProblem,
    };
  }

  /** Looks for peers again soon (after a member dropped), then backs off. */
  lookSoon(): void {
    if (this.closed || !this.mdns) return;
    this.queryDelay = QUERY_MIN_MS;
    this.scheduleQuery(0);
  }

  /** Stops announcing and closes the listener, every socket not yet closed, and every timer. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async open(): Promise<void> {
    const server = net.createServer((socket) => this.onInbound(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: 0, host: this.options.host || '0.0.0.0' }, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`LAN discovery could not listen on TCP (${err.code ?? err.message})`);
    });
    server.on('error', (err) => this.problem(`TCP listener: ${err.message}`));
    if (this.closed) return;

    this.multicastInterface = this.options.host && this.options.host !== '0.0.0.0' ? this.options.host : soleLanAddress();
    // Bind the wildcard address: a socket bound to a unicast address never receives multicast on
    // Linux. The interface option picks where multicast goes out, which matters on a LAN with no
    // default route (no internet), where the system would have nowhere to send it.
    const mdns = multicastDns({
      port: this.options.mdnsPort ?? 5353,
      ip: this.options.mdnsGroup ?? '224.0.0.251',
      interface: this.multicastInterface,
      bind: '0.0.0.0',
      reuseAddr: true,
      loopback: true,
    });
    this.mdns = mdns;
    await new Promise<void>((resolve, reject) => {
      mdns.once('ready', resolve);
      mdns.once('error', reject);
    }).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`LAN discovery could not use multicast DNS (${err.code ?? err.message})`);
    });
    mdns.on('error', (err) => this.problem(`multicast DNS: ${err.message}`));
    mdns.on('warning', (err) => this.problem(`multicast DNS: ${err.message}`));
    mdns.on('query', (packet, rinfo) => this.onQuery(packet, rinfo));
    mdns.on('response', (packet, rinfo) => this.onResponse(packet, rinfo));
    if (this.closed) return;
    this.logger.info(`LAN discovery on TCP port ${this.port} (multicast via ${this.multicastInterface ?? 'the default interface'})`);
    this.announce();
    this.scheduleQuery(0);
  }

  private window(): number {
    return Math.floor(this.now() / this.windowMs);
  }

  /** Names this peer answers to: its window's and the neighbouring ones (clocks a little apart). */
  private acceptedWindows(): Map<string, number> {
    const w = this.window();
    const names = new Map<string, number>();
    for (const x of [w - 1, w, w + 1]) if (x >= 0) names.set(lanName(this.options.lanKey, x), x);
    return names;
  }

  private answersFor(name: string, window: number): multicastDns.Answer[] {
    const tag = lanPeerTag(this.options.lanKey, window, this.options.keyPair.publicKey);
    return [
      { name, type: 'SRV', ttl: 120, data: { port: this.port ?? 0, target: name, priority: 0, weight: 0 } },
      { name, type: 'TXT', ttl: 120, data: [`id=${tag}`] },
    ];
  }

  /** An unsolicited answer when starting, so that peers already here dial without waiting for a query. */
  private announce(): void {
    const w = this.window();
    this.mdns?.respond({ answers: this.answersFor(lanName(this.options.lanKey, w), w) });
  }

  private scheduleQuery(delay: number): void {
    if (this.queryTimer) this.timers.delete(this.queryTimer);
    if (this.closed) return;
    this.queryTimer = this.timers.add(timeout(() => {
      if (this.closed || !this.mdns) return;
      this.mdns.query([{ name: lanName(this.options.lanKey, this.window()), type: 'SRV' }]);
      this.queryDelay = Math.min(this.queryDelay * 2, QUERY_MAX_MS);
      this.scheduleQuery(this.queryDelay);
    }, delay));
  }

  private onQuery(packet: multicastDns.Packet, _rinfo: RemoteInfo): void {
    if (this.closed || !this.port) return;
    const accepted = this.acceptedWindows();
    for (const q of packet.questions) {
      const window = accepted.get(q.name.toLowerCase());
      if (window === undefined || (q.type !== 'SRV' && q.type !== 'ANY')) continue;
      this.mdns?.respond({ answers: this.answersFor(q.name.toLowerCase(), window) });
    }
  }

  private onResponse(packet: multicastDns.Packet, rinfo: RemoteInfo): void {
    if (this.closed) return;
    const accepted = this.acceptedWindows();
    const records = [...packet.answers, ...packet.additionals];
    for (const srv of records) {
      if (srv.type !== 'SRV') continue;
      const name = srv.name.toLowerCase();
      const window = accepted.get(name);
      if (window === undefined) {
        this.otherAnswers++;
        continue;
      }
      // Untrusted input: anyone on the LAN can send any record.
      const data = srv.data as { port?: unknown } | undefined;
      const port = typeof data?.port === 'number' ? data.port : NaN;
      const tag = tagOf(records.find((r) => r.type === 'TXT' && r.name.toLowerCase() === name));
      if (!tag || !Number.isInteger(port) || port < 1 || port > 65535) continue;
      const own = lanPeerTag(this.options.lanKey, window, this.options.keyPair.publicKey);
      if (tag === own) continue; // our own answer, looped back
      if (this.heard.size >= MAX_HEARD) this.heard.clear();
      this.heard.add(tag);
      if (this.isConnected(window, tag)) continue;
      // Both peers hear each other: the smaller tag dials at once, the other waits a little and
      // dials only if nothing arrived (it may have been heard by us but not we by it).
      const delay = own < tag ? 0 : DIAL_GRACE_MS;
      this.dialLater(rinfo.address, port, window, tag, delay);
    }
  }

  private isConnected(window: number, tag: string): boolean {
    for (const key of this.options.connectedKeys()) {
      if (lanPeerTag(this.options.lanKey, window, key) === tag) return true;
    }
    return false;
  }

  private dialLater(host: string, port: number, window: number, tag: string, delay: number): void {
    const where = `${host}:${port}`;
    if (this.dialing.has(where) || this.dialing.size >= MAX_DIALS) return;
    this.dialing.add(where);
    const timer = this.timers.add(
      timeout(() => {
        this.timers.delete(timer);
        if (this.closed || this.isConnected(window, tag)) {
          this.dialing.delete(where);
          return;
        }
        this.dial(host, port, () => this.dialing.delete(where));
      }, delay),
    );
  }

  private dial(host: string, port: number, done: () => void): void {
    this.logger.debug(`LAN: dialling ${host}:${port}`);
    const local = this.options.host && this.options.host !== '0.0.0.0' ? this.options.host : undefined;
    const socket = net.connect({ host, port, localAddress: local });
    this.secure(socket, true, done);
  }

  private onInbound(socket: net.Socket): void {
    if (this.closed || this.pendingInbound >= MAX_PENDING_INBOUND) {
      socket.destroy();
      return;
    }
    this.pendingInbound++;
    let counted = true;
    this.secure(socket, false, () => {
      if (counted) this.pendingInbound--;
      counted = false;
    });
  }

  /** Runs the Noise handshake over a TCP socket and hands the stream over once it is done. */
  private secure(socket: net.Socket, initiator: boolean, done: () => void): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.once('close', () => {
      this.sockets.delete(socket);
      done();
    });
    const stream = new NoiseSecretStream(initiator, socket, { keyPair: this.options.keyPair });
    // Errors before the handshake (refused, reset) are expected on a LAN; after it, the session's
    // own handler reports them.
    stream.on('error', (err: Error) => this.logger.debug(`LAN connection ${socket.remoteAddress ?? ''}: ${err.message}`));
    let settled = false;
    const timer = deadline(() => stream.destroy(new Error('no Noise handshake in time')), HANDSHAKE_TIMEOUT_MS, () => settled);
    void stream.opened.then((ok) => {
      settled = true;
      timer.dispose();
      done();
      if (!ok || this.closed) {
        stream.destroy();
        return;
      }
      this.options.onStream(stream);
    });
  }

  private problem(message: string): void {
    if (this.closed) return;
    this.lastProblem = message;
    this.logger.debug(`LAN: ${message}`);
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    this.timers.dispose();
    await this.opening?.catch(() => undefined);
    const mdns = this.mdns;
    this.mdns = undefined;
    if (mdns) await new Promise<void>((resolve) => mdns.destroy(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function tagOf(txt: multicastDns.Answer | undefined): string | undefined {
  if (!txt || txt.type !== 'TXT') return undefined;
  const data = txt.data as Array<string | Buffer> | string | Buffer;
  const items = Array.isArray(data) ? data : [data];
  for (const item of items) {
    const m = /^id=([0-9a-f]{32})$/.exec(item.toString());
    if (m) return m[1];
  }
  return undefined;
}

/**
 * The one non-loopback IPv4 address of this machine, when there is exactly one: multicast then goes
 * out there even without a default route. With several, the system's routing decides (set a bind
 * host to choose).
 */
function soleLanAddress(): string | undefined {
  const v4 = Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((i) => i.family === 'IPv4' && !i.internal);
  return v4.length === 1 ? v4[0].address : undefined;
}
