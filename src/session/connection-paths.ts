/**
 * The two ways a connection to a peer arrives — hyperswarm over the DHT (UDX) and LAN discovery
 * (TCP) — held side by side by the session itself, through hyperswarm's public API only
 * (`on('connection')`, `connections`, `peers`). One connection per peer is kept:
 * - DHT against DHT: hyperswarm's own rule (it destroys the loser before we see it twice);
 * - LAN against DHT: the LAN one, on both sides alike, whichever arrived first. A DHT stream to a peer
 *   held over the LAN is refused; a LAN stream to a peer held over the DHT is delivered, and the DHT
 *   one goes (at once when it is not yet a member; otherwise the LAN one replaces it when admitted,
 *   so that the member does not blink out in between);
 * - LAN against LAN (both dialled in the same moment): the one dialled by the peer with the larger
 *   public key, hyperswarm's tie-break, which both sides compute alike. A LAN connection the other
 *   side lost but this side still holds goes with the ping timeout, and the next one is taken.
 * A key banned on either path (§4.2) is refused on both.
 */
import type Hyperswarm from 'hyperswarm';
import { DUPLICATE_CONNECTION } from './connection';
import { LanDiscovery, type LanInfo, type LanOptions } from './lan';
import type { Logger } from './log';

export interface PathsOptions {
  swarm: Hyperswarm;
  logger: Logger;
  /** LAN discovery's settings (without the callbacks this module supplies), or undefined for none. */
  lan: Omit<LanOptions, 'onStream' | 'connectedKeys' | 'logger'> | undefined;
  /** A stream that is kept: authenticate it and follow it. `ban` bans its key on both paths. */
  deliver(stream: Hyperswarm.SecretStream, ban: () => void): void;
  /** A DHT stream that a LAN stream supersedes: whether it is a member (then it is replaced later). */
  isMember(stream: Hyperswarm.SecretStream): boolean;
}

export class ConnectionPaths {
  private readonly lanStreams = new Map<string, Hyperswarm.SecretStream>();
  private readonly lanSet = new WeakSet<Hyperswarm.SecretStream>();
  private readonly banned = new Set<string>();
  private lan: LanDiscovery | undefined;
  /** Why LAN discovery is not running although it is switched on. */
  lanError: string | undefined;
  private closed = false;

  constructor(private o: PathsOptions) {
    o.swarm.on('connection', (stream, info) => this.fromDht(stream, info));
  }

  /** Starts LAN discovery (best effort beside the DHT: a failure is logged and kept for diagnostics). */
  async startLan(): Promise<void> {
    if (!this.o.lan || this.closed) return;
    const lan = new LanDiscovery({
      ...this.o.lan,
      logger: this.o.logger,
      onStream: (stream) => this.fromLan(stream),
      connectedKeys: () => this.keys(),
    });
    this.lan = lan;
    try {
      await lan.ready();
    } catch (err) {
      this.lanError = (err as Error).message;
      this.o.logger.warn(`LAN discovery is off: ${this.lanError}`);
      this.lan = undefined;
      await lan.close();
    }
  }

  /** The session code changed (Session.rekey): LAN discovery answers and asks under the new names. */
  rekeyLan(lanKey: Buffer): void {
    if (this.o.lan) this.o.lan = { ...this.o.lan, lanKey };
    this.lan?.rekey(lanKey);
  }

  lanInfo(): LanInfo | undefined {
    return this.lan?.info();
  }

  lookSoon(): void {
    this.lan?.lookSoon();
  }

  isLan(stream: Hyperswarm.SecretStream): boolean {
    return this.lanSet.has(stream);
  }

  /** Bans a key for the rest of the session, on both paths. */
  ban(key: Buffer, info?: Hyperswarm.PeerInfo): void {
    const id = key.toString('hex');
    this.banned.add(id);
    (info ?? this.o.swarm.peers.get(id))?.ban(true);
    const lan = this.lanStreams.get(id);
    if (lan) drop(lan);
  }

  /** Every peer this one holds a connection to, by either path (LAN discovery does not dial those). */
  *keys(): Iterable<Buffer> {
    for (const s of this.lanStreams.values()) yield s.remotePublicKey;
    for (const s of this.o.swarm.connections) yield s.remotePublicKey;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.lan?.close().catch((err: Error) => this.o.logger.debug(`LAN close: ${err.message}`));
    for (const s of this.lanStreams.values()) s.destroy();
    this.lanStreams.clear();
  }

  private fromDht(stream: Hyperswarm.SecretStream, info: Hyperswarm.PeerInfo): void {
    const id = stream.remotePublicKey.toString('hex');
    if (this.closed || this.banned.has(id)) return drop(stream);
    // The peer is held over the LAN: this DHT connection loses, whichever came first.
    if (this.lanStreams.has(id)) return drop(stream, DUPLICATE_CONNECTION);
    this.o.deliver(stream, () => this.ban(stream.remotePublicKey, info));
  }

  private fromLan(stream: Hyperswarm.SecretStream): void {
    const key = stream.remotePublicKey;
    const id = key.toString('hex');
    if (this.closed || this.banned.has(id) || this.o.swarm.peers.get(id)?.banned) return drop(stream);
    const existing = this.lanStreams.get(id);
    if (existing && !existing.destroyed) {
      if (!keepsNew(stream)) return drop(stream, DUPLICATE_CONNECTION);
      drop(existing, DUPLICATE_CONNECTION);
    }
    this.lanSet.add(stream);
    this.lanStreams.set(id, stream);
    stream.once('close', () => {
      if (this.lanStreams.get(id) === stream) this.lanStreams.delete(id);
    });
    for (const s of this.o.swarm.connections) {
      if (s.remotePublicKey.equals(key) && !this.o.isMember(s)) drop(s, DUPLICATE_CONNECTION);
    }
    this.o.deliver(stream, () => this.ban(key));
  }
}

/** Of two simultaneous connections between one pair, each side keeps the one the larger key dialled. */
function keepsNew(stream: Hyperswarm.SecretStream): boolean {
  return Buffer.compare(stream.publicKey, stream.remotePublicKey) > 0 === stream.isInitiator;
}

/** Destroys a stream nobody follows yet; DUPLICATE_CONNECTION tells a PeerConnection on it not to ban. */
function drop(stream: Hyperswarm.SecretStream, message?: string): void {
  stream.on('error', () => {});
  stream.destroy(message ? new Error(message) : undefined);
}
