// Minimal, precise declarations for the untyped Holepunch modules Hyperpair uses.

declare module 'b4a' {
  const b4a: {
    from(input: string | Uint8Array | number[], encoding?: string): Buffer;
    alloc(size: number, fill?: number): Buffer;
    allocUnsafe(size: number): Buffer;
    concat(list: Uint8Array[]): Buffer;
    equals(a: Uint8Array, b: Uint8Array): boolean;
    toString(buf: Uint8Array, encoding?: string): string;
    isBuffer(value: unknown): value is Buffer;
  };
  export = b4a;
}

declare module 'sodium-universal' {
  const sodium: {
    crypto_generichash(out: Uint8Array, input: Uint8Array, key?: Uint8Array): void;
    crypto_generichash_BYTES: number;
    /** Incremental hashing (hash.ts's prehash): a state of STATEBYTES, updated slice by slice. */
    crypto_generichash_STATEBYTES: number;
    crypto_generichash_init(state: Uint8Array, key: Uint8Array | null, outlen: number): void;
    crypto_generichash_update(state: Uint8Array, input: Uint8Array): void;
    crypto_generichash_final(state: Uint8Array, out: Uint8Array): void;
    randombytes_buf(buf: Uint8Array): void;
    sodium_memcmp(a: Uint8Array, b: Uint8Array): boolean;
    crypto_sign_detached(sig: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void;
    crypto_sign_verify_detached(sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
    crypto_sign_BYTES: number;
  };
  export = sodium;
}

declare module 'compact-encoding' {
  interface State {
    start: number;
    end: number;
    buffer: Uint8Array | null;
  }
  interface Encoding<T> {
    preencode(state: State, value: T): void;
    encode(state: State, value: T): void;
    decode(state: State): T;
  }
  const c: {
    state(): State;
    encode<T>(enc: Encoding<T>, value: T): Buffer;
    decode<T>(enc: Encoding<T>, buf: Uint8Array): T;
    uint: Encoding<number>;
    uint8: Encoding<number>;
    uint32: Encoding<number>;
    string: Encoding<string>;
    utf8: Encoding<string>;
    buffer: Encoding<Uint8Array | null>;
    raw: Encoding<Uint8Array>;
    fixed32: Encoding<Uint8Array>;
    fixed64: Encoding<Uint8Array>;
    optionalBuffer: Encoding<Uint8Array | null>;
    bool: Encoding<boolean>;
    array<T>(enc: Encoding<T>): Encoding<T[]>;
  };
  namespace c {
    export type { State, Encoding };
  }
  export = c;
}

declare module 'hyperdht' {
  import type { EventEmitter } from 'node:events';
  import type { Duplex } from 'node:stream';
  interface KeyPair {
    publicKey: Buffer;
    secretKey: Buffer;
  }
  interface DHTOptions {
    bootstrap?: Array<string | { host: string; port: number }>;
    host?: string;
    port?: number;
    firewalled?: boolean;
    /** false: never probe whether this node is reachable (stay firewalled). */
    quickFirewall?: boolean;
    ephemeral?: boolean;
    keyPair?: KeyPair;
  }
  /** The UDX stream under a DHT connection. */
  interface RawStream {
    readonly remoteHost: string | null;
    readonly remotePort: number;
    readonly connected: boolean;
    relayTo(destination: RawStream): void;
    write(data: Uint8Array): boolean;
    destroy(err?: Error): void;
    on(event: 'data', listener: (data: Buffer) => void): this;
    on(event: string, listener: (...args: never[]) => void): this;
    once(event: string, listener: (...args: never[]) => void): this;
  }
  interface ConnectOptions {
    keyPair?: KeyPair;
    relayThrough?: Buffer | null;
    relayAddresses?: unknown;
    /** Called before holepunching; false aborts it. */
    holepunch?: (...args: unknown[]) => boolean;
    localConnection?: boolean;
    fastOpen?: boolean;
  }
  interface ServerOptions {
    firewall?: (remotePublicKey: Buffer, payload: unknown, address: unknown) => boolean | Promise<boolean>;
    relayThrough?: unknown;
    holepunch?: false | ((...args: unknown[]) => boolean);
    shareLocalAddress?: boolean;
    handshakeClearWait?: number;
  }
  /** A NoiseSecretStream over a UDX raw stream. */
  interface DHTStream extends Duplex {
    readonly publicKey: Buffer;
    readonly remotePublicKey: Buffer;
    readonly rawStream: RawStream | null;
    setKeepAlive(ms: number): void;
  }
  interface Server extends EventEmitter {
    readonly publicKey: Buffer;
    listen(keyPair?: KeyPair): Promise<void>;
    close(): Promise<void>;
  }
  class HyperDHT extends EventEmitter {
    constructor(options?: DHTOptions);
    static keyPair(seed?: Uint8Array): KeyPair;
    readonly destroyed: boolean;
    readonly firewalled: boolean;
    /** From the DHT's health check: false while no DHT node answers; emits 'network-update' on change. */
    readonly online: boolean;
    readonly degraded: boolean;
    readonly host: string | null;
    readonly port: number;
    /** Behind a NAT that changes the port for every destination (holepunching rarely works). */
    readonly randomized: boolean;
    /** dht-rpc: true once the routing table was bootstrapped from at least one node. */
    readonly bootstrapped: boolean;
    address(): { host: string; port: number } | null;
    /** DHT nodes this node knows (its routing table). */
    toArray(options?: { limit?: number }): Array<{ host: string; port: number }>;
    connect(publicKey: Buffer, options?: ConnectOptions): DHTStream;
    createServer(options: ServerOptions, onconnection?: (socket: DHTStream) => void): Server;
    createRawStream(options?: Record<string, unknown>): RawStream;
    ready(): Promise<void>;
    destroy(options?: { force?: boolean }): Promise<void>;
  }
  namespace HyperDHT {
    export type { KeyPair, DHTOptions, ConnectOptions, ServerOptions, DHTStream, RawStream, Server };
  }
  export = HyperDHT;
}

declare module 'hyperswarm' {
  import type { EventEmitter } from 'node:events';
  import type { Duplex } from 'node:stream';
  import type HyperDHT from 'hyperdht';

  /** A NoiseSecretStream: an encrypted, authenticated duplex. */
  interface SecretStream extends Duplex {
    sendKeepAlive?(): void;
    readonly publicKey: Buffer;
    readonly remotePublicKey: Buffer;
    readonly handshakeHash: Buffer;
    readonly isInitiator: boolean;
    readonly destroyed: boolean;
    /** The transport under the encryption (a UDX stream or a TCP socket): ciphertext, as it arrives. */
    readonly rawStream?: {
      remoteHost?: string | null;
      remotePort?: number;
      remoteAddress?: string;
      on?(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
      off?(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
    };
    /** Resolves true once the Noise handshake is done, false if the stream closed before. */
    readonly opened: Promise<boolean>;
  }
  interface PeerInfo {
    readonly publicKey: Buffer;
    readonly banned: boolean;
    readonly topics: Buffer[];
    readonly client: boolean;
    ban(banned?: boolean): void;
  }
  interface PeerDiscovery {
    flushed(): Promise<void>;
    refresh(options?: { client?: boolean; server?: boolean }): Promise<void>;
    destroy(): Promise<void>;
  }
  interface SwarmOptions {
    dht?: HyperDHT;
    keyPair?: HyperDHT.KeyPair;
    maxPeers?: number;
    firewall?: (remotePublicKey: Buffer, payload: unknown) => boolean;
    /** The relay to use for a connection, or null for none; `force` is set after holepunching failed. */
    relayThrough?: (force: boolean) => Buffer | null;
  }
  class Hyperswarm extends EventEmitter {
    constructor(options?: SwarmOptions);
    readonly keyPair: HyperDHT.KeyPair;
    readonly dht: HyperDHT;
    readonly connections: Set<SecretStream>;
    readonly peers: Map<string, PeerInfo>;
    readonly connecting: number;
    readonly destroyed: boolean;
    join(topic: Uint8Array, options?: { server?: boolean; client?: boolean }): PeerDiscovery;
    leave(topic: Uint8Array): Promise<void>;
    joinPeer(publicKey: Uint8Array): void;
    leavePeer(publicKey: Uint8Array): void;
    flush(): Promise<void>;
    listen(): Promise<void>;
    destroy(): Promise<void>;
    on(event: 'connection', listener: (conn: SecretStream, info: PeerInfo) => void): this;
    on(event: 'update', listener: () => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }
  namespace Hyperswarm {
    export type { SecretStream, PeerInfo, PeerDiscovery, SwarmOptions };
  }
  export = Hyperswarm;
}

declare module 'protomux' {
  import type { Duplex } from 'node:stream';
  import type { Encoding } from 'compact-encoding';
  interface Message<T> {
    send(value: T): boolean;
  }
  interface MessageSpec<T> {
    encoding: Encoding<T>;
    onmessage?: (value: T) => void;
  }
  interface ChannelOptions<H> {
    protocol: string;
    id?: Uint8Array | null;
    unique?: boolean;
    handshake?: Encoding<H>;
    messages?: Array<MessageSpec<never>>;
    onopen?: (handshake: H) => void;
    onclose?: (isRemote: boolean) => void;
    ondestroy?: () => void;
    ondrain?: () => void;
  }
  interface Channel<H> {
    readonly opened: boolean;
    readonly closed: boolean;
    readonly messages: Array<Message<never>>;
    open(handshake?: H): void;
    addMessage<T>(spec: MessageSpec<T>): Message<T>;
    close(): void;
    cork(): void;
    uncork(): void;
  }
  class Protomux {
    static from(stream: Duplex): Protomux;
    readonly stream: Duplex;
    readonly drained: boolean;
    createChannel<H>(options: ChannelOptions<H>): Channel<H> | null;
    /** Messages sent until `uncork()` go out as one batch frame (docs/PROTOCOL.md §4.1). */
    cork(): void;
    uncork(): void;
    /** Calls `notify` when the remote opens a channel of this protocol that is not open here. */
    pair(options: { protocol: string; id?: Uint8Array | null }, notify: (id: Uint8Array | null) => void | Promise<void>): void;
    unpair(options: { protocol: string; id?: Uint8Array | null }): void;
    destroy(err?: Error): void;
  }
  namespace Protomux {
    export type { Channel, Message, MessageSpec, ChannelOptions };
  }
  export = Protomux;
}

declare module '@hyperswarm/testnet' {
  import type HyperDHT from 'hyperdht';
  interface Testnet {
    nodes: HyperDHT[];
    bootstrap: Array<{ host: string; port: number }>;
    createNode(options?: HyperDHT.DHTOptions): HyperDHT;
    destroy(): Promise<void>;
  }
  function createTestnet(size?: number, options?: { host?: string; teardown?: unknown }): Promise<Testnet>;
  export = createTestnet;
}

declare module '@hyperswarm/secret-stream' {
  import type { Duplex } from 'node:stream';
  import type HyperDHT from 'hyperdht';
  import type Hyperswarm from 'hyperswarm';
  class NoiseSecretStream extends Duplex implements Hyperswarm.SecretStream {
    constructor(isInitiator: boolean, rawStream?: Duplex | null, options?: { keyPair?: HyperDHT.KeyPair; keepAlive?: number });
    readonly publicKey: Buffer;
    readonly remotePublicKey: Buffer;
    readonly handshakeHash: Buffer;
    readonly isInitiator: boolean;
    readonly rawStream: Duplex & { remoteAddress?: string; remoteHost?: string | null; remotePort?: number };
    readonly opened: Promise<boolean>;
    setKeepAlive(ms: number): void;
  }
  export = NoiseSecretStream;
}

declare module 'blind-relay' {
  import type { EventEmitter } from 'node:events';
  import type { Duplex } from 'node:stream';
  import type HyperDHT from 'hyperdht';
  interface RelaySession extends EventEmitter {
    on(event: 'pair', listener: (isInitiator: boolean, token: Buffer, stream: HyperDHT.RawStream, remoteId: number) => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: string, listener: (...args: never[]) => void): this;
  }
  class Server extends EventEmitter {
    constructor(options: { createStream(options: Record<string, unknown>): HyperDHT.RawStream });
    readonly stats: {
      sessions: { accepted: number; opened: number; closed: number; active: number };
      pairings: { requested: number; matched: number; cancelled: number; pending: number; active: number };
      streams: { opened: number; closed: number; errors: number; active: number };
    };
    accept(stream: Duplex, options?: { id?: Uint8Array }): RelaySession;
    close(): Promise<void>;
  }
  export { Server };
}
