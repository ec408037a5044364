/**
 * A Hyperpair session: a session code → a hyperswarm topic → authenticated peer connections →
 * membership. Every member connects to every other (a mesh); no member is special, so the session
 * survives whoever leaves. `Session` is the PeerTransport the sync layer runs over.
 */
import { EventEmitter } from 'node:events';
import HyperDHT from 'hyperdht';
import Hyperswarm from 'hyperswarm';
import { parseSessionCode, createSessionCode } from './code';
import { PeerConnection, short } from './connection';
import { silentLogger, type Logger } from './log';
import { createDHT, type NetworkOptions } from './network';
import { deriveKeys } from './secrets';
import type { PeerInfo, PeerTransport, TransportEvents } from './transport';
import { cleanName } from './wire';

export type SessionStatus = 'connecting' | 'alone' | 'connected' | 'offline' | 'closed';

export interface SessionOptions {
  /** The session code (any accepted form). A mistyped code throws a `SessionCodeError` at once. */
  code: string;
  name: string;
  /** `#rrggbb`; derived from the public key when absent. */
  colour?: string;
  network?: NetworkOptions;
  /** Keep the same key pair to be recognised as the same participant after a restart. */
  keyPair?: HyperDHT.KeyPair;
  logger?: Logger;
  /** A peer that has not proved membership by then is disconnected. Default 10 s. */
  authTimeoutMs?: number;
  /** How often to ping each peer (RTT, liveness). Default 5 s. */
  pingIntervalMs?: number;
  /** How long to keep redialing a peer whose connection dropped without goodbye. Default 5 min. */
  redialForMs?: number;
}

export interface SessionEvents extends TransportEvents {
  status: [status: SessionStatus];
  /** Someone on the topic failed authentication and was disconnected. */
  'peer-rejected': [remoteId: string, reason: string];
  /** A peer runs another protocol version; `message` is for a person. */
  'protocol-mismatch': [remoteVersion: number, message: string];
}

export class SessionCodeError extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'SessionCodeError';
  }
}

const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#46a0a8', '#f032e6', '#9a6324', '#800000', '#008080'];

export class Session extends EventEmitter implements PeerTransport {
  readonly code: string;
  readonly topic: Buffer;
  readonly self: PeerInfo;
  private readonly authKey: Buffer;
  private readonly logger: Logger;
  private readonly options: SessionOptions;
  private dht: HyperDHT | undefined;
  private swarm: Hyperswarm | undefined;
  private readonly members = new Map<string, PeerConnection>();
  private readonly pending = new Set<PeerConnection>();
  private readonly redialTimers = new Map<string, NodeJS.Timeout>();
  private readonly departed = new Set<string>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshDelay = 500;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private _status: SessionStatus = 'connecting';

  /** Starts a new session with a fresh code. */
  static start(options: Omit<SessionOptions, 'code'>): Session {
    return new Session({ ...options, code: createSessionCode() });
  }

  constructor(options: SessionOptions) {
    super();
    const parsed = parseSessionCode(options.code);
    if (!parsed.ok) throw new SessionCodeError(parsed.message, parsed.reason);
    this.options = options;
    this.code = parsed.code;
    const keys = deriveKeys(parsed.secret);
    this.topic = keys.topic;
    this.authKey = keys.authKey;
    this.logger = options.logger ?? silentLogger;
    const keyPair = options.keyPair ?? HyperDHT.keyPair();
    this.options = { ...options, keyPair };
    const id = keyPair.publicKey.toString('hex');
    this.self = {
      id,
      name: cleanName(options.name),
      colour: options.colour && /^#[0-9a-f]{6}$/i.test(options.colour) ? options.colour.toLowerCase() : colourFor(id),
    };
  }

  get status(): SessionStatus {
    return this._status;
  }

  /** Joins the topic and resolves once this peer is announced on the DHT. */
  ready(): Promise<void> {
    this.opening ??= this.open();
    return this.opening;
  }

  peers(): PeerInfo[] {
    return [...this.members.values()].map((c) => toPeerInfo(c));
  }

  peer(id: string): PeerInfo | undefined {
    const c = this.members.get(id);
    return c ? toPeerInfo(c) : undefined;
  }

