/**
 * A blind relay on the DHT (`hyperpair relay`): peers that cannot holepunch to each other pair their
 * UDX streams through it (blind-relay, hyperdht's `relayThrough`). It forwards packets of the peers'
 * Noise streams and cannot read them: the session stays end-to-end encrypted and authenticated. Any
 * team can run one; nothing about sessions is configured on it.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import HyperDHT from 'hyperdht';
import { Server as BlindRelayServer } from 'blind-relay';
import sodium from 'sodium-universal';
import { silentLogger, type Logger } from './log';
import { createDHT, type NetworkOptions } from './network';

export interface RelayOptions {
  network?: NetworkOptions;
  /** Keep the relay's identity (its public key, which peers configure) across restarts. */
  keyPair?: HyperDHT.KeyPair;
  logger?: Logger;
  /**
   * Makes the stream of one side of a pairing. Default: a UDX stream of the relay's DHT node, which
   * the relay then forwards natively. Tests pass their own to watch what is forwarded.
   */
  createStream?: (dht: HyperDHT, options: Record<string, unknown>) => HyperDHT.RawStream;
}

export interface RelayStats {
  /** Peers connected to the relay. */
  sessions: number;
  /** Pairings made (two peers' streams joined). */
  pairings: number;
  /** Streams currently forwarding. */
  activeStreams: number;
}

export class RelayNode {
  private readonly logger: Logger;
  private dht: HyperDHT | undefined;
  private relay: BlindRelayServer | undefined;
  private server: HyperDHT.Server | undefined;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  readonly keyPair: HyperDHT.KeyPair;

  constructor(private readonly options: RelayOptions = {}) {
    this.logger = options.logger ?? silentLogger;
    this.keyPair = options.keyPair ?? HyperDHT.keyPair();
  }

  /** The key peers put in their relay list (`hyperpair.relays`, `--relay`). */
  get publicKey(): Buffer {
    return this.keyPair.publicKey;
  }

  /** Listens on the DHT; rejects with a readable Error when the network settings cannot work. */
  ready(): Promise<void> {
    this.opening ??= this.open();
    return this.opening;
  }

  stats(): RelayStats {
    const s = this.relay?.stats;
    return { sessions: s?.sessions.active ?? 0, pairings: s?.pairings.matched ?? 0, activeStreams: s?.streams.active ?? 0 };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async open(): Promise<void> {
    const dht = createDHT(this.options.network);
    this.dht = dht;
    const make = this.options.createStream ?? ((d: HyperDHT, opts: Record<string, unknown>) => d.createRawStream(opts));
    const relay = new BlindRelayServer({ createStream: (opts) => make(dht, { ...opts, framed: true }) });
    this.relay = relay;
    this.server = dht.createServer({}, (socket) => {
      // A peer that goes away resets its socket: expected, never fatal to the relay.
      socket.on('error', (err: Error) => this.logger.debug(`relay: peer socket: ${err.message}`));
      const session = relay.accept(socket, { id: socket.remotePublicKey });
      session.on('error', (err) => this.logger.debug(`relay: session: ${err.message}`));
      session.on('pair', (isInitiator) => this.logger.info(`relay: paired a ${isInitiator ? 'dialling' : 'listening'} peer`));
    });
    try {
      await this.server.listen(this.keyPair);
    } catch (err) {
      await this.close();
      throw new Error(`the relay could not listen on the DHT: ${(err as Error).message}`);
    }
  }

  private async shutdown(): Promise<void> {
    await this.opening?.catch(() => undefined);
    await this.relay?.close().catch((err: Error) => this.logger.debug(`relay close: ${err.message}`));
    await this.server?.close().catch((err: Error) => this.logger.debug(`relay server close: ${err.message}`));
    await this.dht?.destroy().catch((err: Error) => this.logger.debug(`relay dht destroy: ${err.message}`));
  }
}

/**
 * The relay's key pair from a file holding its 32-byte seed (hex), made on first use with mode 0600,
 * so that a restarted relay keeps the key that peers have configured.
 */
export async function loadRelayKeyPair(file: string): Promise<HyperDHT.KeyPair> {
  let text: string | undefined;
  try {
    text = (await fs.readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the relay key file ${file}: ${(err as Error).message}`);
  }
  if (text !== undefined) {
    if (!/^[0-9a-f]{64}$/i.test(text)) throw new Error(`${file} does not hold a relay seed (64 hex characters); move it away to make a new one`);
    return HyperDHT.keyPair(Buffer.from(text, 'hex'));
  }
  const seed = Buffer.alloc(32);
  sodium.randombytes_buf(seed);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, seed.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return HyperDHT.keyPair(seed);
}
