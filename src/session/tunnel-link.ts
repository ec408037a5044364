/**
 * One member's end of the `hyperpair/tunnel` channel: the servers it shares, and one stream per TCP
 * connection in either direction, each with its own flow-control window so that a slow connection
 * never stalls the others (docs/PROTOCOL.md §9.2). A peer may only open streams to ports this peer
 * shares; whatever else it sends closes that stream (or, if undecodable, the connection).
 */
import type * as net from 'node:net';
import type Protomux from 'protomux';
import { shortKey } from './format';
import type { Logger } from './log';
import { addMessages, type MemberLink, type Messages } from './member-channels';
import type { BulkPacer } from './pacer';
import type { PeerInfo } from './transport';
import {
  MAX_CHUNK,
  MAX_STREAMS,
  STREAM_WINDOW,
  closeEncoding,
  creditEncoding,
  dataEncoding,
  endEncoding,
  openEncoding,
  sharesEncoding,
  type CloseMessage,
  type CreditMessage,
  type DataMessage,
  type OpenMessage,
  type ShareInfo,
  type StreamRef,
} from './tunnel-wire';

/** What a link needs from the tunnels it belongs to. */
export interface LinkHost {
  localShares(): ShareInfo[];
  isShared(port: number): boolean;
  /** Connects to a shared port of this machine (127.0.0.1). */
  dial(port: number): net.Socket;
  /** The peer's list of shared servers changed (empty when it left). */
  remoteShares(peer: PeerInfo, shares: ShareInfo[]): void;
  /** A stream this peer opened was refused or cut by the other side, with its reason. */
  refused(peer: PeerInfo, port: number, reason: string): void;
  logger: Logger;
}

interface Stream {
  id: number;
  /** This peer opened it (a guest connecting to a remote server). */
  mine: boolean;
  port: number;
  socket: net.Socket;
  /** Bytes this peer may still send before the other side grants more. */
  credit: number;
  /** Bytes the other side may still send. */
  granted: number;
  /** Bytes written to the socket and not yet granted back. */
  consumed: number;
  done: boolean;
}

export class TunnelLink implements MemberLink {
  private readonly out: Map<number, Stream> = new Map();
  private readonly in: Map<number, Stream> = new Map();
  private readonly send: Messages<{ shares: ShareInfo[]; open: OpenMessage; data: DataMessage; end: StreamRef; close: CloseMessage; credit: CreditMessage }>;
  private nextId = 1;
  private congested = false;
  /** Waiting for a call's pacing to allow more (pacer.ts): sockets stay paused until then. */
  private awaitingRoom = false;
  private isOpen = false;
  private isClosed = false;

  constructor(
    readonly peer: PeerInfo,
    channel: Protomux.Channel<number>,
    private readonly host: LinkHost,
    /** The connection's pacer: a shared server is bulk data, kept short while a call uses the connection. */
    private readonly pacer: BulkPacer,
  ) {
    this.send = addMessages(channel, {
      shares: { encoding: sharesEncoding, onmessage: (list: ShareInfo[]) => this.host.remoteShares(this.peer, dedupe(list)) },
      open: { encoding: openEncoding, onmessage: (m: OpenMessage) => this.onOpen(m) },
      data: { encoding: dataEncoding, onmessage: (m: DataMessage) => this.onData(m) },
      end: { encoding: endEncoding, onmessage: (m: StreamRef) => this.find(m)?.socket.end() },
      close: { encoding: closeEncoding, onmessage: (m: CloseMessage) => this.onClose(m) },
      credit: { encoding: creditEncoding, onmessage: (m: CreditMessage) => this.onCredit(m) },
    });
  }

  opened(): void {
    this.isOpen = true;
    this.sendShares();
  }

  sendShares(): void {
    if (this.isOpen && !this.isClosed) this.send.shares.send(this.host.localShares());
  }

  /** Carries a local connection to the peer's shared `port`. */
  openStream(socket: net.Socket, port: number): void {
    if (!this.isOpen || this.isClosed) {
      socket.destroy();
      return;
    }
    const id = this.nextId++;
    const s = this.track(this.out, id, true, port, socket);
    this.send.open.send({ id, port });
    this.flow(s);
  }

  /** Ends every stream on `port` in the given direction (a share stopped, here or there). */
  closePort(port: number, mine: boolean, reason: string): void {
    for (const s of [...(mine ? this.out : this.in).values()]) if (s.port === port) this.finish(s, reason, true);
  }

  streams(): number {
    return this.out.size + this.in.size;
  }

  drained(): void {
    this.congested = false;
    this.reflow();
  }

  private reflow(): void {
    for (const s of [...this.out.values(), ...this.in.values()]) this.flow(s);
  }

