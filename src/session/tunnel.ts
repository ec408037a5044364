/**
 * Shared servers: a member shares a local port, and every other member gets the same service on
 * 127.0.0.1 of its own (the same port number when it is free), carried over the session's existing
 * authenticated connections (`hyperpair/tunnel`, docs/PROTOCOL.md §9.2). Nothing is announced
 * anywhere: only members, over member connections, ever see a share, and a peer can only reach the
 * ports shared with it. Stopping a share closes its connections; leaving the session ends them all.
 */
import { TypedEmitter } from './events';
import * as net from 'node:net';
import { silentLogger, type Logger } from './log';
import { MemberChannels, type MemberMuxSource } from './member-channels';
import { pacerOf } from './pacer';
import { TunnelLink, type LinkHost } from './tunnel-link';
import { MAX_LABEL, MAX_SHARES, TUNNEL_PROTOCOL, TUNNEL_VERSION, type ShareInfo } from './tunnel-wire';
import type { PeerInfo } from './transport';
import { displayText } from './untrusted';

/** A server another member shares, as reachable on this machine. */
export interface RemoteServer {
  peer: PeerInfo;
  /** The port on the sharer's machine. */
  remotePort: number;
  label: string;
  /** Where it is reachable here (127.0.0.1); undefined while the local listener starts or failed. */
  localPort: number | undefined;
  /** Why it is not reachable here, when listening failed. */
  problem?: string;
}

export interface TunnelEvents {
  /** The list of servers shared by this peer or with it changed. */
  changed: [];
  /** A server shared with this peer is now reachable at `url`-like 127.0.0.1:localPort. */
  reachable: [server: RemoteServer];
  /** Something a person should know: a refused connection, a port that could not be listened on. */
  notice: [message: string];
}

export interface TunnelOptions {
  logger?: Logger;
  /** Where shared ports are dialled on this machine. Default 127.0.0.1. */
  dialHost?: string;
}

interface Forward {
  server: RemoteServer;
  listener: net.Server;
}

export class ServerTunnels extends TypedEmitter<TunnelEvents> {
  private readonly shares = new Map<number, ShareInfo>();
  private readonly forwards = new Map<string, Forward>();
  private readonly channels: MemberChannels<TunnelLink>;
  private readonly logger: Logger;
  private closed = false;

  constructor(source: MemberMuxSource, private readonly options: TunnelOptions = {}) {
    super();
    this.logger = options.logger ?? silentLogger;
    const host: LinkHost = {
      localShares: () => [...this.shares.values()],
      isShared: (port) => this.shares.has(port),
      dial: (port) => net.connect({ host: this.options.dialHost ?? '127.0.0.1', port, allowHalfOpen: true }),
      remoteShares: (peer, list) => this.onRemoteShares(peer, list),
      refused: (peer, port, reason) => this.notice(`${peer.name}'s server on port ${port}: ${reason}`),
      logger: this.logger,
    };
    this.channels = new MemberChannels(source, {
      protocol: TUNNEL_PROTOCOL,
      version: TUNNEL_VERSION,
      logger: this.logger,
      attach: (peer, channel, mux) => new TunnelLink(peer, channel, host, pacerOf(mux.stream)),
    });
  }

  /** Shares a port of this machine with every member. Throws a readable Error on a bad port. */
  share(port: number, label = ''): ShareInfo {
    if (this.closed) throw new Error('the session is closed');
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${port} is not a port number (1–65535)`);
    if (!this.shares.has(port) && this.shares.size >= MAX_SHARES) throw new Error(`at most ${MAX_SHARES} servers can be shared at once`);
    const info = { port, label: displayText(label, MAX_LABEL) };
    this.shares.set(port, info);
    this.broadcast();
    return info;
  }

  /** Stops sharing a port: every member's listener and every connection through it close. */
  unshare(port: number): boolean {
    if (!this.shares.delete(port)) return false;
    for (const { link } of this.channels.links()) link.closePort(port, false, `port ${port} is no longer shared`);
    this.broadcast();
    return true;
  }

  /** The ports this peer shares. */
  shared(): ShareInfo[] {
    return [...this.shares.values()];
  }

  /** The servers other members share with this peer. */
  remote(): RemoteServer[] {
    return [...this.forwards.values()].map((f) => f.server);
  }

  /** Connections open through the tunnels (both directions), for status and tests. */
  openStreams(): number {
    return this.channels.links().reduce((n, { link }) => n + link.streams(), 0);
  }

  /** Stops every share and listener and closes every connection. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.shares.clear();
    this.channels.close();
    for (const key of [...this.forwards.keys()]) this.dropForward(key);
    this.emit('changed');
  }

  private broadcast(): void {
    for (const { link } of this.channels.links()) link.sendShares();
    this.emit('changed');
  }

  private onRemoteShares(peer: PeerInfo, list: ShareInfo[]): void {
    if (this.closed && list.length) return;
    const wanted = new Map(list.map((s) => [key(peer.id, s.port), s]));
    for (const [k, f] of this.forwards) {
      if (f.server.peer.id !== peer.id || wanted.has(k)) continue;
      this.channels.link(peer.id)?.closePort(f.server.remotePort, true, `${peer.name} stopped sharing port ${f.server.remotePort}`);
      this.dropForward(k);
    }
    for (const [k, s] of wanted) {
      const existing = this.forwards.get(k);
      if (existing) {
        existing.server.label = s.label;
        continue;
      }
      this.listen(k, { peer, remotePort: s.port, label: s.label, localPort: undefined });
    }
    this.emit('changed');
  }

  /** Listens on 127.0.0.1: the same port number as the sharer's when it is free, else any. */
  private listen(k: string, server: RemoteServer): void {
    const listener = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
      const link = this.channels.link(server.peer.id);
      if (!link || !this.forwards.has(k)) return void socket.destroy();
      link.openStream(socket, server.remotePort);
    });
    this.forwards.set(k, { server, listener });
    const onListening = () => {
      if (this.forwards.get(k)?.listener !== listener) return; // dropped while starting
      const addr = listener.address();
      server.localPort = typeof addr === 'object' && addr ? addr.port : undefined;
      this.logger.info(`${server.peer.name}'s server on port ${server.remotePort} is reachable at 127.0.0.1:${server.localPort}`);
      this.emit('reachable', server);
      this.emit('changed');
    };
    listener.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE' && err.code !== 'EACCES') return this.failed(server, err);
      listener.once('error', (e: Error) => this.failed(server, e));
      listener.listen(0, '127.0.0.1', onListening);
    });
    listener.listen(server.remotePort, '127.0.0.1', onListening);
  }

  private failed(server: RemoteServer, err: Error): void {
    server.problem = `could not listen on 127.0.0.1: ${err.message}`;
    this.notice(`${server.peer.name}'s server on port ${server.remotePort}: ${server.problem}`);
    this.emit('changed');
  }

  private dropForward(k: string): void {
    const f = this.forwards.get(k);
    if (!f) return;
    this.forwards.delete(k);
    f.listener.close();
  }

  private notice(message: string): void {
    this.logger.warn(message);
    this.emit('notice', message);
  }
}

function key(peerId: string, port: number): string {
  return `${peerId}:${port}`;
}
