/**
 * A Hyperpair session: a session code → a hyperswarm topic → authenticated peer connections →
 * membership. Every member connects to every other (a mesh); no member is special, so the session
 * survives whoever leaves. `Session` is the PeerTransport the sync layer runs over.
 */
import { EventEmitter } from 'node:events';
import HyperDHT from 'hyperdht';
import Hyperswarm from 'hyperswarm';
import Protomux from 'protomux';
import { parseSessionCode, createSessionCode } from './code';
import { DUPLICATE_CONNECTION, PeerConnection, short } from './connection';
import { buildDiagnosis, type ConnectionPath, type Diagnosis } from './diagnose';
import { LanDiscovery } from './lan';
import { silentLogger, type Logger } from './log';
import { createDHT, noDhtNodeMessage, type NetworkOptions, type SessionDHT } from './network';
import { RefusalReport, type RefusalSummary } from './refusals';
import { deriveKeys } from './secrets';
import { judge, signRoster, verifyRoster, withEntry, type AdmissionPolicy, type Role, type Roster, type Verdict } from './admission';
import type { Admission } from './wire';
import { SessionSwarm } from './swarm';
import type { PeerInfo, PeerTransport, TransportEvents } from './transport';
import { cleanName, MAX_GOSSIP_PEERS } from './wire';

/**
 * What the session is doing, for a status bar:
 * - `connecting`: not yet announced on the DHT;
 * - `connected`: at least one member (the count comes with the `status` event and `peers()`);
 * - `alone`: announced, nobody else here (share the code);
 * - `waiting`: members were found but have not admitted this peer yet (the owner asks);
 * - `offline`: nobody connected, and either the DHT is unreachable or a member dropped without
 *   goodbye and is being redialled (show "reconnecting");
 * - `closed`: after `leave()`.
 */
export type SessionStatus = 'connecting' | 'alone' | 'waiting' | 'connected' | 'offline' | 'closed';

/** Per-peer connection figures, for the participants view. */
export interface PeerStats {
  /** Round-trip time of the last ping, in ms; undefined until the first pong. */
  rttMs: number | undefined;
  /** When this connection became a member (ms since the epoch). */
  connectedAt: number;
  /** When anything last arrived from this peer (ms since the epoch). */
  lastSeenAt: number;
  /** How this connection runs: over the local network, directly over the DHT, or through a relay. */
  path: ConnectionPath;
}

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
  /**
   * Makes this peer the session's owner, who signs the roster: who may join (`anyone` with the code,
   * or whom the owner admits when asked) and whether guests may edit. Only the peer that starts a
   * session sets it; joiners learn the roster from the members.
   */
  admission?: { policy: AdmissionPolicy; guestRole: Role };
  /** Find peers on the local network with multicast DNS too (beside the DHT). Default true. */
  lan?: boolean;
  /** Options of LAN discovery for tests (clock, window, mDNS port). */
  lanTesting?: { now?: () => number; windowMs?: number; mdnsPort?: number; mdnsGroup?: string };
  /** Public keys of blind relays (`hyperpair relay`) to connect through when holepunching fails. */
  relays?: Buffer[];
  /** Refused connections after the first are reported together once per this window. Default 60 s. */
  refusalWindowMs?: number;
}

