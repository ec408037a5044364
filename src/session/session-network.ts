/**
 * What a session runs on: one DHT node, the hyperswarm over it, and the two paths connections arrive
 * by (connection-paths.ts). Made when the session opens, moved to another topic when the code
 * rotates, and closed in reverse order when the session leaves.
 */
import type HyperDHT from 'hyperdht';
import Hyperswarm from 'hyperswarm';
import type { ConnectProblems } from './connect-problems';
import { ConnectionPaths, type PathsOptions } from './connection-paths';
import type { DiagnosisInput } from './diagnose';
import type { Logger } from './log';
import { createDHT, type NetworkOptions, type SessionDHT } from './network';
import type { PeerStats } from './session-types';

/** hyperswarm 4.17 dials topic peers only below maxPeers / 4 once four are joined explicitly (the
 *  mesh's redials, gossip): its default 64 would cap a peer at 16 links, under a 30-person session. */
const MAX_PEERS = 4 * 64;

export interface SessionNetworkParts extends Pick<PathsOptions, 'lan' | 'deliver' | 'isMember'> {
  network: NetworkOptions | undefined;
  keyPair: HyperDHT.KeyPair;
  logger: Logger;
  /** Explains failed dials and picks relays. */
  problems: ConnectProblems;
  /** The DHT's health check says the network went away or came back. */
  changed(): void;
  /** The session is leaving: failures from now on are no news. */
  isLeft(): boolean;
}

export class SessionNetwork {
  readonly dht: SessionDHT;
  readonly swarm: Hyperswarm;
  readonly paths: ConnectionPaths;

  /** Throws a readable Error when the network settings cannot work (e.g. a bind host not on this machine). */
  constructor(private readonly o: SessionNetworkParts) {
    const dht = createDHT(o.network);
    this.dht = dht;
    try {
      dht.on('network-update', () => o.changed());
      dht.on('peer-connect-error', (code: string) => !o.isLeft() && o.problems.failed(code));
      this.swarm = new Hyperswarm({ dht, keyPair: o.keyPair, maxPeers: MAX_PEERS, relayThrough: (force) => o.problems.pickRelay(force, !!dht.randomized) });
      this.paths = new ConnectionPaths({ swarm: this.swarm, logger: o.logger, lan: o.lan, deliver: o.deliver, isMember: o.isMember });
    } catch (err) {
      void dht.destroy().catch(() => {});
      throw err;
    }
  }

  /** The DHT says the network is gone. */
  get offline(): boolean {
    return !this.dht.online;
  }

  /** Knows no DHT node at all (after announcing: the bootstrap nodes are unreachable). */
  get noNodes(): boolean {
    return this.dht.toArray({ limit: 1 }).length === 0;
  }

  /** How a member's connection runs. */
  pathOf(stream: Hyperswarm.SecretStream): PeerStats['path'] {
    return this.paths.isLan(stream) ? 'lan' : this.dht.isRelayed(stream) ? 'relayed' : 'direct';
  }

  /** What diagnose.ts reports of the DHT and LAN discovery. */
  facts(): Pick<DiagnosisInput, 'dht' | 'lan' | 'lanError'> {
    return { dht: this.dht, lan: this.paths.lanInfo(), lanError: this.paths.lanError };
  }

  join(topic: Buffer): Hyperswarm.PeerDiscovery {
    return this.swarm.join(topic, { server: true, client: true });
  }

  /** The session code changed: LAN discovery takes the new names, the new topic is joined, the old one left. */
  async moveTopic(topic: Buffer, oldTopic: Buffer, lanKey: Buffer): Promise<Hyperswarm.PeerDiscovery> {
    this.paths.rekeyLan(lanKey);
    const discovery = this.join(topic);
    await this.swarm.leave(oldTopic).catch((err: Error) => this.o.logger.debug(`leave old topic: ${err.message}`));
    return discovery;
  }

  async close(): Promise<void> {
    await this.paths.close();
    await this.swarm.destroy().catch((err: Error) => this.o.logger.debug(`swarm destroy: ${err.message}`));
    await this.dht.destroy().catch((err: Error) => this.o.logger.debug(`dht destroy: ${err.message}`));
  }
}