  /** Round-trip time to a directly connected peer, in ms, once measured. */
  rtt(id: string): number | undefined {
    return this.members.get(id)?.rttMs;
  }

  send(peerId: string, data: Uint8Array): boolean {
    const c = this.members.get(peerId);
    if (!c) {
      this.logger.debug(`send to unknown peer ${short(peerId)} dropped`);
      return false;
    }
    return c.send(data);
  }

  drained(peerId: string): Promise<void> {
    return this.members.get(peerId)?.drained() ?? Promise.resolve();
  }

  disconnect(peerId: string, reason: string): void {
    const c = this.members.get(peerId);
    if (!c) return;
    this.logger.warn(`disconnecting ${c.hello?.name ?? short(peerId)}: ${reason}`);
    c.destroy(reason);
  }

  /** Says goodbye to everyone and releases every socket, swarm, DHT node and timer. Idempotent. */
  leave(): Promise<void> {
    this.closing ??= this.close();
    return this.closing;
  }

  override on<K extends keyof SessionEvents>(event: K, listener: (...args: SessionEvents[K]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override off<K extends keyof SessionEvents>(event: K, listener: (...args: SessionEvents[K]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }

  override emit<K extends keyof SessionEvents>(event: K, ...args: SessionEvents[K]): boolean {
    return super.emit(event, ...args);
  }

  private async open(): Promise<void> {
    this.dht = createDHT(this.options.network);
    this.swarm = new Hyperswarm({ dht: this.dht, keyPair: this.options.keyPair });
    this.swarm.on('connection', (stream, info) => this.onConnection(stream, info));
    const discovery = this.swarm.join(this.topic, { server: true, client: true });
    this.logger.info(`joining the session topic as ${short(this.self.id)} (${this.self.name})`);
    await discovery.flushed();
    if (this.closing) return;
    this.setStatus(this.members.size ? 'connected' : 'alone');
    this.scheduleRefresh();
  }

  /**
   * Two peers that join in the same instant may each look up before the other has announced; then
   * neither finds the other. While alone, look again with backoff; gossip closes the rest of the mesh.
   */
  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    if (this.closing || !this.swarm) return;
    const delay = this.members.size ? 60_000 : this.refreshDelay;
    this.refreshTimer = setTimeout(() => {
      if (this.closing || !this.swarm) return;
      this.refreshDelay = Math.min(this.refreshDelay * 2, 30_000);
      this.swarm.join(this.topic, { server: true, client: true });
      this.swarm
        .flush()
        .catch((err: Error) => this.logger.debug(`refresh: ${err.message}`))
        .finally(() => this.scheduleRefresh());
    }, delay);
  }

  private onConnection(stream: Hyperswarm.SecretStream, info: Hyperswarm.PeerInfo): void {
    if (this.closing) {
      stream.on('error', () => {});
      stream.destroy();
      return;
    }
    let conn: PeerConnection;
    try {
      conn = new PeerConnection(stream, {
        authKey: this.authKey,
        hello: { name: this.self.name, colour: this.self.colour },
        authTimeoutMs: this.options.authTimeoutMs ?? 10_000,
        pingIntervalMs: this.options.pingIntervalMs ?? 5_000,
        logger: this.logger,
      });
    } catch (err) {
      this.logger.warn(`could not open a channel: ${(err as Error).message}`);
      stream.on('error', () => {});
      stream.destroy();
      return;
    }
    this.pending.add(conn);
    const id = conn.remoteId;
    conn.on('rejected', (reason: string) => {
      this.logger.warn(`refused ${short(id)}: ${reason}`);
      info.ban(true); // do not redial someone who cannot prove membership
      this.emit('peer-rejected', id, reason);
    });
    conn.on('mismatch', (version: number) => {
      const message = `The other peer runs Hyperpair protocol ${version}; this one runs protocol 1. Update Hyperpair so that both match.`;
      this.logger.error(message);
      info.ban(true);
      this.emit('protocol-mismatch', version, message);
    });
    conn.on('ready', () => this.onMember(conn));
    conn.on('peers', (keys: Uint8Array[]) => this.onGossip(keys));
    conn.on('data', (data: Uint8Array) => {
      if (this.members.get(id) === conn) this.emit('message', toPeerInfo(conn), data);
    });
    conn.on('closed', (reason: string, bye: boolean) => this.onClosed(conn, reason, bye));
  }

  private onMember(conn: PeerConnection): void {
    this.pending.delete(conn);
    const id = conn.remoteId;
    const previous = this.members.get(id);
    this.members.set(id, conn);
    this.departed.delete(id);
    const timer = this.redialTimers.get(id);
    if (timer) {
      clearTimeout(timer);
      this.redialTimers.delete(id);
    }
    if (previous && previous !== conn) {
      previous.destroy('replaced by a newer connection');
    } else {
      this.logger.info(`${conn.hello?.name} joined (${short(id)})`);
      this.emit('peer-join', toPeerInfo(conn));
    }
    this.setStatus('connected');
    this.gossip();
  }

  private onClosed(conn: PeerConnection, reason: string, bye: boolean): void {
    this.pending.delete(conn);
    const id = conn.remoteId;
    if (this.members.get(id) !== conn) return; // never a member, or already replaced
    this.members.delete(id);
    this.logger.info(`${conn.hello?.name} ${bye ? 'left' : 'disconnected'} (${reason})`);
    this.emit('peer-leave', toPeerInfo(conn), reason);
    if (!this.closing && this.swarm) {
      if (bye) {
        this.departed.add(id);
        this.swarm.leavePeer(conn.remotePublicKey);
      } else {
        this.redial(conn.remotePublicKey);
      }
    }
    this.setStatus(this.closing ? 'closed' : this.members.size ? 'connected' : bye ? 'alone' : 'offline');
    if (!this.members.size) {
      this.refreshDelay = 500;
      this.scheduleRefresh();
    }
  }

  /** A peer that dropped without goodbye is dialled again (with hyperswarm's backoff) for a while. */
  private redial(publicKey: Buffer): void {
    const id = publicKey.toString('hex');
    if (!this.swarm || this.redialTimers.has(id)) return;
    this.swarm.joinPeer(publicKey);
    const timer = setTimeout(() => {
      this.redialTimers.delete(id);
      if (!this.members.has(id)) this.swarm?.leavePeer(publicKey);
    }, this.options.redialForMs ?? 5 * 60_000);
    timer.unref();
    this.redialTimers.set(id, timer);
  }

  private gossip(): void {
    const keys = [...this.members.values()].map((c) => c.remotePublicKey).slice(0, 256);
    for (const c of this.members.values()) c.sendPeers(keys.filter((k) => !k.equals(c.remotePublicKey)));
  }

  private onGossip(keys: Uint8Array[]): void {
    if (!this.swarm || this.closing) return;
    for (const key of keys) {
      const id = Buffer.from(key).toString('hex');
      if (id === this.self.id || this.members.has(id) || this.departed.has(id)) continue;
      this.logger.debug(`gossip: dialling ${short(id)}`);
      this.redial(Buffer.from(key));
    }
  }

  private setStatus(status: SessionStatus): void {
    if (this._status === status || this._status === 'closed') return;
    this._status = status;
    this.emit('status', status);
  }

  private async close(): Promise<void> {
    await this.opening?.catch(() => {});
    clearTimeout(this.refreshTimer);
    for (const t of this.redialTimers.values()) clearTimeout(t);
    this.redialTimers.clear();
    for (const c of [...this.members.values(), ...this.pending]) c.leave('left the session');
    // Let goodbyes reach the wire before the sockets go.
    await new Promise((r) => setTimeout(r, 50));
    this.setStatus('closed');
    await this.swarm?.destroy().catch((err: Error) => this.logger.debug(`swarm destroy: ${err.message}`));
    await this.dht?.destroy().catch((err: Error) => this.logger.debug(`dht destroy: ${err.message}`));
    this.members.clear();
    this.pending.clear();
    this.logger.info('left the session');
  }
}

function toPeerInfo(c: PeerConnection): PeerInfo {
  return { id: c.remoteId, name: c.hello?.name ?? 'Anonymous', colour: c.hello?.colour ?? '#888888' };
}

export function colourFor(id: string): string {
  return PALETTE[parseInt(id.slice(0, 8), 16) % PALETTE.length];
}
