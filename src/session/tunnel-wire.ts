/**
 * The messages of the `hyperpair/tunnel` channel (docs/PROTOCOL.md §9.2). Every decoder enforces
 * its bounds by throwing, which makes protomux close that one connection.
 */
import c from 'compact-encoding';
import type { Encoding } from 'compact-encoding';
import { displayText } from './untrusted';
import { field, writeFields } from './fields';

export const TUNNEL_PROTOCOL = 'hyperpair/tunnel';
export const TUNNEL_VERSION = 1;

/** Most servers one peer may share at once. */
export const MAX_SHARES = 64;
/** Most bytes in one `data` message; a TCP chunk is split below it. */
export const MAX_CHUNK = 64 * 1024;
/** Bytes one side may send on one stream before the other grants more (per-stream flow control). */
export const STREAM_WINDOW = 1024 * 1024;
/** Most streams one peer may have open towards this one at once. */
export const MAX_STREAMS = 256;
export const MAX_LABEL = 64;
export const MAX_TUNNEL_REASON = 256;

export interface ShareInfo {
  port: number;
  label: string;
}

/**
 * A stream is named by the side that opened it: `opener` is true when the sender of the message opened
 * the stream, so that both sides may open streams with the same numbers without clashing.
 */
export interface StreamRef {
  id: number;
  opener: boolean;
}

export interface OpenMessage {
  id: number;
  port: number;
}

export interface DataMessage extends StreamRef {
  bytes: Uint8Array;
}

export interface CloseMessage extends StreamRef {
  reason: string;
}

export interface CreditMessage extends StreamRef {
  bytes: number;
}

function port(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`port ${n} is not between 1 and 65535`);
  return n;
}

const shareEncoding: Encoding<ShareInfo> = {
  ...writeFields<ShareInfo>(field(c.uint, (s) => s.port), field(c.string, (s) => s.label)),
  decode(state) {
    const p = port(c.uint.decode(state));
    const raw = c.string.decode(state);
    if (raw.length > MAX_LABEL * 4) throw new Error('share label too long');
    return { port: p, label: displayText(raw, MAX_LABEL) };
  },
};

export const sharesEncoding: Encoding<ShareInfo[]> = {
  preencode: (state, list) => c.array(shareEncoding).preencode(state, list),
  encode: (state, list) => c.array(shareEncoding).encode(state, list),
  decode(state) {
    const n = c.uint.decode(state);
    if (n > MAX_SHARES) throw new Error(`shares message lists ${n} servers (max ${MAX_SHARES})`);
    const list: ShareInfo[] = [];
    for (let i = 0; i < n; i++) list.push(shareEncoding.decode(state));
    return list;
  },
};

export const openEncoding: Encoding<OpenMessage> = {
  ...writeFields<OpenMessage>(field(c.uint, (m) => m.id), field(c.uint, (m) => m.port)),
  decode: (state) => ({ id: c.uint.decode(state), port: port(c.uint.decode(state)) }),
};

const refEncoding: Encoding<StreamRef> = {
  ...writeFields<StreamRef>(field(c.uint, (r) => r.id), field(c.bool, (r) => r.opener)),
  decode: (state) => ({ id: c.uint.decode(state), opener: c.bool.decode(state) }),
};

/** A stream reference followed by one more field, each bounded by its own encoding. */
function refAnd<K extends string, V>(key: K, value: Encoding<V>): Encoding<StreamRef & Record<K, V>> {
  return {
    ...writeFields<StreamRef & Record<K, V>>(field(refEncoding, (m) => m), field(value, (m) => m[key])),
    decode(state) {
      const ref = refEncoding.decode(state);
      return { ...ref, [key]: value.decode(state) } as StreamRef & Record<K, V>;
    },
  };
}

const chunkEncoding: Encoding<Uint8Array> = {
  preencode: (state, b) => c.buffer.preencode(state, b),
  encode: (state, b) => c.buffer.encode(state, b),
  decode(state) {
    // The declared length first: a huge chunk is refused before it is sliced out.
    const save = state.start;
    const len = c.uint.decode(state);
    if (len > MAX_CHUNK) throw new Error(`tunnel chunk of ${len} bytes (max ${MAX_CHUNK})`);
    state.start = save;
    return c.buffer.decode(state) ?? new Uint8Array(0);
  },
};

const reasonEncoding: Encoding<string> = {
  preencode: (state, r) => c.string.preencode(state, r),
  encode: (state, r) => c.string.encode(state, r),
  decode(state) {
    const raw = c.string.decode(state);
    if (raw.length > MAX_TUNNEL_REASON * 4) throw new Error('close reason too long');
    return displayText(raw, MAX_TUNNEL_REASON);
  },
};

const creditBytesEncoding: Encoding<number> = {
  preencode: (state, n) => c.uint.preencode(state, n),
  encode: (state, n) => c.uint.encode(state, n),
  decode(state) {
    const bytes = c.uint.decode(state);
    if (bytes > STREAM_WINDOW) throw new Error(`credit of ${bytes} bytes (max ${STREAM_WINDOW})`);
    return bytes;
  },
};

export const dataEncoding: Encoding<DataMessage> = refAnd('bytes', chunkEncoding);
export const endEncoding: Encoding<StreamRef> = refEncoding;
export const closeEncoding: Encoding<CloseMessage> = refAnd('reason', reasonEncoding);
export const creditEncoding: Encoding<CreditMessage> = refAnd('bytes', creditBytesEncoding);
