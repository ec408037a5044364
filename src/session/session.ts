/**
 * A Hyperpair session: a session code → a hyperswarm topic → authenticated peer connections →
 * membership. Every member connects to every other (a mesh); no member is special, so the session
 * survives whoever leaves. `Session` is the PeerTransport the sync layer runs over.
 *
 * This class is the facade and the lifecycle (open, leave); the work is done by collaborators that
 * own their state: `CurrentCode` (the code and its keys), `MemberTable` (who is a member),
 * `Gatekeeper` (admission, §8), `Mesh` (redials, gossip, look-ups), `ConnectProblems` (relays and
 * holepunch failures), `PeerConnection` (one connection, §4–§5), `SessionNetwork` (the DHT node, the
 * swarm and `ConnectionPaths`: how connections arrive), `StatusLight` (the status it tells).
 */
import HyperDHT from 'hyperdht';
import type Hyperswarm from 'hyperswarm';
import Protomux from 'protomux';
import { TypedEmitter } from './events';
import { createSessionCode } from './code';
import { ConnectProblems } from './connect-problems';
import type { PeerConnection } from './connection';
import { buildDiagnosis, type Diagnosis } from './diagnose';
import { colourFor, parseColour, shortKey } from './format';
import { Gatekeeper } from './gatekeeper';
import { intake, type IntakeOptions } from './intake';
import { silentLogger, type Logger } from './log';
import { MemberTable, toPeerInfo } from './members';
import { Mesh } from './mesh';
import { DisposableStore } from './disposable';
import { noDhtNodeMessage } from './network';
import { RefusalReport } from './refusals';
import { CurrentCode } from './current-code';
import { SessionNetwork } from './session-network';
import { StatusLight } from './status-light';
import { describeDeparture } from './departure';
import type { Role } from './admission';
import type { PeerStats, SessionEvents, SessionOptions, SessionStatus } from './session-types';
import type { PeerInfo, PeerTransport } from './transport';
import { cleanName } from './wire';

export type { PeerStats, SessionEvents, SessionOptions, SessionStatus } from './session-types';
export { SessionCodeError } from './code';
export { colourFor } from './format';

export class Session extends TypedEmitter<SessionEvents> implements PeerTransport {
  readonly self: PeerInfo;
  /** The current code and what it derives; rekey() (code rotation) replaces them all. */
  private readonly current: CurrentCode;
  private readonly keyPair: HyperDHT.KeyPair;
  private readonly logger: Logger;
  private readonly options: SessionOptions;
  private readonly refusals: RefusalReport;
  private readonly table = new MemberTable();
  private readonly gate: Gatekeeper;
  private readonly problems: ConnectProblems;
  /** What leave() releases at once, before the sockets (timers of every collaborator). */
  private readonly owned = new DisposableStore();
  private net: SessionNetwork | undefined;
  private mesh: Mesh | undefined;
  private announced = false;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private left = false;
  private signalLeaving: () => void = () => {};
  /** Resolves when `leave()` starts: a pending `ready()` must not outlive the session. */
  private readonly leaving = new Promise<void>((resolve) => (this.signalLeaving = resolve));
  private readonly light = new StatusLight((status, members) => this.emit('status', status, members));

  /** Starts a new session with a fresh code. */
  static start(options: Omit<SessionOptions, 'code'>): Session {
    return new Session({ ...options, code: createSessionCode() });
  }

