// The part of multicast-dns (7.x) and its dns-packet records that Hyperpair's LAN discovery uses.

declare module 'multicast-dns' {
  import type { EventEmitter } from 'node:events';
  import type { RemoteInfo } from 'node:dgram';

  interface SrvData {
    port: number;
    target: string;
    priority?: number;
    weight?: number;
  }
  type Answer =
    | { name: string; type: 'SRV'; ttl?: number; class?: string; flush?: boolean; data: SrvData }
    | { name: string; type: 'TXT'; ttl?: number; class?: string; flush?: boolean; data: Array<string | Buffer> | string | Buffer }
    | { name: string; type: 'A' | 'AAAA'; ttl?: number; class?: string; flush?: boolean; data: string }
    | { name: string; type: string; ttl?: number; class?: string; flush?: boolean; data?: unknown };
  interface Question {
    name: string;
    type: string;
    class?: string;
  }
  interface Packet {
    type: 'query' | 'response';
    id?: number;
    flags?: number;
    questions: Question[];
    answers: Answer[];
    additionals: Answer[];
    authorities: Answer[];
  }
  interface Options {
    port?: number;
    type?: 'udp4' | 'udp6';
    ip?: string;
    host?: string;
    /** Multicast interface (an address of this machine). */
    interface?: string;
    /** Address to bind; false not to bind. */
    bind?: string | false;
    reuseAddr?: boolean;
    multicast?: boolean;
    loopback?: boolean;
    ttl?: number;
  }
  interface MulticastDNS extends EventEmitter {
    query(questions: Question[] | { questions: Question[] }, cb?: (err: Error | null) => void): void;
    respond(response: { answers: Answer[]; additionals?: Answer[] }, rinfo?: { port: number; address: string } | null, cb?: (err: Error | null) => void): void;
    destroy(cb?: () => void): void;
    on(event: 'query', listener: (packet: Packet, rinfo: RemoteInfo) => void): this;
    on(event: 'response', listener: (packet: Packet, rinfo: RemoteInfo) => void): this;
    on(event: 'ready', listener: () => void): this;
    on(event: 'error' | 'warning', listener: (err: Error) => void): this;
    once(event: 'ready', listener: () => void): this;
    once(event: 'error', listener: (err: Error) => void): this;
  }
  function multicastDns(options?: Options): MulticastDNS;
  namespace multicastDns {
    export type { MulticastDNS, Packet, Answer, Question, Options, SrvData };
  }
  export = multicastDns;
}