export interface SessionEvents extends TransportEvents {
  /** The status or the number of connected members changed. */
  status: [status: SessionStatus, members: number];
  /** Someone on the topic failed authentication and was disconnected. */
  'peer-rejected': [remoteId: string, reason: string];
  /** Refused connections for a person, rate-limited (see RefusalReport): show this, not each one. */
  'peers-refused': [summary: RefusalSummary];
  /** A peer runs another protocol version; `message` is for a person. */
  'protocol-mismatch': [remoteVersion: number, message: string];
  /** (Owner, policy `ask`) someone who knows the code asks to join: call `admit()` or `deny()`. */
  'admission-request': [peer: PeerInfo];
  /** A member holds this peer back (`waiting`) or turned it away (`denied`); `reason` is for a person. */
  admission: [state: 'waiting' | 'denied', by: PeerInfo, reason: string];
  /** This peer's own role changed (a read-only guest may not edit). */
  role: [readOnly: boolean];
  /** Connecting to a peer failed in a way a relay would fix; `message` says what to do. */
  'connect-problem': [message: string];
  /** A member's round trip was measured (every ping), with how the connection runs. */
  'peer-stats': [peer: PeerInfo, stats: PeerStats];
  /** A connection became a member's (again after a newer one replaced it): extra channels open on `mux`. */
  'member-mux': [peer: PeerInfo, mux: Protomux];
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

const REFRESH_MIN_MS = 500;
const REFRESH_MAX_MS = 30_000;
const REFRESH_CONNECTED_MS = 60_000;

const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#46a0a8', '#f032e6', '#9a6324', '#800000', '#008080'];

export class Session extends EventEmitter implements PeerTransport {
  readonly code: string;
  readonly topic: Buffer;
  readonly self: PeerInfo;
  private readonly authKey: Buffer;
  private readonly lanKey: Buffer;
  private readonly logger: Logger;
  private readonly options: SessionOptions;
  private dht: SessionDHT | undefined;
  private swarm: SessionSwarm | undefined;
  private lan: LanDiscovery | undefined;
  /** Why LAN discovery is not running although it is switched on. */
  private lanError: string | undefined;
  private lastConnectProblem: { code: string; at: number } | undefined;
  private lastProblemReportAt = 0;
  private readonly refusals: RefusalReport;
  private readonly members = new Map<string, PeerConnection>();
  private readonly pending = new Set<PeerConnection>();
  private readonly redialTimers = new Map<string, NodeJS.Timeout>();
  /** Members that dropped without goodbye and are being redialled. */
  private readonly lost = new Set<string>();
  /** Peers that said goodbye or that this peer cut off: never dialled again by us. */
  private readonly departed = new Set<string>();
  private readonly cutOff = new Set<string>();
  private discovery: Hyperswarm.PeerDiscovery | undefined;
  private announced = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshDelay = REFRESH_MIN_MS;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private left = false;
  private signalLeaving: () => void = () => {};
  /** Resolves when `leave()` starts: a pending `ready()` must not outlive the session. */
  private readonly leaving = new Promise<void>((resolve) => (this.signalLeaving = resolve));
  private _status: SessionStatus = 'connecting';
  private statusMembers = 0;
  /** The newest verified roster; the owner's own from the start, a joiner's from its members. */
  private roster: Roster | undefined;
  /** Our verdict on each connection, and what it told us of ours (both must admit for membership). */
  private readonly verdicts = new Map<PeerConnection, Verdict>();
  private readonly admissions = new Map<PeerConnection, Admission>();
  private _readOnly = false;

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
    this.lanKey = keys.lanKey;
    this.refusals = new RefusalReport((summary) => {
      this.logger.warn(summary.message);
      this.emit('peers-refused', summary);
    }, options.refusalWindowMs);
    for (const r of options.relays ?? []) {
      if (r.length !== 32) throw new Error('a relay key is 32 bytes (64 hex characters, as `hyperpair relay` prints it)');
    }
    this.logger = options.logger ?? silentLogger;
    const keyPair = options.keyPair ?? HyperDHT.keyPair();
    this.options = { ...options, keyPair };
    const id = keyPair.publicKey.toString('hex');
    this.self = {
      id,
      name: cleanName(options.name),
      colour: options.colour && /^#[0-9a-f]{6}$/i.test(options.colour) ? options.colour.toLowerCase() : colourFor(id),
    };
    if (options.admission) {
      const body = { owner: keyPair.publicKey, seq: 0, ...options.admission, entries: [] };
      this.roster = signRoster(body, keyPair.secretKey);
    }
  }

  /** Whether this peer signs the roster (it started the session with an admission policy). */
  get isOwner(): boolean {
    return !!this.options.admission;
  }

  /** This peer is a read-only guest: the members refuse its edits. */
  get readOnly(): boolean {
    return this._readOnly;
  }

  /** The admission policy and guests' role, once known (the owner knows; joiners learn it). */
  get policy(): { policy: AdmissionPolicy; guestRole: Role; ownerId: string } | undefined {
    const r = this.roster;
    return r && { policy: r.policy, guestRole: r.guestRole, ownerId: Buffer.from(r.owner).toString('hex') };
  }

  /** (Owner) Lets a peer in, as an editor or a read-only guest; every member learns it. */
  admit(peerId: string, role: Role = 'editor'): void {
    this.changeRoster(peerId, role);
  }

