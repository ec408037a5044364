/**
 * Keeping the mesh whole: every member connects to every other. Redials a member that dropped
 * without goodbye (for a while), dials members that gossip names, never redials one that said
 * goodbye or was cut off, and looks the topic up again (with backoff while alone or missing someone).
 */
import type Hyperswarm from 'hyperswarm';
import type { PeerConnection } from './connection';
import { Disposable, timeout, toDisposable, type IDisposable } from './disposable';
import { shortKey } from './format';
import type { Logger } from './log';
import type { MemberTable } from './members';
import { MAX_GOSSIP_PEERS } from './wire';

const REFRESH_MIN_MS = 500;
const REFRESH_MAX_MS = 30_000;
const REFRESH_CONNECTED_MS = 60_000;

export interface MeshOptions {
  selfId: string;
  table: MemberTable;
  swarm: Hyperswarm;
  logger: Logger;
  /** How long to keep redialling a peer whose connection dropped without goodbye. */
  redialForMs: number;
  /** Something the status depends on changed (a redial given up). */
  changed(): void;
  /** Look for LAN peers again soon. */
  lookSoon(): void;
}

export class Mesh extends Disposable {
  private readonly redials = new Map<string, IDisposable>();
  /** Members that dropped without goodbye and are being redialled. */
  private readonly lost = new Set<string>();
  /** Peers that said goodbye, turned us away, or that this peer cut off: never dialled again by us. */
  private readonly departed = new Set<string>();
  private readonly cutOff = new Set<string>();
  private discovery: Hyperswarm.PeerDiscovery | undefined;
  private refreshTimer: IDisposable | undefined;
  private refreshDelay = REFRESH_MIN_MS;

  constructor(private readonly o: MeshOptions) {
    super();
    this.register(toDisposable(() => this.refreshTimer?.dispose()));
    this.register(toDisposable(() => [...this.redials.values()].forEach((t) => t.dispose())));
  }

  /** Some member dropped without goodbye and is being redialled. */
  get missing(): boolean {
    return this.lost.size > 0;
  }

  /** The topic is joined: keep looking it up. */
  announced(discovery: Hyperswarm.PeerDiscovery): void {
    if (this.disposed) return;
    this.discovery = discovery;
    this.scheduleRefresh();
  }

  joined(id: string): void {
    this.departed.delete(id);
    this.lost.delete(id);
    this.redials.get(id)?.dispose();
    this.redials.delete(id);
  }

  /** This peer cuts `id` off: when its connection closes, it is not redialled. */
  cut(id: string): void {
    this.cutOff.add(id);
  }

  /** A member turned this peer away. */
  refusedBy(id: string): void {
    this.departed.add(id);
  }

  /** A member's connection closed: redial it unless it said goodbye or was cut off. */
  closed(conn: PeerConnection, bye: boolean): void {
    const id = conn.remoteId;
    const cut = this.cutOff.delete(id);
    if (this.disposed) return;
    if (bye || cut) {
      this.departed.add(id);
      this.o.swarm.leavePeer(conn.remotePublicKey);
    } else {
      this.lost.add(id);
      this.redial(conn.remotePublicKey);
    }
    // Hyperswarm's own redial backs off to ten minutes after four failures; looking the topic up
    // again finds a peer that came back (and resets that backoff) much sooner.
    if (!(bye || cut) || !this.o.table.size) this.lookAgain();
  }

  /** Tells every member whom this peer is connected to. */
  gossip(): void {
    const members = this.o.table.list();
    const keys = members.map((c) => c.remotePublicKey).slice(0, MAX_GOSSIP_PEERS);
    for (const c of members) c.sendPeers(keys.filter((k) => !k.equals(c.remotePublicKey)));
  }

  /** A member says whom it is connected to: dial those this peer is not. */
  heard(keys: Uint8Array[]): void {
    if (this.disposed) return;
    for (const key of keys) {
      const id = Buffer.from(key).toString('hex');
      if (id === this.o.selfId || this.o.table.has(id) || this.departed.has(id)) continue;
      // A member could gossip endless made-up keys; never dial more than a session can hold.
      if (this.redials.size >= MAX_GOSSIP_PEERS) break;
      this.o.logger.debug(`gossip: dialling ${shortKey(id)}`);
      this.redial(Buffer.from(key));
    }
  }

  /** Keeps dialling a peer (hyperswarm `joinPeer`, with its backoff) for a while. */
  private redial(publicKey: Buffer): void {
    const id = publicKey.toString('hex');
    if (this.disposed || this.redials.has(id)) return;
    this.o.swarm.joinPeer(publicKey);
    const timer = timeout(() => {
      this.redials.delete(id);
      if (this.o.table.has(id)) return;
      this.o.swarm.leavePeer(publicKey);
      if (this.lost.delete(id)) {
        this.o.logger.info(`gave up redialling ${shortKey(id)}`);
        this.o.changed();
      }
    }, this.o.redialForMs);
    this.redials.set(id, timer);
  }

  /**
   * Two peers that join in the same instant may each look up before the other has announced; then
   * neither finds the other. While alone, look again with backoff; gossip closes the rest of the mesh.
   */
  private scheduleRefresh(): void {
    this.refreshTimer?.dispose();
    if (this.disposed || !this.discovery) return;
    const discovery = this.discovery;
    // Alone, or missing a member that dropped: look often (with backoff). Otherwise rarely, to
    // catch peers that gossip cannot reach (a mesh split in two halves).
    const urgent = this.o.table.size === 0 || this.lost.size > 0;
    this.refreshTimer = timeout(
      () => {
        if (this.disposed) return;
        if (urgent) this.refreshDelay = Math.min(this.refreshDelay * 2, REFRESH_MAX_MS);
        discovery
          .refresh({ server: true, client: true })
          .catch((err: Error) => this.o.logger.debug(`refresh: ${err.message}`))
          .finally(() => this.scheduleRefresh());
      },
      urgent ? this.refreshDelay : REFRESH_CONNECTED_MS,
    );
  }

  /** Looks again soon, then backs off: after a drop, or when the last member left. */
  lookAgain(): void {
    if (this.disposed) return;
    this.refreshDelay = REFRESH_MIN_MS;
    this.scheduleRefresh();
    this.o.lookSoon();
  }
}
