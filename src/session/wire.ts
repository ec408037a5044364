/**
 * The Hyperpair channel on one connection: a protomux channel named "hyperpair" whose handshake carries
 * the protocol version and the membership proof, and eight bounded messages (docs/PROTOCOL.md §4–5;
 * their types are the order in which connection.ts adds them).
 * Every decoder enforces its bounds by throwing, which makes protomux destroy that one connection.
 */
import c from 'compact-encoding';
import type { Encoding, State } from 'compact-encoding';
import { WIRE_COLOUR } from './format';
import { displayName, MAX_DISPLAY_NAME } from './untrusted';
import { field, writeFields } from './fields';

export const PROTOCOL_NAME = 'hyperpair';
/**
 * 2: texts may travel as bytes and start from a deterministic first state (docs/PROTOCOL.md §6.1).
 * 3: notebooks (`.ipynb`) are shared cell by cell, as index entries of kind `notebook` (§6.1); texts
 *    nobody edited are fetched as bytes by hash, many per message (`texts-get`/`texts-data`, §6).
 * 4: the index has bases that a joiner holding the same files builds itself (`bases-get`/`bases`, §6.1–6.2).
 */
export const PROTOCOL_VERSION = 5;

/** Largest application payload in one `data` frame. The layers above chunk below it. */
export const MAX_DATA_FRAME = 12 * 1024 * 1024;
export const MAX_NAME_CHARS = MAX_DISPLAY_NAME;
export const MAX_REASON_CHARS = 256;
export const MAX_GOSSIP_PEERS = 256;

/**
 * What a remote may send before its membership proof is checked: its channel open is under 100 bytes,
 * so anything near this cap is an attack (a 16 MiB frame would otherwise be held in memory until the
 * auth timeout). Counted on the ciphertext, as it arrives.
 */
export const MAX_UNAUTHENTICATED_BYTES = 64 * 1024;

export interface Handshake {
  version: number;
  /**
   * 32 bytes, computed as in version 1 (docs/PROTOCOL.md §4.2) whatever the version: every version's
   * handshake starts with `version, proof`, so that a peer checks membership before it believes
   * anything else, the version included. Null when the remote sent no proof.
   */
  proof: Uint8Array | null;
}

/** Reads the version and the proof; the rest of another version's body is not ours to read. */
export const handshakeEncoding: Encoding<Handshake> = {
  ...writeFields<Handshake>(field(c.uint, (h) => h.version), field(c.fixed32, (h) => h.proof ?? new Uint8Array(32))),
  decode(state) {
    const version = c.uint.decode(state);
    if (version === PROTOCOL_VERSION) return { version, proof: c.fixed32.decode(state) };
    const proof = state.end - state.start >= 32 ? c.fixed32.decode(state) : null;
    state.start = state.end;
    return { version, proof };
  },
};

function boundedString(max: number, what: string): Encoding<string> {
  return {
    preencode: (state, s) => c.string.preencode(state, s),
    encode: (state, s) => c.string.encode(state, s),
    decode(state: State) {
      const s = c.string.decode(state);
      if ([...s].length > max) throw new Error(`${what} longer than ${max} characters`);
      return s;
    },
  };
}

export interface Hello {
  name: string;
  colour: string;
}

const nameEncoding = boundedString(MAX_NAME_CHARS, 'name');
const colourEncoding = boundedString(7, 'colour');

export const helloEncoding: Encoding<Hello> = {
  ...writeFields<Hello>(field(nameEncoding, (m) => m.name), field(colourEncoding, (m) => m.colour)),
  decode(state) {
    const name = nameEncoding.decode(state);
    const colour = colourEncoding.decode(state);
    // Lowercase only: `#E6194B` is malformed on the wire (§5), however a person typed it.
    if (!WIRE_COLOUR.test(colour)) throw new Error('colour is not #rrggbb (lowercase)');
    return { name: cleanName(name), colour };
  },
};

export const peersEncoding: Encoding<Uint8Array[]> = {
  preencode: (state, keys) => c.array(c.fixed32).preencode(state, keys),
  encode: (state, keys) => c.array(c.fixed32).encode(state, keys),
  decode(state) {
    const n = c.uint.decode(state);
    if (n > MAX_GOSSIP_PEERS) throw new Error(`peers message lists ${n} peers (max ${MAX_GOSSIP_PEERS})`);
    const keys: Uint8Array[] = [];
    for (let i = 0; i < n; i++) keys.push(c.fixed32.decode(state));
    return keys;
  },
};

export const byeEncoding = boundedString(MAX_REASON_CHARS, 'reason');

export const dataEncoding: Encoding<Uint8Array> = {
  preencode: (state, b) => c.buffer.preencode(state, b),
  encode: (state, b) => c.buffer.encode(state, b),
  decode(state) {
    // Check the declared length before the bytes are sliced out.
    const save = state.start;
    const len = c.uint.decode(state);
    if (len > MAX_DATA_FRAME) throw new Error(`data frame of ${len} bytes (max ${MAX_DATA_FRAME})`);
    state.start = save;
    return c.buffer.decode(state) ?? new Uint8Array(0);
  },
};

export const pingEncoding: Encoding<number> = c.uint;

/** What a member tells a newcomer about its admission (docs/PROTOCOL.md §8). */
export interface Admission {
  state: 'admitted' | 'waiting' | 'denied';
  /** The newcomer's role; meaningful when admitted. */
  readOnly: boolean;
  reason: string;
}

const ADMISSION_STATES: Admission['state'][] = ['admitted', 'waiting', 'denied'];
const reasonEncoding = boundedString(MAX_REASON_CHARS, 'reason');

export const admissionEncoding: Encoding<Admission> = {
  ...writeFields<Admission>(
    field(c.uint, (m) => ADMISSION_STATES.indexOf(m.state)),
    field(c.bool, (m) => m.readOnly),
    field(reasonEncoding, (m) => m.reason),
  ),
  decode(state) {
    const i = c.uint.decode(state);
    if (i >= ADMISSION_STATES.length) throw new Error(`unknown admission state ${i}`);
    return { state: ADMISSION_STATES[i], readOnly: c.bool.decode(state), reason: reasonEncoding.decode(state) };
  },
};

/** A display name with control and invisible characters removed and length bounded (session/display.ts). */
export function cleanName(name: string): string {
  return displayName(name, 'Anonymous');
}
