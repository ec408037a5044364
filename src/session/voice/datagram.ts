/**
 * Voice frames as datagrams beside the connection's stream (docs/PROTOCOL.md §9.7, voice protocol 2).
 *
 * Why: a connection is one ordered, reliable stream, so a frame sent on it waits behind every byte
 * handed to the stream before it — a whole 256 KiB file chunk, its retransmissions included
 * (head-of-line blocking; pacer.ts only shortens that queue). `@hyperswarm/secret-stream` also carries
 * unordered messages over the same UDX connection (`trySend`, the `message` event): each is a UDP
 * packet of its own, encrypted and authenticated with keys derived from this connection's Noise
 * handshake, delivered as it arrives or not at all. A late frame is worth nothing to a listener and a
 * lost one costs 20 ms of sound, which the jitter buffer already takes; a frame queued behind a file
 * costs every frame after it.
 *
 * Why the secretbox suffices to say who sent a datagram: its key is derived from the handshake hash of
 * this one connection, one key per direction, and only the two ends of the handshake hold it; the
 * connection is a member's (it proved the session's secret over that same handshake hash, §4.2), and
 * only the current connection of a member in the call has a link here. What it does not give is
 * freshness: secret-stream does not check its nonces, so a packet captured on the path could be played
 * again. Each datagram therefore carries a counter of this connection and direction, and a receiver
 * takes each counter once, within a window of the newest (ReplayWindow): a replay is dropped.
 *
 * Used only where both sides can: a peer says in `version` (message 5, which a voice-1 peer ignores)
 * that it speaks 2 and whether its connection is UDX (a LAN connection is TCP: no datagrams); each
 * side then probes, and sends frames as datagrams only once the other has said that a datagram of
 * its arrived (a blind relay or a path that drops them leaves the call on the stream, as before).
 */
import c from 'compact-encoding';
import type { Encoding, State } from 'compact-encoding';
import type Protomux from 'protomux';
import { interval, toDisposable, type IDisposable } from '../disposable';
import { frameEncoding, relayedEncoding, type RelayedFrame, type VoiceFrame } from './frames';

/** The voice protocol this peer speaks: 2 adds `version` and datagrams to 1 (the channel's handshake stays 1). */
export const VOICE_PROTOCOL_VERSION = 2;
/**
 * The largest datagram sent or taken, before encryption: one UDX packet (its MTU is at least 1,200
 * bytes; the encryption adds 24 and UDX's header 20). A larger frame (never at speech bitrates: 24
 * kbit/s is 60 bytes a frame) goes on the channel.
 */
export const MAX_DATAGRAM_BYTES = 1100;
/** Probes: one every PROBE_MS until the other side says one arrived, PROBES at most (10 s). */
const PROBE_MS = 250;
const PROBES = 40;

/** A datagram's kind, its first field. Other values are not voice's: ignored. */
export const DatagramKind = { probe: 1, frame: 2, relayed: 3 } as const;

export type Datagram = { kind: 'probe'; n: number } | { kind: 'frame'; n: number; frame: VoiceFrame } | { kind: 'relayed'; n: number; frame: RelayedFrame };

/** `version` (message 5): the voice protocol the sender speaks, and what it knows of datagrams here. */
export interface VoiceVersion {
  version: number;
  /** The sender's side of this connection carries datagrams (a UDX connection). */
  datagrams: boolean;
  /** An authentic datagram from the receiver arrived at the sender on this connection. */
  heard: boolean;
}

export const versionEncoding: Encoding<VoiceVersion> = {
  preencode(state, v) {
    c.uint.preencode(state, v.version);
    c.uint.preencode(state, bits(v));
  },
  encode(state, v) {
    c.uint.encode(state, v.version);
    c.uint.encode(state, bits(v));
  },
  decode(state) {
    const version = c.uint.decode(state);
    const b = c.uint.decode(state);
    return { version, datagrams: (b & 1) !== 0, heard: (b & 2) !== 0 };
  },
};

function bits(v: VoiceVersion): number {
  return (v.datagrams ? 1 : 0) | (v.heard ? 2 : 0);
}

export function encodeDatagram(d: Datagram): Uint8Array {
  const state = c.state();
  const kind = DatagramKind[d.kind];
  c.uint.preencode(state, kind);
  c.uint.preencode(state, d.n);
  if (d.kind === 'frame') frameEncoding.preencode(state, d.frame);
  else if (d.kind === 'relayed') relayedEncoding.preencode(state, d.frame);
  state.buffer = Buffer.allocUnsafe(state.end);
  c.uint.encode(state, kind);
  c.uint.encode(state, d.n);
  if (d.kind === 'frame') frameEncoding.encode(state, d.frame);
  else if (d.kind === 'relayed') relayedEncoding.encode(state, d.frame);
  return state.buffer;
}

/**
 * A datagram's plaintext, or undefined for anything that is not a well-formed voice datagram (too
 * large, another kind, a field out of bounds, bytes left over): dropped, never thrown at the caller.
 */