  /** (Owner) Turns a peer away; it is told so, and every member refuses it from then on. */
  deny(peerId: string): void {
    this.changeRoster(peerId, 'denied');
  }

  /** Peers that know the code and wait for the owner's answer (owner only). */
  admissionRequests(): PeerInfo[] {
    return [...this.verdicts].filter(([, v]) => !v.admit && v.why === 'ask').map(([c]) => toPeerInfo(c));
  }

  get status(): SessionStatus {
    return this._status;
  }

  /**
   * Joins the topic and resolves once this peer is announced on the DHT (on an unreachable DHT that
   * takes as long as hyperdht's timeouts; `status` says `offline` then). Resolves at once if the
   * session is left meanwhile. Rejects with a readable Error when the network settings cannot work
   * (e.g. a bind host that is not on this machine); the session is then already closed.
   */
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

  /** The protomux of a member's connection, for extra channels (src/session/member-channels.ts). */
  memberMux(id: string): Protomux | undefined {
    const c = this.members.get(id);
    return c && Protomux.from(c.stream);
  }

  /** Round-trip time to a directly connected peer, in ms, once measured. */
  rtt(id: string): number | undefined {
    return this.members.get(id)?.rttMs;
  }

  /** Connection figures of a directly connected member, or undefined. */
  peerStats(id: string): PeerStats | undefined {
    const c = this.members.get(id);
    if (!c) return undefined;
    return this.statsOf(c);
  }

  /**
   * What a person or a helpdesk needs to know about this peer's connectivity: DHT, NAT, LAN
   * discovery, relays, and how each member is connected. Holds no secret: no code, no topic, and
   * public keys only shortened.
   */
  diagnose(): Diagnosis {
    return buildDiagnosis({
      self: this.self,
      status: this._status,
      bootstrap: this.options.network?.bootstrap,
      dht: this.dht,
      lanEnabled: this.options.lan !== false,
      lan: this.lan?.info(),
      lanError: this.lanError,
      relays: this.options.relays ?? [],
      lastConnectProblem: this.lastConnectProblem,
      members: [...this.members.values()].map((c) => ({ id: c.remoteId, name: c.hello?.name ?? 'Anonymous', ...this.statsOf(c) })),
    });
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

  /**
   * Cuts one member off. It is not redialled (it may dial back, and is cut off again if it
   * misbehaves again); a peer that failed authentication is banned instead, by the session itself.
   */
  disconnect(peerId: string, reason: string): void {
    const c = this.members.get(peerId);
    if (!c) return;
    this.logger.warn(`disconnecting ${c.hello?.name ?? short(peerId)}: ${reason}`);
    this.cutOff.add(peerId);
    c.destroy(reason);
  }

  /** Says goodbye to everyone and releases every socket, swarm, DHT node and timer. Idempotent. */
  leave(): Promise<void> {
    if (!this.closing) {
      this.left = true; // before close() runs, so that every handler it triggers sees it
      this.closing = this.close();
    }
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
    if (this.left) return;
    try {
      const dht = createDHT(this.options.network);
      this.dht = dht;
      // The DHT's health check tells when the network goes away and comes back.
      dht.on('network-update', () => this.updateStatus());
      dht.on('peer-connect-error', (code: string) => this.onConnectError(code));
      this.swarm = new SessionSwarm({ dht, keyPair: this.options.keyPair, relayThrough: (force) => this.pickRelay(force) });
      this.swarm.on('connection', (stream, info) => this.onConnection(stream, info));
      // Before the DHT: on a network without internet the LAN is all there is, and announcing on
      // an unreachable DHT takes as long as its timeouts.
      if (this.options.lan !== false) await this.startLan();
      if (this.left) return;
      this.discovery = this.swarm.join(this.topic, { server: true, client: true });
      this.logger.info(`joining the session topic as ${short(this.self.id)} (${this.self.name})`);
      await Promise.race([this.discovery.flushed(), this.leaving]);
    } catch (err) {
      if (this.left) return;
      const message = `could not join the network: ${(err as Error).message}`;
      this.logger.error(message);
      await this.leave();
      throw new Error(message);
    }
    if (this.left) return;
    this.announced = true;
    if (this.dht?.toArray({ limit: 1 }).length === 0) {
      const message = noDhtNodeMessage(this.options.network);
      this.logger.warn(message);
      this.emit('connect-problem', message);
    }
    this.updateStatus();
    this.scheduleRefresh();
  }

  /**
   * Two peers that join in the same instant may each look up before the other has announced; then
   * neither finds the other. While alone, look again with backoff; gossip closes the rest of the mesh.
   */
  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    if (this.left || !this.discovery) return;
    // Alone, or missing a member that dropped: look often (with backoff). Otherwise rarely, to
    // catch peers that gossip cannot reach (a mesh split in two halves).
    const urgent = this.members.size === 0 || this.lost.size > 0;
    const delay = urgent ? this.refreshDelay : REFRESH_CONNECTED_MS;
    this.refreshTimer = setTimeout(() => {
      if (this.left || !this.discovery) return;
      if (urgent) this.refreshDelay = Math.min(this.refreshDelay * 2, REFRESH_MAX_MS);
      this.discovery
        .refresh({ server: true, client: true })
        .catch((err: Error) => this.logger.debug(`refresh: ${err.message}`))
        .finally(() => this.scheduleRefresh());
    }, delay);
  }

