/**
 * The messages of the `hyperpair/terminal` channel (docs/PROTOCOL.md §9.6). Every decoder enforces
 * its bounds by throwing, which makes protomux close that one connection.
 */
import c from 'compact-encoding';
import type { Encoding } from 'compact-encoding';
import { displayName, displayText } from './untrusted';
import { field, writeFields } from './fields';

export const TERMINAL_PROTOCOL = 'hyperpair/terminal';
export const TERMINAL_VERSION = 1;

/** Most terminals one peer shares at once. */
export const MAX_TERMINALS = 8;
/** Most people one terminal lets type. */
export const MAX_WRITERS = 64;
/** Most bytes of output in one message. */
export const MAX_OUTPUT_CHUNK = 64 * 1024;
/** Most bytes of typed input in one message (a paste is split below it). */
export const MAX_INPUT_CHUNK = 4 * 1024;
export const MAX_TITLE = 64;
export const MAX_END_REASON = 256;
/** Largest terminal size accepted. */
export const MAX_DIMENSION = 1000;

/** A terminal as its sharer announces it. */
export interface TerminalInfo {
  id: number;
  title: string;
  cols: number;
  rows: number;
  /** Public keys (hex) of the people allowed to type, besides the sharer. */
  writers: string[];
}

export interface ChunkMessage {
  id: number;
  bytes: Uint8Array;
}

export interface TypedMessage {
  id: number;
  /** Who typed: public key, hex. */
  by: string;
  name: string;
}

/** A member's view of a terminal: its size, or 0 × 0 when it has none open. */
export interface SizeMessage {
  id: number;
  cols: number;
  rows: number;
}

export interface EndedMessage {
  id: number;
  reason: string;
}

function bounded(n: number, max: number, what: string): number {
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${what} ${n} is not between 1 and ${max}`);
  return n;
}

function boundedString(max: number, clean: (s: string) => string): Encoding<string> {
  return {
    preencode: (state, s) => c.string.preencode(state, s),
    encode: (state, s) => c.string.encode(state, s),
    decode(state) {
      const raw = c.string.decode(state);
      if (raw.length > max * 4) throw new Error(`string of ${raw.length} units (max ${max * 4})`);
      return clean(raw);
    },
  };
}

const titleEncoding = boundedString(MAX_TITLE, (s) => displayText(s, MAX_TITLE, 'terminal'));
const nameEncoding = boundedString(64, (s) => displayName(s));
const reasonEncoding = boundedString(MAX_END_REASON, (s) => displayText(s, MAX_END_REASON));

const keyEncoding: Encoding<string> = {
  preencode: (state, hex) => c.fixed32.preencode(state, Buffer.from(hex, 'hex')),
  encode: (state, hex) => c.fixed32.encode(state, Buffer.from(hex, 'hex')),
  decode: (state) => Buffer.from(c.fixed32.decode(state)).toString('hex'),
};

function list<T>(item: Encoding<T>, max: number, what: string): Encoding<T[]> {
  return {
    preencode: (state, l) => c.array(item).preencode(state, l),
    encode: (state, l) => c.array(item).encode(state, l),
    decode(state) {
      const n = c.uint.decode(state);
      if (n > max) throw new Error(`${what}: ${n} entries (max ${max})`);
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(item.decode(state));
      return out;
    },
  };
}

const writersEncoding = list(keyEncoding, MAX_WRITERS, 'writers');

const infoEncoding: Encoding<TerminalInfo> = {
  ...writeFields<TerminalInfo>(
    field(c.uint, (t) => t.id),
    field(titleEncoding, (t) => t.title),
    field(c.uint, (t) => t.cols),
    field(c.uint, (t) => t.rows),
    field(writersEncoding, (t) => t.writers),
  ),
  decode: (state) => ({
    id: c.uint.decode(state),
    title: titleEncoding.decode(state),
    cols: bounded(c.uint.decode(state), MAX_DIMENSION, 'columns'),
    rows: bounded(c.uint.decode(state), MAX_DIMENSION, 'rows'),
    writers: writersEncoding.decode(state),
  }),
};

export const terminalsEncoding = list(infoEncoding, MAX_TERMINALS, 'terminals');

function chunk(max: number): Encoding<ChunkMessage> {
  return {
    ...writeFields<ChunkMessage>(field(c.uint, (m) => m.id), field(c.buffer, (m) => m.bytes)),
    decode(state) {
      const id = c.uint.decode(state);
      // The declared length first: a huge chunk is refused before it is sliced out.
      const save = state.start;
      const len = c.uint.decode(state);
      if (len > max) throw new Error(`terminal chunk of ${len} bytes (max ${max})`);
      state.start = save;
      return { id, bytes: c.buffer.decode(state) ?? new Uint8Array(0) };
    },
  };
}

export const outputEncoding = chunk(MAX_OUTPUT_CHUNK);
export const inputEncoding = chunk(MAX_INPUT_CHUNK);

export const typedEncoding: Encoding<TypedMessage> = {
  ...writeFields<TypedMessage>(
    field(c.uint, (m) => m.id),
    field(keyEncoding, (m) => m.by),
    field(nameEncoding, (m) => m.name),
  ),
  decode: (state) => ({ id: c.uint.decode(state), by: keyEncoding.decode(state), name: nameEncoding.decode(state) }),
};

export const endedEncoding: Encoding<EndedMessage> = {
  ...writeFields<EndedMessage>(field(c.uint, (m) => m.id), field(reasonEncoding, (m) => m.reason)),
  decode: (state) => ({ id: c.uint.decode(state), reason: reasonEncoding.decode(state) }),
};

function viewDimension(n: number): number {
  if (n > MAX_DIMENSION) throw new Error(`view dimension ${n} (max ${MAX_DIMENSION})`);
  return n;
}

export const sizeEncoding: Encoding<SizeMessage> = {
  ...writeFields<SizeMessage>(field(c.uint, (m) => m.id), field(c.uint, (m) => m.cols), field(c.uint, (m) => m.rows)),
  decode: (state) => ({ id: c.uint.decode(state), cols: viewDimension(c.uint.decode(state)), rows: viewDimension(c.uint.decode(state)) }),
};
