/**
 * Where the DHT is: the public hyperswarm DHT by default, or a private/offline one (tests use a local
 * testnet on 127.0.0.1). One DHT node per session, owned and destroyed by the session.
 */
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

export function createDHT(network: NetworkOptions = {}): HyperDHT {
  const options: HyperDHT.DHTOptions = {};
  if (network.bootstrap) options.bootstrap = network.bootstrap;
  if (network.host) options.host = network.host;
  if (network.firewalled !== undefined) options.firewalled = network.firewalled;
  return new HyperDHT(options);
}
