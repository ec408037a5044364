/**
 * One hyperswarm connection, from the Noise handshake to close: opens the Hyperpair channel, proves
 * membership, checks the other side's proof, and only then exchanges anything about the session.
 * Whatever the remote sends, the outcome is at most this connection closing with a logged reason.
 */
import Protomux from 'protomux';
import { deadline, DisposableStore, interval, type IDisposable } from './disposable';
import { TypedEmitter } from './events';
import type Hyperswarm from 'hyperswarm';
import { shortKey } from './format';
import { pacerOf } from './pacer';
import type { Logger } from './log';
import { proof, verifyProof } from './secrets';
import { rosterEncoding, type Roster } from './admission';
import {
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  MAX_DATA_FRAME,
  MAX_UNAUTHENTICATED_BYTES,
  admissionEncoding,
  byeEncoding,
  dataEncoding,
  handshakeEncoding,
  helloEncoding,
  peersEncoding,
  pingEncoding,
  type Admission,
  type Handshake,
  type Hello,
} from './wire';

export interface ConnectionEvents {
  /** The remote proved membership and said hello. */
  ready: [hello: Hello];
  /** A member (its proof checked) runs another protocol version. */
  mismatch: [remoteVersion: number];
  /**
   * The remote failed authentication: `ban` for proof of a stranger or an attacker (a wrong proof,
   * garbage before auth); not for silence, which a member on a starved machine produces too.
   */
  rejected: [reason: string, ban: boolean];
  peers: [keys: Uint8Array[]];
  data: [data: Uint8Array];
  roster: [roster: Roster];
  admission: [admission: Admission];
  /** A pong arrived: `rttMs` is the new round-trip time. */
  rtt: [rttMs: number];
  /** Closed; `bye` is set when the remote said goodbye first. */
  closed: [reason: string, bye: boolean];
}

/** The message of the error hyperswarm (4.x) destroys the losing one of two connections to a peer with. */
export const DUPLICATE_CONNECTION = 'Duplicate connection';

export interface ConnectionOptions {
  authKey: Uint8Array;
  hello: Hello;
  authTimeoutMs: number;
  pingIntervalMs: number;
  logger: Logger;
}

export class PeerConnection extends TypedEmitter<ConnectionEvents> {
  readonly remoteId: string;
  readonly remotePublicKey: Buffer;
  authenticated = false;
  hello: Hello | undefined;
  rttMs: number | undefined;
  /** Set by the session from its admission verdict: this peer's edits are refused. */
  readOnly = false;
  /** When hello arrived (ms since the epoch). */
  connectedAt = 0;
  /** When anything last arrived on the channel: any frame proves the connection alive. */
  lastSeenAt = Date.now();
  private readonly mux: Protomux;
  private readonly messages: {
    hello: Protomux.Message<Hello>;
    peers: Protomux.Message<Uint8Array[]>;
    bye: Protomux.Message<string>;
    data: Protomux.Message<Uint8Array>;
    ping: Protomux.Message<number>;
    pong: Protomux.Message<number>;
    roster: Protomux.Message<Roster>;
    admission: Protomux.Message<Admission>;
  };
  /** The auth and hello deadlines and the ping interval: all released when the connection closes. */
  private readonly timers = new DisposableStore();
  private authTimer: IDisposable | undefined;
  private closed = false;
  private remoteSaidBye = false;
  private closeReason = 'connection closed';
  private readonly drainWaiters: Array<() => void> = [];
  /** Undoes the watch on what arrives before authentication (see watchUnauthenticated). */
  private unwatch: () => void = () => {};