  /** Looks again soon, then backs off: after a drop, or when the last member left. */
  private refreshSoon(): void {
    this.refreshDelay = REFRESH_MIN_MS;
    this.scheduleRefresh();
    this.lan?.lookSoon();
  }

  private async startLan(): Promise<void> {
    if (!SessionSwarm.supportsLan) {
      this.lanError = 'this hyperswarm version cannot take connections from LAN discovery';
      this.logger.warn(`LAN discovery is off: ${this.lanError}`);
      return;
    }
    const lan = new LanDiscovery({
      lanKey: this.lanKey,
      keyPair: this.options.keyPair!,
      host: this.options.network?.host,
      logger: this.logger,
      onStream: (stream) => this.adoptLanStream(stream),
      connectedKeys: () => this.connectedKeys(),
      ...this.options.lanTesting,
    });
    this.lan = lan;
    try {
      await lan.ready();
    } catch (err) {
      // LAN discovery is best effort beside the DHT: report, and carry on without it.
      this.lanError = (err as Error).message;
      this.logger.warn(`LAN discovery is off: ${this.lanError}`);
      this.lan = undefined;
      await lan.close();
    }
  }

  /** Every peer this one has a connection to or is dialling, by any path. */
  private *connectedKeys(): Iterable<Buffer> {
    for (const c of this.members.values()) yield c.remotePublicKey;
    for (const c of this.pending) yield c.remotePublicKey;
    for (const s of this.swarm?.connections ?? []) yield s.remotePublicKey;
  }

  /**
   * A LAN connection joins hyperswarm's own bookkeeping, as a server connection does: one
   * connection per peer pair (SessionSwarm), no DHT dial to a peer already reached over the LAN,
   * and the same 'connection' handler, so that authentication, membership and bans are those of any
   * other connection.
   */
  private adoptLanStream(stream: Hyperswarm.SecretStream): void {
    const banned = this.swarm?.peers.get(stream.remotePublicKey.toString('hex'))?.banned;
    if (this.left || !this.swarm || banned) {
      stream.destroy();
      return;
    }
    this.swarm.addLanStream(stream);
  }

  private pickRelay(force: boolean): Buffer | null {
    const relays = this.options.relays ?? [];
    // Like hyperswarm's default: relay after holepunching failed, or when this NAT randomises ports.
    if (relays.length === 0 || !(force || this.dht?.randomized)) return null;
    return relays[Math.floor(Math.random() * relays.length)];
  }

  private onConnectError(code: string): void {
    if (this.left || !HOLEPUNCH_FAILURES.has(code)) return;
    this.lastConnectProblem = { code, at: Date.now() };
    if (Date.now() - this.lastProblemReportAt < 60_000) return;
    this.lastProblemReportAt = Date.now();
    const message = this.options.relays?.length
      ? `Could not reach a peer directly (${code}: NAT or firewall); connecting through a relay instead.`
      : `Could not reach a peer directly (${code}: NAT or firewall) and no relay is configured. ` +
        'Ask someone to run `hyperpair relay` on a reachable machine and add the key it prints to the ' +
        'hyperpair.relays setting (headless peer: --relay <key>); peers on the same local network also find each other with LAN discovery.';
    this.logger.warn(message);
    this.emit('connect-problem', message);
  }

