/**
 * Workspace-sync messages, carried in the session's `data` frames (docs/PROTOCOL.md §6). lib0
 * encoding, as y-protocols uses. Decoding is strict: any malformed or out-of-bounds field throws a
 * ProtocolError, and the caller disconnects that peer.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { MAX_TEXT_BYTES } from './classify';
import { isHash } from './hash';
import { isDescriptor, MAX_BASES, type BaseDescriptor } from './index-bases';

export const enum MessageType {
  /** docName, then one y-protocols sync message (step 1, step 2 or update). */
  Sync = 0,
  /** A y-protocols awareness update. */
  Awareness = 1,
  /** A request for one content-addressed chunk. */
  BlobGet = 2,
  /** A chunk: hash, bytes. */
  BlobData = 3,
  /** The peer cannot serve that chunk. */
  BlobMissing = 4,
  /** One piece of a message too large for one frame: more (0 = last piece), bytes. */
  Part = 5,
  /** Version 3: a request for texts' first-state bytes: count, then (file id, hash) each. */
  TextsGet = 6,
  /** Version 3: the answer to one `TextsGet`: count, then (file id, hash, found, bytes if found) each. */
  TextsData = 7,
  /** Version 4: a request for the index's base descriptions (index-bases.ts); no fields. */
  BasesGet = 8,
  /** Version 4: the answer to one `BasesGet`: count, then (k, first, last, count, update hash) each. */
  Bases = 9,
}

export const INDEX_DOC = 'index';
export const CHUNK_SIZE = 256 * 1024;
/**
 * Messages above this are sent as consecutive `Part`s. The session's frames stop at 12 MiB and an
 * index of tens of thousands of files, or a large text with its history, can be bigger than that.
 */
export const PART_SIZE = 1024 * 1024;
/** The most a reassembled message may hold (a peer sending more is cut off). */
export const MAX_MESSAGE = 128 * 1024 * 1024;

/** Texts asked for (and answered) in one message at most. */
export const MAX_TEXTS_PER_MESSAGE = 1024;
/** A text's bytes in a `TextsData` at most: the largest file treated as text. */
export const MAX_TEXT_DATA = MAX_TEXT_BYTES;

/** One text asked for by its first state's hash; `bytes` in an answer (absent: not held there). */
export interface TextItem {
  id: string;
  hash: string;
  bytes?: Uint8Array;
}

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export type Message =
  | { type: MessageType.Sync; doc: string; decoder: decoding.Decoder }
  | { type: MessageType.Awareness; update: Uint8Array }
  | { type: MessageType.BlobGet; hash: string }
  | { type: MessageType.BlobData; hash: string; data: Uint8Array }
  | { type: MessageType.BlobMissing; hash: string }
  | { type: MessageType.Part; more: boolean; data: Uint8Array }
  | { type: MessageType.TextsGet | MessageType.TextsData; items: TextItem[] }
  | { type: MessageType.BasesGet }
  | { type: MessageType.Bases; bases: BaseDescriptor[] };

export function isDocName(name: string): boolean {
  return name === INDEX_DOC || /^[0-9a-f]{32}$/.test(name);
}

export function decodeMessage(bytes: Uint8Array): Message {
  try {
    const d = decoding.createDecoder(bytes);
    const type = decoding.readVarUint(d);
    switch (type) {
      case MessageType.Sync: {
        const doc = decoding.readVarString(d);
        if (!isDocName(doc)) throw new ProtocolError(`bad document name ${JSON.stringify(doc.slice(0, 80))}`);
        return { type, doc, decoder: d };
      }
      case MessageType.Awareness:
        return { type, update: decoding.readVarUint8Array(d) };
      case MessageType.BlobGet:
      case MessageType.BlobMissing: {
        const hash = decoding.readVarString(d);
        if (!isHash(hash)) throw new ProtocolError('bad chunk hash');
        return { type, hash };
      }
      case MessageType.BlobData: {
        const hash = decoding.readVarString(d);
        if (!isHash(hash)) throw new ProtocolError('bad chunk hash');
        const data = decoding.readVarUint8Array(d);
        if (data.byteLength > CHUNK_SIZE) throw new ProtocolError(`chunk of ${data.byteLength} bytes (max ${CHUNK_SIZE})`);
        return { type, hash, data };
      }
      case MessageType.Part: {
        const more = decoding.readVarUint(d);
        if (more > 1) throw new ProtocolError('bad part flag');
        const data = decoding.readVarUint8Array(d);
        if (data.byteLength > PART_SIZE) throw new ProtocolError(`part of ${data.byteLength} bytes (max ${PART_SIZE})`);
        return { type, more: more === 1, data };
      }
      case MessageType.TextsGet:
      case MessageType.TextsData:
        return { type, items: readTextItems(d, type === MessageType.TextsData) };
      case MessageType.BasesGet:
        return { type };
      case MessageType.Bases:
        return { type, bases: readBases(d) };
      default:
        throw new ProtocolError(`unknown message type ${type}`);
    }
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(`malformed message: ${(err as Error).message}`);
  }
}