  constructor(
    readonly stream: Hyperswarm.SecretStream,
    private readonly options: ConnectionOptions,
  ) {
    super();
    this.remotePublicKey = stream.remotePublicKey;
    this.remoteId = stream.remotePublicKey.toString('hex');
    const log = options.logger;
    // A reset on close is normal; an unhandled 'error' would kill the host process.
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (this.closed) return;
      const reason = err.message || 'connection error';
      if (err.message === DUPLICATE_CONNECTION) {
        // hyperswarm keeps one connection per peer pair and closed this one (it has no error code):
        // the peer did nothing wrong, and must not be banned for it.
        this.closeReason = 'duplicate connection (another one to this peer is kept)';
        log.debug(`connection ${shortKey(this.remoteId)}: ${this.closeReason}`);
      } else if (err.code) {
        // A network error (reset, timeout): the connection is simply gone.
        this.closeReason = reason;
        log.debug(`connection ${shortKey(this.remoteId)}: ${reason}`);
      } else if (!this.authenticated) {
        // Protomux could not decode what an unauthenticated remote sent.
        this.reject(`sent an invalid frame (${reason})`);
      } else {
        log.warn(`closing the connection to ${this.hello?.name ?? shortKey(this.remoteId)}: invalid frame (${reason})`);
        this.closeReason = `invalid frame: ${reason}`;
      }
    });
    stream.on('close', () => this.onClosed());
    stream.on('drain', () => this.flushDrainWaiters());

    this.mux = Protomux.from(stream);
    const channel = this.mux.createChannel<Handshake>({
      protocol: PROTOCOL_NAME,
      handshake: handshakeEncoding,
      onopen: (h) => this.onOpen(h),
      onclose: () => this.destroy(this.remoteSaidBye ? 'peer left' : 'channel closed'),
    });
    if (!channel) throw new Error('a Hyperpair channel is already open on this connection');
    // After destroy() the stream is only ended (so that a goodbye flushes): frames already on their
    // way still arrive, and must not start anything (a ping interval started then would never stop).
    const guard = <T>(fn: (value: T) => void) => (value: T) => {
      if (this.closed) return;
      if (!this.authenticated) return this.reject('sent a message before authenticating');
      this.lastSeenAt = Date.now();
      fn(value);
    };
    this.unwatch = this.watchUnauthenticated(stream);
    this.messages = {
      hello: channel.addMessage({ encoding: helloEncoding, onmessage: guard((h: Hello) => this.onHello(h)) }),
      peers: channel.addMessage({ encoding: peersEncoding, onmessage: guard((keys: Uint8Array[]) => this.emit('peers', keys)) }),
      bye: channel.addMessage({
        encoding: byeEncoding,
        onmessage: guard((reason: string) => {
          this.remoteSaidBye = true;
          this.closeReason = reason ? `left: ${reason}` : 'left';
        }),
      }),
      data: channel.addMessage({
        encoding: dataEncoding,
        onmessage: guard((d: Uint8Array) => {
          if (!this.hello) return this.destroy('sent data before hello');
          this.emit('data', d);
        }),
      }),
      ping: channel.addMessage({ encoding: pingEncoding, onmessage: guard((n: number) => this.messages.pong.send(n)) }),
      pong: channel.addMessage({
        encoding: pingEncoding,
        onmessage: guard((sentAt: number) => {
          const rtt = (Date.now() % 2 ** 31) - sentAt;
          if (rtt >= 0 && rtt < 600_000) {
            this.rttMs = rtt;
            this.emit('rtt', rtt);
          }
        }),
      }),
      roster: channel.addMessage({ encoding: rosterEncoding, onmessage: guard((r: Roster) => this.emit('roster', r)) }),
      admission: channel.addMessage({
        encoding: admissionEncoding,
        onmessage: guard((a: Admission) => {
          if (!this.hello) return this.destroy('sent an admission before hello');
          this.emit('admission', a);
        }),
      }),
    };

    // Silence is reported but not banned: 30 peers on two cores measured members (they knew the code)
    // that took longer than this to open, and a ban would have kept them apart for the whole session.
    this.deadline(() => this.reject(`did not authenticate within ${options.authTimeoutMs / 1000} s`, false), () => this.authenticated);
    channel.open({ version: PROTOCOL_VERSION, proof: proof(options.authKey, stream.handshakeHash, stream.publicKey) });
  }

  /**
   * Sends an application payload. False when congested (still queued), when a call asks bulk data to
   * keep the connection short (still queued: pacer.ts), or impossible.
   */
  send(data: Uint8Array): boolean {
    if (!this.hello || this.closed) return false;
    if (data.byteLength > MAX_DATA_FRAME) {
      this.options.logger.error(`refusing to send a ${data.byteLength}-byte frame (max ${MAX_DATA_FRAME})`);
      return false;
    }
    return this.messages.data.send(data) && pacerOf(this.stream).room();
  }

  sendRoster(roster: Roster): void {
    if (this.authenticated && !this.closed) this.messages.roster.send(roster);
  }

  sendAdmission(admission: Admission): void {
    if (this.authenticated && !this.closed) this.messages.admission.send(admission);
  }

  sendPeers(keys: Uint8Array[]): void {
    if (this.authenticated && !this.closed) this.messages.peers.send(keys);
  }

  /** Resolves when the outgoing queue has drained, and a call's pacing allows more, or the connection is gone. */
  drained(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const room = () => (this.closed ? resolve() : pacerOf(this.stream).whenRoom(resolve));
      if (this.mux.drained) room();
      else this.drainWaiters.push(room);
    });
  }

  /** Says goodbye (when authenticated) and closes. */
  leave(reason: string): void {
    if (this.closed) return;
    if (this.authenticated) this.messages.bye.send(reason);
    this.destroy(reason);
  }

  /**
   * Closes: the stream is ended, so that what was sent last (a goodbye, a denial) flushes, and
   * destroyed `flushMs` later in any case.
   */
  destroy(reason: string, flushMs = 200): void {
    if (this.closed) return;
    this.closeReason = reason;
    this.stream.end();
    setTimeout(() => this.stream.destroy(), flushMs).unref();
    this.onClosed();
  }

  /**
   * Until the remote proves membership, the only thing it may send is its channel open: any other
   * frame (random bytes, another protocol, a message) and more than MAX_UNAUTHENTICATED_BYTES of
   * ciphertext (a huge frame still arriving) close the connection at once, instead of being held until
   * the auth timeout.
   */
  private watchUnauthenticated(stream: Hyperswarm.SecretStream): () => void {
    // Runs after protomux's own listener (added first, by Protomux.from): had this frame been the
    // Hyperpair open, onOpen would have authenticated or closed the connection by now.
    const onFrame = (frame: Uint8Array) => {
      if (!this.authenticated && !this.closed && frame.byteLength > 0) this.reject('sent an invalid frame before authenticating (not the Hyperpair handshake)');
    };
    let rawBytes = 0;
    const onRaw = (chunk: Uint8Array) => {
      rawBytes += chunk.byteLength;
      if (!this.authenticated && rawBytes > MAX_UNAUTHENTICATED_BYTES) {
        this.reject(`sent more than ${MAX_UNAUTHENTICATED_BYTES / 1024} KiB before authenticating`);
        this.stream.destroy(); // the rest of a huge frame is not worth receiving
      }
    };
    const raw = stream.rawStream;
    stream.on('data', onFrame);
    raw?.on?.('data', onRaw);
    return () => {
      stream.off('data', onFrame);
      raw?.off?.('data', onRaw);
    };
  }

  private onOpen(h: Handshake): void {
    if (this.closed) return; // a late open after destroy() (see guard above)
    // Membership first: what someone without the code says (its version included) is not news.
    if (!h.proof || !verifyProof(this.options.authKey, this.stream.handshakeHash, this.remotePublicKey, h.proof)) {
      this.reject('wrong membership proof (it does not know the session code)');
      return;
    }
    if (h.version !== PROTOCOL_VERSION) {
      this.emit('mismatch', h.version);
      this.destroy(`the other peer runs Hyperpair protocol ${h.version}; this one runs ${PROTOCOL_VERSION}`);
      return;
    }
    this.authenticated = true;
    this.unwatch();
    this.deadline(() => this.destroy('no hello after authenticating'), () => !!this.hello);
    this.messages.hello.send(this.options.hello);
    this.timers.add(interval(() => this.ping(), this.options.pingIntervalMs));
  }

  private onHello(h: Hello): void {
    if (this.hello) return; // a second hello changes nothing
    this.clearDeadline();
    this.hello = h;
    this.connectedAt = Date.now();
    this.emit('ready', h);
    this.ping();
  }

  private ping(): void {
    if (this.closed) return;
    // A peer that answers a ping sends something at least every interval; six silent intervals
    // mean the path is gone even if TCP/UDX has not noticed yet.
    const silent = () => Date.now() - this.lastSeenAt > this.options.pingIntervalMs * 6;
    if (silent()) {
      // Judged after what already arrived is read (see `deadline`): a stalled process is not a lost path.
      setImmediate(() => silent() && this.destroy('no answer for too long (connection lost)'));
      return;
    }
    this.messages.ping.send(Date.now() % 2 ** 31);
  }

  /** Replaces the pending deadline (auth, then hello) with one `authTimeoutMs` from now. */
  private deadline(fn: () => void, met: () => boolean): void {
    this.clearDeadline();
    this.authTimer = this.timers.add(deadline(fn, this.options.authTimeoutMs, met));
  }

  private clearDeadline(): void {
    if (this.authTimer) this.timers.delete(this.authTimer);
    this.authTimer = undefined;
  }

  private reject(reason: string, ban = true): void {
    if (this.closed) return;
    this.emit('rejected', reason, ban);
    this.destroy(`rejected: ${reason}`);
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch();
    this.timers.dispose();
    this.flushDrainWaiters();
    this.emit('closed', this.closeReason, this.remoteSaidBye);
  }

  private flushDrainWaiters(): void {
    for (const w of this.drainWaiters.splice(0)) w();
  }
}