  private pathOf(c: PeerConnection): ConnectionPath {
    if (this.swarm?.isLan(c.stream)) return 'lan';
    return this.dht?.isRelayed(c.stream) ? 'relayed' : 'direct';
  }

  private statsOf(c: PeerConnection): PeerStats {
    return { rttMs: c.rttMs, connectedAt: c.connectedAt, lastSeenAt: c.lastSeenAt, path: this.pathOf(c) };
  }

  private onConnection(stream: Hyperswarm.SecretStream, info: Hyperswarm.PeerInfo): void {
    if (this.left) {
      stream.on('error', () => {});
      stream.destroy();
      return;
    }
    // A DHT dial that completed while the peer was already reached over the LAN: the LAN one is
    // kept on both sides (SessionSwarm), so this one goes before it starts anything.
    if (this.swarm?.losesToLan(stream)) {
      stream.on('error', () => {});
      stream.destroy(new Error(DUPLICATE_CONNECTION));
      return;
    }
    let conn: PeerConnection;
    try {
      conn = new PeerConnection(stream, {
        authKey: this.authKey,
        hello: { name: this.self.name, colour: this.self.colour },
        authTimeoutMs: this.options.authTimeoutMs ?? 10_000,
        banSilence: !(this.swarm?.isLan(stream) || this.dht?.isRelayed(stream)),
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
      this.logger.debug(`refused ${short(id)}: ${reason}`);
      info.ban(true); // do not redial someone who cannot prove membership
      this.emit('peer-rejected', id, reason);
      this.refusals.add(reason);
    });
    conn.on('mismatch', (version: number) => {
      const message = `The other peer runs Hyperpair protocol ${version}; this one runs protocol 1. Update Hyperpair so that both match.`;
      this.logger.error(message);
      info.ban(true);
      this.emit('protocol-mismatch', version, message);
    });
    conn.on('ready', () => this.judgeConnection(conn));
    conn.on('roster', (r: Roster) => this.onRoster(conn, r));
    conn.on('admission', (a: Admission) => this.onAdmission(conn, a));
    conn.on('peers', (keys: Uint8Array[]) => this.onGossip(keys));
    conn.on('rtt', () => {
      if (this.members.get(id) === conn) this.emit('peer-stats', toPeerInfo(conn), this.statsOf(conn));
    });
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
    this.lost.delete(id);
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
    this.emit('member-mux', toPeerInfo(conn), Protomux.from(conn.stream));
    this.updateStatus();
    this.gossip();
  }

  // ---------------------------------------------------------------- admission (PROTOCOL.md §8)

  /** Judges a connection against the roster, tells it, and makes it a member once both sides admit. */
  private judgeConnection(conn: PeerConnection): void {
    if (!conn.hello || this.left) return;
    const verdict = judge(this.roster, conn.remotePublicKey, this.isOwner);
    const previous = this.verdicts.get(conn);
    this.verdicts.set(conn, verdict);
    const changed = !previous || previous.admit !== verdict.admit || (verdict.admit ? previous.admit && previous.role !== verdict.role : !previous.admit && previous.why !== verdict.why);
    if (verdict.admit) {
      conn.readOnly = verdict.role === 'viewer';
      if (changed) {
        // The roster first: a joiner judges the others by it once it is a member.
        if (this.roster) conn.sendRoster(this.roster);
        conn.sendAdmission({ state: 'admitted', readOnly: conn.readOnly, reason: '' });
      }
      this.maybeMember(conn);
      return;
    }
    this.demote(conn, verdict.why === 'denied' ? 'denied' : 'not admitted');
    if (!changed) return;
    const owner = this.ownerName();
    if (verdict.why === 'denied') {
      conn.sendAdmission({ state: 'denied', readOnly: false, reason: `${owner} denied your request to join this session.` });
      this.logger.info(`${conn.hello.name} (${short(conn.remoteId)}) was denied`);
      conn.destroy('denied');
      return;
    }
    const reason = `waiting for ${owner} to let you in`;
    conn.sendAdmission({ state: 'waiting', readOnly: false, reason });
    if (verdict.why === 'ask') {
      this.logger.info(`${conn.hello.name} (${short(conn.remoteId)}) asks to join`);
      this.emit('admission-request', toPeerInfo(conn));
    }
  }

  /** The name of the session's owner as this peer knows it (a denied peer hears it from anyone). */
  private ownerName(): string {
    if (this.isOwner) return this.self.name;
    const id = this.roster ? Buffer.from(this.roster.owner).toString('hex') : undefined;
    return (id && this.members.get(id)?.hello?.name) || 'the owner of the session';
  }

  private maybeMember(conn: PeerConnection): void {
    const mine = this.verdicts.get(conn);
    if (mine?.admit && this.admissions.get(conn)?.state === 'admitted' && this.members.get(conn.remoteId) !== conn) {
      this.onMember(conn);
    }
  }

  /** A member no longer admitted (by us or by it) becomes a pending connection again. */
  private demote(conn: PeerConnection, reason: string): void {
    if (this.members.get(conn.remoteId) !== conn) return;
    this.members.delete(conn.remoteId);
    this.pending.add(conn);
    this.emit('peer-leave', toPeerInfo(conn), reason);
    this.updateStatus();
  }

  private onAdmission(conn: PeerConnection, a: Admission): void {
    this.admissions.set(conn, a);
    if (a.state === 'admitted') {
      // Without a roster (still joining), the members' word is all there is about our role.
      if (!this.roster) this.setReadOnly(a.readOnly);
      this.maybeMember(conn);
      return;
    }
    this.demote(conn, a.state);
    this.logger.info(`${conn.hello?.name ?? short(conn.remoteId)}: ${a.state} (${a.reason})`);
    if (a.state === 'denied') this.departed.add(conn.remoteId);
    this.emit('admission', a.state, toPeerInfo(conn), a.reason);
    this.updateStatus();
  }

  private onRoster(conn: PeerConnection, r: Roster): void {
    if (!verifyRoster(r)) {
      this.disconnect(conn.remoteId, 'sent a roster with a bad signature');
      if (!this.members.has(conn.remoteId)) conn.destroy('sent a roster with a bad signature');
      return;
    }
    if (this.isOwner) return; // ours is the only one that counts
    if (this.roster && !Buffer.from(this.roster.owner).equals(Buffer.from(r.owner))) {
      this.logger.warn(`${conn.hello?.name ?? short(conn.remoteId)} passed on a roster of another owner; ignored`);
      return;
    }
    if (this.roster && r.seq <= this.roster.seq) return;
    this.adoptRoster(r);
  }

  private adoptRoster(r: Roster): void {
    this.roster = r;
    const mine = judge(r, Buffer.from(this.self.id, 'hex'), false);
    if (mine.admit) this.setReadOnly(mine.role === 'viewer');
    for (const c of this.members.values()) c.sendRoster(r);
    for (const c of [...this.members.values(), ...this.pending]) this.judgeConnection(c);
  }

  private changeRoster(peerId: string, role: Role | 'denied'): void {
    if (!this.isOwner || !this.roster) throw new Error('only the peer that started the session admits or denies');
    const body = withEntry(this.roster, Buffer.from(peerId, 'hex'), role);
    const r = signRoster(body, this.options.keyPair!.secretKey);
    this.roster = r;
    for (const c of this.members.values()) c.sendRoster(r);
    for (const c of [...this.members.values(), ...this.pending]) this.judgeConnection(c);
  }

  private setReadOnly(readOnly: boolean): void {
    if (this._readOnly === readOnly) return;
    this._readOnly = readOnly;
    this.emit('role', readOnly);
  }

  private onClosed(conn: PeerConnection, reason: string, bye: boolean): void {
    this.pending.delete(conn);
    this.verdicts.delete(conn);
    this.admissions.delete(conn);
    const id = conn.remoteId;
    if (this.members.get(id) !== conn) return; // never a member, or already replaced
    this.members.delete(id);
    this.logger.info(`${conn.hello?.name} ${bye ? 'left' : 'disconnected'} (${reason})`);
    this.emit('peer-leave', toPeerInfo(conn), reason);
    const cut = this.cutOff.delete(id);
    if (!this.left && this.swarm) {
      if (bye || cut) {
        this.departed.add(id);
        this.swarm.leavePeer(conn.remotePublicKey);
      } else {
        this.lost.add(id);
        this.redial(conn.remotePublicKey);
      }
      // Hyperswarm's own redial backs off to ten minutes after four failures; looking the topic up
      // again finds a peer that came back (and resets that backoff) much sooner.
      if (!(bye || cut) || !this.members.size) this.refreshSoon();
    }
    this.updateStatus();
  }

  /**
   * Keeps dialling a peer (hyperswarm `joinPeer`, with its backoff) for a while: a member that dropped
   * without goodbye, or a member of the session that gossip told us about.
   */
  private redial(publicKey: Buffer): void {
    const id = publicKey.toString('hex');
    if (!this.swarm || this.redialTimers.has(id)) return;
    this.swarm.joinPeer(publicKey);
    const timer = setTimeout(() => {
      this.redialTimers.delete(id);
      if (this.members.has(id)) return;
      this.swarm?.leavePeer(publicKey);
      if (this.lost.delete(id)) {
        this.logger.info(`gave up redialling ${short(id)}`);
        this.updateStatus();
      }
    }, this.options.redialForMs ?? 5 * 60_000);
    timer.unref();
    this.redialTimers.set(id, timer);
  }

  private gossip(): void {
    const keys = [...this.members.values()].map((c) => c.remotePublicKey).slice(0, 256);
    for (const c of this.members.values()) c.sendPeers(keys.filter((k) => !k.equals(c.remotePublicKey)));
  }

  private onGossip(keys: Uint8Array[]): void {
    if (!this.swarm || this.left) return;
    for (const key of keys) {
      const id = Buffer.from(key).toString('hex');
      if (id === this.self.id || this.members.has(id) || this.departed.has(id)) continue;
      // A member could gossip endless made-up keys; never dial more than a session can hold.
      if (this.redialTimers.size >= MAX_GOSSIP_PEERS) break;
      this.logger.debug(`gossip: dialling ${short(id)}`);
      this.redial(Buffer.from(key));
    }
  }

  private updateStatus(): void {
    if (this.left) return this.setStatus('closed');
    if (this.members.size) return this.setStatus('connected');
    if ([...this.admissions.values()].some((a) => a.state === 'waiting')) return this.setStatus('waiting');
    if (!this.announced) return this.setStatus(this.dht && !this.dht.online ? 'offline' : 'connecting');
    this.setStatus(this.lost.size || (this.dht && !this.dht.online) ? 'offline' : 'alone');
  }

  private setStatus(status: SessionStatus): void {
    const members = status === 'closed' ? 0 : this.members.size;
    if (this._status === 'closed' || (this._status === status && this.statusMembers === members)) return;
    this._status = status;
    this.statusMembers = members;
    this.emit('status', status, members);
  }

  private async close(): Promise<void> {
    // Never wait for a pending announce (it can take a long time offline): it ends with the swarm.
    this.signalLeaving();
    this.refusals.close();
    clearTimeout(this.refreshTimer);
    for (const t of this.redialTimers.values()) clearTimeout(t);
    this.redialTimers.clear();
    const hadMembers = this.members.size > 0;
    for (const c of [...this.members.values(), ...this.pending]) c.leave('left the session');
    // Let goodbyes reach the wire before the sockets go.
    if (hadMembers) await new Promise((r) => setTimeout(r, 50));
    this.setStatus('closed');
    await this.lan?.close().catch((err: Error) => this.logger.debug(`LAN close: ${err.message}`));
    await this.swarm?.destroy().catch((err: Error) => this.logger.debug(`swarm destroy: ${err.message}`));
    await this.dht?.destroy().catch((err: Error) => this.logger.debug(`dht destroy: ${err.message}`));
    this.members.clear();
    this.pending.clear();
    this.logger.info('left the session');
  }
}

/** Failures of a direct connection that a relay gets around (hyperdht error codes). */
const HOLEPUNCH_FAILURES = new Set([
  'HOLEPUNCH_ABORTED',
  'HOLEPUNCH_DOUBLE_RANDOMIZED_NATS',
  'HOLEPUNCH_PROBE_TIMEOUT',
  'CANNOT_HOLEPUNCH',
  'REMOTE_NOT_HOLEPUNCHABLE',
  'REMOTE_NOT_HOLEPUNCHING',
]);

function toPeerInfo(c: PeerConnection): PeerInfo {
  const info = { id: c.remoteId, name: c.hello?.name ?? 'Anonymous', colour: c.hello?.colour ?? '#888888' };
  return c.readOnly ? { ...info, readOnly: true } : info;
}

export function colourFor(id: string): string {
  return PALETTE[parseInt(id.slice(0, 8), 16) % PALETTE.length];
}