  constructor(options: SessionOptions) {
    super();
    this.current = new CurrentCode(options.code);
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.problems = new ConnectProblems(options.relays ?? [], (message) => {
      this.logger.warn(message);
      this.emit('connect-problem', message);
    });
    this.refusals = this.owned.add(new RefusalReport((summary) => {
      this.logger.warn(summary.message);
      this.emit('peers-refused', summary);
    }, options.refusalWindowMs));
    this.keyPair = options.keyPair ?? HyperDHT.keyPair();
    const id = this.keyPair.publicKey.toString('hex');
    this.self = { id, name: cleanName(options.name), colour: parseColour(options.colour) ?? colourFor(id) };
    this.gate = this.owned.add(new Gatekeeper({
      table: this.table,
      self: this.self,
      owner: options.admission && { secretKey: this.keyPair.secretKey, ...options.admission },
      admissionTimeoutMs: options.admissionTimeoutMs ?? options.authTimeoutMs ?? 10_000,
      logger: this.logger,
      emit: (event, ...args) => this.emit(event, ...args),
      admitted: (conn) => this.onMember(conn),
      demoted: (conn, reason) => {
        this.emit('peer-leave', toPeerInfo(conn), reason);
        this.updateStatus();
      },
      refusedBy: (id) => this.mesh?.refusedBy(id),
      changed: () => this.updateStatus(),
      disconnect: (id, reason) => this.disconnect(id, reason),
    }));
  }

  /** The session code this peer proves and looks for now (it changes when the owner rotates it). */
  get code(): string {
    return this.current.code;
  }

  /** The hyperswarm topic of the current code: public. */
  get topic(): Buffer {
    return this.current.topic;
  }

  /**
   * Moves this peer to a new session code (rotation.ts): new connections prove the new code, the
   * topic and LAN names become the new code's and the old ones are left, so that nobody who knows
   * only the old code finds or passes this peer any more. Open connections stay as they are.
   */
  async rekey(code: string): Promise<void> {
    if (this.left) return void CurrentCode.parse(code); // a bad code is refused all the same
    const oldTopic = this.current.change(code);
    if (!oldTopic) return;
    this.logger.info('the session code changed: looking for members under the new one');
    this.emit('rekeyed', this.current.code);
    if (!this.net) return; // open() joins whichever topic is current
    const discovery = await this.net.moveTopic(this.current.topic, oldTopic, this.current.lanKey);
    await Promise.race([discovery.flushed(), this.leaving]);
    if (!this.left) this.mesh?.announced(discovery);
  }

  /** Whether this peer signs the roster (it started the session with an admission policy). */
  get isOwner(): boolean {
    return this.gate.isOwner;
  }

  /** This peer is a read-only guest: the members refuse its edits. */
  get readOnly(): boolean {
    return this.gate.readOnly;
  }

  /** The roster's policy and owner, once known. */
  get policy(): Gatekeeper['policy'] {
    return this.gate.policy;
  }

  /** Why this peer was removed from the session, if it was (as the `removed` event said). */
  get removal(): string | undefined {
    return this.gate.removal;
  }

  /** The roster's entries (who was let in, as what, and who was turned away), once known. */
  get rosterEntries(): ReadonlyArray<{ id: string; role: Role | 'denied' }> {
    return this.gate.rosterEntries;
  }

  /** (Owner) Lets a peer in, as an editor or a read-only guest; every member learns it. */
  admit(peerId: string, role: Role = 'editor'): void {
    this.gate.decide(peerId, role);
  }

  /** (Owner) Turns a peer away; it is told so, and every member refuses it from then on. */
  deny(peerId: string): void {
    this.gate.decide(peerId, 'denied');
  }

  /** Peers that know the code and wait for the owner's answer (owner only). */
  admissionRequests(): PeerInfo[] {
    return this.gate.requests();
  }

  get status(): SessionStatus {
    return this.light.status;
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
    return this.table.list().map(toPeerInfo);
  }

  peer(id: string): PeerInfo | undefined {
    const c = this.table.get(id);
    return c ? toPeerInfo(c) : undefined;
  }

  /** The protomux of a member's connection, for extra channels (src/session/member-channels.ts). */
  memberMux(id: string): Protomux | undefined {
    const c = this.table.get(id);
    return c && Protomux.from(c.stream);
  }

  /** Round-trip time to a directly connected peer, in ms, once measured. */
  rtt(id: string): number | undefined {
    return this.table.get(id)?.rttMs;
  }

