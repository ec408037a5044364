/**
 * What a voice frame is on the wire (docs/PROTOCOL.md §9.7): its fields, declared once for the
 * `hyperpair/voice` channel's `frame` and `relayed` messages and for the datagrams that carry the same
 * fields beside the stream (datagram.ts). Decoding checks every bound a peer could break.
 */
import c from 'compact-encoding';
import type { Encoding, State } from 'compact-encoding';
import { field, writeFields } from '../fields';
import { originEncoding } from './relay';

/** An Opus packet of 20 ms is at most a few hundred bytes at speech bitrates; anything larger is refused. */
export const MAX_FRAME_BYTES = 4000;

export interface VoiceFrame {
  /** Per sender, +1 per frame (a gap is a frame lost or dropped). */
  seq: number;
  /** Capture time of the frame's first sample, ms on the sender's clock (only differences matter). */
  time: number;
  /** Loudness 0–255 of the frame (for "who is speaking"), computed by the speaker. */
  level: number;
  /** One Opus packet, 48 kHz mono, 20 ms. */
  data: Uint8Array;
}

/** A frame carried for a speaker not connected to the receiver (relay.ts). */
export interface RelayedFrame extends VoiceFrame {
  /** The speaker's public key, hex. */
  origin: string;
}

export interface CallState {
  inCall: boolean;
  muted: boolean;
}

const frameFields = [field(c.uint, (f: VoiceFrame) => f.seq), field(c.uint, (f: VoiceFrame) => f.time), field(c.uint, (f: VoiceFrame) => f.level), field(c.buffer, (f: VoiceFrame) => f.data)];

function decodeFrame(state: State): VoiceFrame {
  const f = { seq: c.uint.decode(state), time: c.uint.decode(state), level: c.uint.decode(state), data: c.buffer.decode(state) ?? new Uint8Array(0) };
  if (f.data.byteLength > MAX_FRAME_BYTES || f.level > 255) throw new Error('voice frame out of bounds');
  return f;
}

export const frameEncoding: Encoding<VoiceFrame> = { ...writeFields<VoiceFrame>(...frameFields), decode: decodeFrame };

export const relayedEncoding: Encoding<RelayedFrame> = {
  ...writeFields<RelayedFrame>(field(originEncoding, (r) => r.origin), ...frameFields),
  decode: (state) => {
    const origin = originEncoding.decode(state);
    return { origin, ...decodeFrame(state) };
  },
};

export const stateEncoding: Encoding<CallState> = {
  preencode: (state) => c.uint.preencode(state, 3),
  encode: (state, s) => c.uint.encode(state, (s.inCall ? 1 : 0) | (s.muted ? 2 : 0)),
  decode(state) {
    const bits = c.uint.decode(state);
    return { inCall: (bits & 1) !== 0, muted: (bits & 2) !== 0 };
  },
};
