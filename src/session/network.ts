/**
 * Where the DHT is: the public hyperswarm DHT by default, or a private/offline one (tests use a local
 * testnet on 127.0.0.1). One DHT node per session, owned and destroyed by the session.
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import HyperDHT from 'hyperdht';

export interface BootstrapNode {
  host: string;
  port: number;
}

export interface NetworkOptions {
  /** DHT bootstrap nodes; undefined means the public DHT. */
  bootstrap?: BootstrapNode[];
  /** Local address to bind (e.g. '127.0.0.1'); undefined binds every interface. */
  host?: string;
  /**
   * Set false on networks where this peer is reachable directly (local testnets, LANs). Set true to
   * assume a firewall without probing for one (the node then always holepunches or relays).
   */
  firewalled?: boolean;
  /**
   * false: never open a direct UDP path to a peer over the DHT (no holepunching, no shortcut through a
   * shared local address); connections then need a relay. For tests of the relay path, and for people
   * who must not reveal their address to the other peers. Default true.
   */
  holepunch?: boolean;
}

/**
 * The session's DHT node. A subclass (not a patch) so that it can (1) tell which connections run
 * through a blind relay, for diagnostics, and (2) leave holepunching out when asked to.
 */
export class SessionDHT extends HyperDHT {
  /** Connections hyperdht opened to relays on behalf of a peer connection. */
  private readonly relaySockets = new Set<HyperDHT.DHTStream>();

  constructor(
    options: HyperDHT.DHTOptions,
    private readonly holepunchAllowed: boolean,
  ) {
    super(options);
  }

  override connect(publicKey: Buffer, options: HyperDHT.ConnectOptions = {}): HyperDHT.DHTStream {
    const opts = this.holepunchAllowed ? options : { ...options, holepunch: () => false, localConnection: false, fastOpen: false };
    const stream = super.connect(publicKey, opts);
    // hyperswarm always dials peers with its key pair; hyperdht dials a relay without options.
    if (!options.keyPair) {
      this.relaySockets.add(stream);
      stream.once('close', () => this.relaySockets.delete(stream));
    } else {
      // Observe (hyperswarm handles the error itself) why a dial failed, for the session to explain.
      stream.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code) this.emit('peer-connect-error', err.code);
      });
    }
    return stream;
  }

  override createServer(options: HyperDHT.ServerOptions, onconnection?: (socket: HyperDHT.DHTStream) => void): HyperDHT.Server {
    const opts: HyperDHT.ServerOptions = this.holepunchAllowed ? options : { ...options, holepunch: false, shareLocalAddress: false };
    return super.createServer(opts, onconnection);
  }

  /**
   * Whether a peer connection currently runs through a relay: its UDX stream then talks to the
   * relay's address, the other end of one of the relay sockets (a relayed connection that
   * holepunches later moves to the peer's address and counts as direct from then on).
   */
  isRelayed(stream: { rawStream?: { remoteHost?: string | null; remotePort?: number } }): boolean {
    const raw = stream.rawStream;
    if (!raw?.remoteHost) return false;
    for (const relay of this.relaySockets) {
      const r = relay.rawStream;
      if (r && r.remoteHost === raw.remoteHost && r.remotePort === raw.remotePort) return true;
    }
    return false;
  }
}

/** Parses `host:port[,host:port…]`, with a clear error for anything else. */
export function parseBootstrap(spec: string): BootstrapNode[] {
  const nodes: BootstrapNode[] = [];
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(part);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) {
      throw new Error(`"${part}" is not a bootstrap node; use host:port, for example 127.0.0.1:49737`);
    }
    nodes.push({ host: m[1].replace(/^\[|\]$/g, ''), port });
  }
  if (nodes.length === 0) throw new Error('no bootstrap nodes given; use host:port[,host:port…]');
  return nodes;
}

/**
 * Why `host` cannot be bound, or undefined when it can. Checked before a DHT node is made: hyperdht
 * 6.32 rejects a bad bind address but then keeps a native handle open, so the process (a user's
 * extension host, a CLI) would never exit.
 */
export function checkBindHost(host: string | undefined): string | undefined {
  if (host === undefined || host === '') return undefined;
  if (!isIP(host)) return `"${host}" is not an IP address; set the bind host to one of this machine's addresses, e.g. 127.0.0.1, or leave it empty`;
  if (host === '0.0.0.0' || host === '::') return undefined;
  const local = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
  if (!local.includes(host)) return `"${host}" is not an address of this machine (${local.join(', ')}); change the bind host or leave it empty`;
  return undefined;
}

/** Makes the session's DHT node; throws a clear Error for a bind host that cannot work. */
export function createDHT(network: NetworkOptions = {}): SessionDHT {
  const problem = checkBindHost(network.host);
  if (problem) throw new Error(problem);
  const options: HyperDHT.DHTOptions = {};
  if (network.bootstrap) options.bootstrap = network.bootstrap;
  if (network.host) options.host = network.host;
  if (network.firewalled !== undefined) options.firewalled = network.firewalled;
  if (network.firewalled === true) {
    options.quickFirewall = false;
    options.ephemeral = true;
  }
  return new SessionDHT(options, network.holepunch !== false);
}

/**
 * What to tell a person whose DHT node found no other node (its routing table is empty after
 * joining): nobody can find the session through the DHT, which otherwise only shows as a long wait.
 */
export function noDhtNodeMessage(network: NetworkOptions = {}): string {
  const where = network.bootstrap
    ? `none of the bootstrap nodes (${network.bootstrap.map((b) => (b.host.includes(':') ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`)).join(', ')}) answered`
    : 'no node of the public DHT answered (is this machine offline?)';
  return `Could not reach the DHT: ${where}. Peers cannot find this session through it until one answers; check the bootstrap setting (headless peer: --bootstrap) and the network. Peers on the same local network can still connect.`;
}

/** Parses a relay's public key (64 hex characters), with a clear error for anything else. */
export function parseRelayKey(spec: string): Buffer {
  const hex = spec.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new Error(`"${spec}" is not a relay key; a relay key is the 64 hex characters that \`hyperpair relay\` prints`);
  }
  return Buffer.from(hex, 'hex');
}