export function decodeDatagram(buffer: Uint8Array): Datagram | undefined {
  if (buffer.byteLength > MAX_DATAGRAM_BYTES) return undefined;
  const state: State = { start: 0, end: buffer.byteLength, buffer: Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength) };
  try {
    const kind = c.uint.decode(state);
    const n = c.uint.decode(state);
    let d: Datagram | undefined;
    if (kind === DatagramKind.probe) d = { kind: 'probe', n };
    else if (kind === DatagramKind.frame) d = { kind: 'frame', n, frame: frameEncoding.decode(state) };
    else if (kind === DatagramKind.relayed) d = { kind: 'relayed', n, frame: relayedEncoding.decode(state) };
    return d && state.start === state.end ? d : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Which datagram counters of one connection and direction arrived already: each is taken once, and
 * one more than WINDOW behind the newest is refused (a replay, or too old to play anyway).
 */
export class ReplayWindow {
  static readonly WINDOW = 256;
  private max = 0;
  private readonly seen = new Set<number>();

  accept(n: number): boolean {
    if (n <= 0 || n <= this.max - ReplayWindow.WINDOW || this.seen.has(n)) return false;
    this.seen.add(n);
    if (n > this.max) {
      this.max = n;
      for (const s of this.seen) if (s <= this.max - ReplayWindow.WINDOW) this.seen.delete(s);
    }
    return true;
  }
}

/** What of a secret stream the datagram path uses (`@hyperswarm/secret-stream` 6.9: `trySend`, `message`). */
export interface DatagramStream {
  trySend?(buffer: Uint8Array): void;
  readonly rawStream?: unknown;
  on(event: 'message', listener: (message: Uint8Array) => void): unknown;
  off(event: 'message', listener: (message: Uint8Array) => void): unknown;
}

/**
 * The counters of a connection, kept as long as its stream (not per channel): a voice channel closed
 * and opened again on the same connection goes on counting, so a datagram of the first is not new to
 * the second.
 */
const counters = new WeakMap<object, { sent: number; window: ReplayWindow }>();
function countersOf(stream: object): { sent: number; window: ReplayWindow } {
  let k = counters.get(stream);
  if (!k) counters.set(stream, (k = { sent: 0, window: new ReplayWindow() }));
  return k;
}

/** Whether a stream can carry datagrams at all: secret-stream over UDX (over TCP, its `trySend` silently does nothing). */
export function carriesDatagrams(stream: DatagramStream): boolean {
  const raw = stream.rawStream as { trySend?: unknown } | null | undefined;
  return typeof stream.trySend === 'function' && typeof raw?.trySend === 'function';
}

export interface DatagramHandlers {
  frame(frame: VoiceFrame): void;
  relayed(frame: RelayedFrame): void;
}

/** One voice link's datagrams: the negotiation (version, probes) and sending and taking frames. */
export class DatagramPath implements IDisposable {
  private readonly capable: boolean;
  private remote: VoiceVersion | undefined;
  /** A datagram from the other side arrived on this link (told in `version`). */
  private heard = false;
  private probes: IDisposable | undefined;
  private readonly unlisten: IDisposable;
  private closed = false;
  /** The channel is open both ways: `version` may be sent. */
  private open = false;
  private readonly counters: { sent: number; window: ReplayWindow };

  constructor(
    private readonly stream: DatagramStream,
    private readonly versionMessage: Protomux.Message<VoiceVersion>,
    private readonly handlers: DatagramHandlers,
  ) {
    this.capable = carriesDatagrams(stream);
    this.counters = countersOf(stream);
    const onMessage = (m: Uint8Array) => this.onDatagram(m);
    stream.on('message', onMessage);
    this.unlisten = toDisposable(() => stream.off('message', onMessage));
  }

  /** Frames to the other side go as datagrams (it speaks 2 and said one of ours arrived). */
  get usable(): boolean {
    const r = this.remote;
    return !this.closed && this.capable && r !== undefined && r.version >= VOICE_PROTOCOL_VERSION && r.datagrams && r.heard;
  }

  /** The channel opened: say what this side speaks. */
  opened(): void {
    this.open = true;
    this.sayVersion();
  }

  /** The other side's `version`. */
  onVersion(v: VoiceVersion): void {
    this.remote = v;
    if (v.heard || !v.datagrams || v.version < VOICE_PROTOCOL_VERSION || !this.capable) this.stopProbing();
    else this.probe();
  }

  /** Sends a frame as a datagram; false when it must go on the channel (not usable here, or too large). */
  send(d: { kind: 'frame'; frame: VoiceFrame } | { kind: 'relayed'; frame: RelayedFrame }): boolean {
    if (!this.usable || d.frame.data.byteLength > MAX_DATAGRAM_BYTES) return false;
    const bytes = encodeDatagram({ ...d, n: ++this.counters.sent });
    if (bytes.byteLength > MAX_DATAGRAM_BYTES) return false;
    this.stream.trySend?.(bytes);
    return true;
  }

  dispose(): void {
    this.closed = true;
    this.stopProbing();
    this.unlisten.dispose();
  }

  private probe(): void {
    if (this.probes || this.closed) return;
    let left = PROBES;
    const once = () => {
      if (left-- <= 0 || this.closed) return this.stopProbing();
      this.stream.trySend?.(encodeDatagram({ kind: 'probe', n: ++this.counters.sent }));
    };
    this.probes = interval(once, PROBE_MS);
    once();
  }

  private stopProbing(): void {
    this.probes?.dispose();
    this.probes = undefined;
  }

  private sayVersion(): void {
    if (this.open && !this.closed) this.versionMessage.send({ version: VOICE_PROTOCOL_VERSION, datagrams: this.capable, heard: this.heard });
  }

  private onDatagram(message: Uint8Array): void {
    if (this.closed) return;
    const d = decodeDatagram(message);
    if (!d || !this.counters.window.accept(d.n)) return;
    if (!this.heard) {
      this.heard = true;
      this.sayVersion();
    }
    if (d.kind === 'frame') this.handlers.frame(d.frame);
    else if (d.kind === 'relayed') this.handlers.relayed(d.frame);
  }
}