function readTextItems(d: decoding.Decoder, answer: boolean): TextItem[] {
  const n = decoding.readVarUint(d);
  if (n === 0 || n > MAX_TEXTS_PER_MESSAGE) throw new ProtocolError(`${n} texts in one message (1 to ${MAX_TEXTS_PER_MESSAGE})`);
  const items: TextItem[] = [];
  for (let i = 0; i < n; i++) {
    const id = decoding.readVarString(d);
    if (id === INDEX_DOC || !isDocName(id)) throw new ProtocolError('bad file id');
    const hash = decoding.readVarString(d);
    if (!isHash(hash)) throw new ProtocolError('bad text hash');
    if (!answer) {
      items.push({ id, hash });
      continue;
    }
    const found = decoding.readVarUint(d);
    if (found > 1) throw new ProtocolError('bad found flag');
    if (found === 0) {
      items.push({ id, hash });
      continue;
    }
    const bytes = decoding.readVarUint8Array(d);
    if (bytes.byteLength > MAX_TEXT_DATA) throw new ProtocolError(`a text of ${bytes.byteLength} bytes (max ${MAX_TEXT_DATA})`);
    items.push({ id, hash, bytes });
  }
  return items;
}

function readBases(d: decoding.Decoder): BaseDescriptor[] {
  const n = decoding.readVarUint(d);
  if (n > MAX_BASES) throw new ProtocolError(`${n} bases in one message (max ${MAX_BASES})`);
  const bases: BaseDescriptor[] = [];
  for (let i = 0; i < n; i++) {
    const b = { k: decoding.readVarUint(d), first: decoding.readVarString(d), last: decoding.readVarString(d), count: decoding.readVarUint(d), update: decoding.readVarString(d) };
    if (!isDescriptor(b)) throw new ProtocolError('malformed base description');
    bases.push(b);
  }
  return bases;
}

/** A `BasesGet`, or (with `bases`) the `Bases` that answers it. */
export function encodeBases(bases?: readonly BaseDescriptor[]): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, bases ? MessageType.Bases : MessageType.BasesGet);
  if (!bases) return encoding.toUint8Array(e);
  encoding.writeVarUint(e, bases.length);
  for (const b of bases) {
    encoding.writeVarUint(e, b.k);
    encoding.writeVarString(e, b.first);
    encoding.writeVarString(e, b.last);
    encoding.writeVarUint(e, b.count);
    encoding.writeVarString(e, b.update);
  }
  return encoding.toUint8Array(e);
}

/** A `TextsGet` (items without bytes) or a `TextsData` (each item's bytes, or not found). */
export function encodeTexts(type: MessageType.TextsGet | MessageType.TextsData, items: readonly TextItem[]): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, type);
  encoding.writeVarUint(e, items.length);
  for (const item of items) {
    encoding.writeVarString(e, item.id);
    encoding.writeVarString(e, item.hash);
    if (type === MessageType.TextsGet) continue;
    encoding.writeVarUint(e, item.bytes ? 1 : 0);
    if (item.bytes) encoding.writeVarUint8Array(e, item.bytes);
  }
  return encoding.toUint8Array(e);
}

export function syncEncoder(doc: string): encoding.Encoder {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.Sync);
  encoding.writeVarString(e, doc);
  return e;
}

export function encodeAwareness(update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.Awareness);
  encoding.writeVarUint8Array(e, update);
  return encoding.toUint8Array(e);
}

export function encodeBlob(type: MessageType.BlobGet | MessageType.BlobMissing, hash: string): Uint8Array;
export function encodeBlob(type: MessageType.BlobData, hash: string, data: Uint8Array): Uint8Array;
export function encodeBlob(type: MessageType, hash: string, data?: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, type);
  encoding.writeVarString(e, hash);
  if (!data) return encoding.toUint8Array(e);
  // The same bytes as writeVarUint8Array, with the chunk copied once into a buffer of the message's
  // size: lib0's encoder grows, zero-fills and joins its buffers (three copies of every 256 KiB served,
  // 2.9 ms each in a profile of a peer serving a file during a call on a loaded machine).
  encoding.writeVarUint(e, data.byteLength);
  const head = encoding.toUint8Array(e);
  const out = Buffer.allocUnsafe(head.byteLength + data.byteLength);
  out.set(head, 0);
  out.set(data, head.byteLength);
  return out;
}

/** A message as the frames to send: itself when small, else `Part`s that carry it in order. */
export function frames(message: Uint8Array): Uint8Array[] {
  if (message.byteLength <= PART_SIZE) return [message];
  const out: Uint8Array[] = [];
  for (let off = 0; off < message.byteLength; off += PART_SIZE) {
    const piece = message.subarray(off, off + PART_SIZE);
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, MessageType.Part);
    encoding.writeVarUint(e, off + PART_SIZE < message.byteLength ? 1 : 0);
    encoding.writeVarUint8Array(e, piece);
    out.push(encoding.toUint8Array(e));
  }
  return out;
}

/**
 * Reassembles one peer's `Part`s. The pieces of a message are sent back to back, so anything else
 * arriving in between, a part that is too small to have needed splitting, or a message over
 * MAX_MESSAGE is a protocol error.
 */
export class Reassembly {
  private pieces: Uint8Array[] = [];
  private bytes = 0;

  /** The whole message once its last part arrived, else undefined. */
  add(part: { more: boolean; data: Uint8Array }): Uint8Array | undefined {
    this.bytes += part.data.byteLength;
    if (this.bytes > MAX_MESSAGE) throw new ProtocolError(`message over ${MAX_MESSAGE} bytes`);
    this.pieces.push(part.data);
    if (part.more) return undefined;
    const whole = Buffer.concat(this.pieces);
    this.pieces = [];
    this.bytes = 0;
    if (whole.byteLength <= PART_SIZE) throw new ProtocolError('a message split into parts without need');
    return whole;
  }

  get inProgress(): boolean {
    return this.pieces.length > 0;
  }
}