  /** Connection figures of a directly connected member, or undefined. */
  peerStats(id: string): PeerStats | undefined {
    const c = this.table.get(id);
    return c && this.statsOf(c);
  }

  /**
   * What a person or a helpdesk needs to know about this peer's connectivity: DHT, NAT, LAN
   * discovery, relays, and how each member is connected. Holds no secret: no code, no topic, and
   * public keys only shortened.
   */
  diagnose(): Diagnosis {
    return buildDiagnosis({
      self: this.self,
      status: this.light.status,
      bootstrap: this.options.network?.bootstrap,
      ...this.net?.facts(),
      lanEnabled: this.options.lan !== false,
      relays: this.options.relays ?? [],
      lastConnectProblem: this.problems.last,
      members: this.table.list().map((c) => ({ id: c.remoteId, name: c.hello?.name ?? 'Anonymous', ...this.statsOf(c) })),
    });
  }

  send(peerId: string, data: Uint8Array): boolean {
    const c = this.table.get(peerId);
    if (!c) {
      this.logger.debug(`send to unknown peer ${shortKey(peerId)} dropped`);
      return false;
    }
    return c.send(data);
  }

  drained(peerId: string): Promise<void> {
    return this.table.get(peerId)?.drained() ?? Promise.resolve();
  }