  closed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const s of [...this.out.values(), ...this.in.values()]) this.finish(s, 'the peer left', false);
    this.host.remoteShares(this.peer, []);
  }

  private onOpen(m: OpenMessage): void {
    const refuse = (reason: string): void => void this.send.close.send({ id: m.id, opener: false, reason });
    if (this.in.has(m.id)) return refuse('stream id already in use');
    // The only ports a peer reaches are the ones shared: never any other port of this machine.
    if (!this.host.isShared(m.port)) return refuse(`port ${m.port} is not shared`);
    if (this.in.size >= MAX_STREAMS) return refuse(`too many connections (max ${MAX_STREAMS})`);
    const s = this.track(this.in, m.id, false, m.port, this.host.dial(m.port));
    this.flow(s);
  }

  private track(map: Map<number, Stream>, id: number, mine: boolean, port: number, socket: net.Socket): Stream {
    const s: Stream = { id, mine, port, socket, credit: STREAM_WINDOW, granted: STREAM_WINDOW, consumed: 0, done: false };
    map.set(id, s);
    let failure = '';
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.forward(s, chunk));
    socket.on('end', () => {
      if (!s.done) this.send.end.send({ id, opener: mine });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      failure = err.code === 'ECONNREFUSED' ? `nothing is listening on port ${port}` : err.message;
    });
    socket.on('close', () => this.finish(s, failure, true));
    return s;
  }

  private forward(s: Stream, chunk: Buffer): void {
    if (s.done) return;
    for (let at = 0; at < chunk.byteLength; at += MAX_CHUNK) {
      const bytes = chunk.subarray(at, at + MAX_CHUNK);
      if (!this.send.data.send({ id: s.id, opener: s.mine, bytes })) this.congested = true;
      s.credit -= bytes.byteLength;
    }
    this.flow(s);
  }

  /** A socket reads only while its stream has credit, the connection is not congested and a call leaves room. */
  private flow(s: Stream): void {
    if (s.done) return;
    const room = this.pacer.room();
    if (s.credit > 0 && !this.congested && room) return void s.socket.resume();
    s.socket.pause();
    if (!room && !this.awaitingRoom) {
      this.awaitingRoom = true;
      this.pacer.whenRoom(() => {
        this.awaitingRoom = false;
        if (!this.isClosed) this.reflow();
      });
    }
  }

  private find(ref: StreamRef): Stream | undefined {
    // `opener` is the sender's view: a stream it opened is one this peer accepted.
    return (ref.opener ? this.in : this.out).get(ref.id);
  }

  private onData(m: DataMessage): void {
    const s = this.find(m);
    if (!s || s.done) return; // closed meanwhile: its last chunks may still be on the way
    const n = m.bytes.byteLength;
    s.granted -= n;
    if (s.granted < 0) return this.finish(s, 'the peer sent past its window', true);
    // Credit goes back only once the bytes have left for the local socket: a slow reader here slows
    // the sender of this one stream, and no other.
    s.socket.write(m.bytes, () => {
      s.consumed += n;
      if (s.done || s.consumed < STREAM_WINDOW / 4) return;
      const bytes = s.consumed;
      s.consumed = 0;
      s.granted += bytes;
      this.send.credit.send({ id: s.id, opener: s.mine, bytes });
    });
  }

  private onCredit(m: CreditMessage): void {
    const s = this.find(m);
    if (!s || s.done) return;
    s.credit = Math.min(s.credit + m.bytes, STREAM_WINDOW);
    this.flow(s);
  }

  private onClose(m: CloseMessage): void {
    const s = this.find(m);
    if (!s || s.done) return;
    if (s.mine && m.reason) this.host.refused(this.peer, s.port, m.reason);
    if (m.reason) return this.finish(s, m.reason, false);
    // The far socket closed cleanly: what it sent last may still be on its way out of this one.
    this.finish(s, '', false, true);
  }

  /** Ends a stream once; `tell` says whether the other side still needs to hear of it. */
  private finish(s: Stream, reason: string, tell: boolean, flush = false): void {
    if (s.done) return;
    s.done = true;
    (s.mine ? this.out : this.in).delete(s.id);
    if (tell && !this.isClosed) this.send.close.send({ id: s.id, opener: s.mine, reason });
    if (reason) this.host.logger.debug(`tunnel ${shortKey(this.peer.id)} port ${s.port}: ${reason}`);
    if (flush) s.socket.end(() => s.socket.destroy());
    else s.socket.destroy();
  }
}

function dedupe(list: ShareInfo[]): ShareInfo[] {
  const seen = new Map<number, ShareInfo>();
  for (const s of list) if (!seen.has(s.port)) seen.set(s.port, s);
  return [...seen.values()];
}
