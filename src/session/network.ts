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
  /** Set false on networks where this peer is reachable directly (local testnets, LANs). */
  firewalled?: boolean;
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
export function createDHT(network: NetworkOptions = {}): HyperDHT {
  const problem = checkBindHost(network.host);
  if (problem) throw new Error(problem);
  const options: HyperDHT.DHTOptions = {};
  if (network.bootstrap) options.bootstrap = network.bootstrap;
  if (network.host) options.host = network.host;
  if (network.firewalled !== undefined) options.firewalled = network.firewalled;
  return new HyperDHT(options);
}