  /**
   * Cuts one member off. It is not redialled (it may dial back, and is cut off again if it
   * misbehaves again); a peer that failed authentication is banned instead, by the session itself.
   */
  disconnect(peerId: string, reason: string): void {
    const c = this.table.get(peerId);
    if (!c) return;
    this.logger.warn(`disconnecting ${c.hello?.name ?? shortKey(peerId)}: ${reason}`);
    this.mesh?.cut(peerId);
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

  private async open(): Promise<void> {
    if (this.left) return;
    let discovery: Hyperswarm.PeerDiscovery;
    try {
      const net = new SessionNetwork({
        network: this.options.network,
        keyPair: this.keyPair,
        logger: this.logger,
        problems: this.problems,
        lan: this.options.lan === false ? undefined : { lanKey: this.current.lanKey, keyPair: this.keyPair, host: this.options.network?.host, ...this.options.lanTesting },
        changed: () => this.updateStatus(),
        isLeft: () => this.left,
        deliver: (stream, ban) => this.onConnection(stream, ban),
        isMember: (stream) => this.table.get(stream.remotePublicKey.toString('hex'))?.stream === stream,
      });
      this.net = net;
      this.mesh = this.owned.add(new Mesh({
        selfId: this.self.id,
        table: this.table,
        swarm: net.swarm,
        logger: this.logger,
        redialForMs: this.options.redialForMs ?? 5 * 60_000,
        changed: () => this.updateStatus(),
        lookSoon: () => net.paths.lookSoon(),
      }));
      // Before the DHT: on a network without internet the LAN is all there is, and announcing on
      // an unreachable DHT takes as long as its timeouts.
      await net.paths.startLan();
      if (this.left) return;
      discovery = net.join(this.current.topic);
      this.logger.info(`joining the session topic as ${shortKey(this.self.id)} (${this.self.name})`);
      await Promise.race([discovery.flushed(), this.leaving]);
    } catch (err) {
      if (this.left) return;
      const message = `could not join the network: ${(err as Error).message}`;
      this.logger.error(message);
      await this.leave();
      throw new Error(message);
    }
    if (this.left) return;
    this.announced = true;
    if (this.net?.noNodes) {
      const message = noDhtNodeMessage(this.options.network);
      this.logger.warn(message);
      this.emit('connect-problem', message);
    }
    this.updateStatus();
    this.mesh?.announced(discovery);
  }

  private statsOf(c: PeerConnection): PeerStats {
    return { rttMs: c.rttMs, connectedAt: c.connectedAt, lastSeenAt: c.lastSeenAt, path: this.net?.pathOf(c.stream) ?? 'direct' };
  }

  /** A new Noise stream (DHT or LAN): open the Hyperpair channel on it and follow what it says. */
  private onConnection(stream: Hyperswarm.SecretStream, ban: () => void): void {
    const conn = intake(stream, ban, this.intakeOptions, this.left);
    if (!conn) return;
    this.table.addPending(conn);
    conn.on('ready', () => !this.left && this.gate.hello(conn));
    conn.on('roster', (r) => !this.left && this.gate.rosterFrom(conn, r));
    conn.on('admission', (a) => !this.left && this.gate.admission(conn, a));
    conn.on('peers', (keys) => this.mesh?.heard(keys));
    conn.on('rtt', () => this.table.isMember(conn) && this.emit('peer-stats', toPeerInfo(conn), this.statsOf(conn)));
    conn.on('data', (data) => this.table.isMember(conn) && this.emit('message', toPeerInfo(conn), data));
    conn.on('closed', (reason, bye) => this.onClosed(conn, reason, bye));
  }

  private get intakeOptions(): IntakeOptions {
    return {
      authKey: this.current.authKey,
      hello: { name: this.self.name, colour: this.self.colour },
      authTimeoutMs: this.options.authTimeoutMs ?? 10_000,
      pingIntervalMs: this.options.pingIntervalMs ?? 5_000,
      logger: this.logger,
      rejected: (id, reason) => {
        this.emit('peer-rejected', id, reason);
        this.refusals.add(reason);
      },
      mismatch: (version, message) => this.emit('protocol-mismatch', version, message),
    };
  }

  private onMember(conn: PeerConnection): void {
    const id = conn.remoteId;
    const previous = this.table.promote(conn);
    this.mesh?.joined(id);
    if (previous) {
      previous.destroy('replaced by a newer connection');
      this.emit('peer-renewed', toPeerInfo(conn));
    } else {
      this.logger.info(`${conn.hello?.name} joined (${shortKey(id)})`);
      this.emit('peer-join', toPeerInfo(conn));
    }
    this.emit('member-mux', toPeerInfo(conn), Protomux.from(conn.stream));
    this.updateStatus();
    this.mesh?.gossip();
  }

  private onClosed(conn: PeerConnection, reason: string, bye: boolean): void {
    this.gate.forget(conn, bye);
    if (!this.table.remove(conn)) {
      // Never a member, or already replaced. A peer of the session (it said hello) that this one
      // was still waiting on (a joiner held back, or a connection torn down as a duplicate while the
      // owner's answer was in flight on it): look again now, not after the look-up backoff (up to
      // 30 s), so that a denial or an admission sent meanwhile is heard on the next connection.
      if (conn.hello) this.logger.debug(`connection to ${conn.hello.name} (${shortKey(conn.remoteId)}) closed before membership: ${reason}`);
      if (conn.hello && !this.left && this.table.size === 0) this.mesh?.lookAgain();
      return;
    }
    this.logger.info(describeDeparture(conn.hello?.name ?? shortKey(conn.remoteId), reason, bye, { selfLeaving: this.left }));
    this.emit('peer-leave', toPeerInfo(conn), reason);
    if (!this.left) this.mesh?.closed(conn, bye);
    this.updateStatus();
  }

  private updateStatus(): void {
    this.light.update({
      left: this.left,
      members: this.table.size,
      waiting: this.gate.waiting,
      offline: !!this.net?.offline,
      announced: this.announced,
      missing: !!this.mesh?.missing,
    });
  }

  private async close(): Promise<void> {
    // Never wait for a pending announce (it can take a long time offline): it ends with the swarm.
    this.signalLeaving();
    this.owned.dispose();
    const hadMembers = this.table.size > 0;
    for (const c of this.table.all()) c.leave('left the session');
    // Let goodbyes reach the wire before the sockets go.
    if (hadMembers) await new Promise((r) => setTimeout(r, 50));
    this.light.close();
    await this.net?.close();
    this.table.clear();
    this.logger.info('left the session');
  }
}
