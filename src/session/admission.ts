/**
 * Who may be a member, and who may edit: the roster. The peer that started a session (its owner)
 * signs the roster with its key pair; every member keeps the newest roster it has verified and passes
 * it on, so that all members judge a newcomer alike, and a guest cannot forge its way in or out of
 * being read-only. A peer that has no roster yet (it is joining) judges no one: it trusts the
 * members it meets, which judge it. docs/PROTOCOL.md §8.
 */
import c from 'compact-encoding';
import type { Encoding, State } from 'compact-encoding';
import sodium from 'sodium-universal';
import { field, writeFields } from './fields';

export type Role = 'editor' | 'viewer';
/** `anyone`: whoever knows the code is a member; `ask`: the owner admits each newcomer. */
export type AdmissionPolicy = 'anyone' | 'ask';
export type EntryRole = Role | 'denied';

export interface RosterBody {
  /** The owner's public key (32 bytes); the signature is by this key. */
  owner: Uint8Array;
  /** Increases with every change; a member keeps the highest it has verified. */
  seq: number;
  policy: AdmissionPolicy;
  /** The role of a member the roster does not name. */
  guestRole: Role;
  entries: Array<{ key: Uint8Array; role: EntryRole }>;
}

export interface Roster extends RosterBody {
  signature: Uint8Array;
}

/** What this peer does with a peer that proved it knows the code. */
export type Verdict = { admit: true; role: Role } | { admit: false; why: 'ask' | 'wait' | 'denied' };

export const MAX_ROSTER_ENTRIES = 1024;
const ROLES: EntryRole[] = ['editor', 'viewer', 'denied'];
const POLICIES: AdmissionPolicy[] = ['anyone', 'ask'];
const SIGN_LABEL = Buffer.from('hyperpair/roster/v1');

function enumOf<T>(values: readonly T[], what: string): Encoding<T> {
  return {
    preencode: (state, v) => c.uint.preencode(state, values.indexOf(v)),
    encode: (state, v) => c.uint.encode(state, values.indexOf(v)),
    decode(state) {
      const i = c.uint.decode(state);
      if (i >= values.length) throw new Error(`unknown ${what} ${i}`);
      return values[i];
    },
  };
}

const roleEncoding = enumOf(ROLES, 'role');
const policyEncoding = enumOf(POLICIES, 'admission policy');

/** Sizing and writing go through the same fields in the same order: one list of them for both passes. */
function writeBody(pass: 'preencode' | 'encode', state: State, r: RosterBody): void {
  c.fixed32[pass](state, r.owner);
  c.uint[pass](state, r.seq);
  policyEncoding[pass](state, r.policy);
  roleEncoding[pass](state, r.guestRole);
  c.uint[pass](state, r.entries.length);
  for (const e of r.entries) {
    c.fixed32[pass](state, e.key);
    roleEncoding[pass](state, e.role);
  }
}

const bodyEncoding: Encoding<RosterBody> = {
  preencode: (state, r) => writeBody('preencode', state, r),
  encode: (state, r) => writeBody('encode', state, r),
  decode(state) {
    const owner = c.fixed32.decode(state);
    const seq = c.uint.decode(state);
    const policy = policyEncoding.decode(state);
    const guestRole = roleEncoding.decode(state);
    if (guestRole === 'denied') throw new Error('guests cannot be denied by default');
    const n = c.uint.decode(state);
    if (n > MAX_ROSTER_ENTRIES) throw new Error(`roster of ${n} entries (max ${MAX_ROSTER_ENTRIES})`);
    const entries: RosterBody['entries'] = [];
    for (let i = 0; i < n; i++) entries.push({ key: c.fixed32.decode(state), role: roleEncoding.decode(state) });
    return { owner, seq, policy, guestRole: guestRole as Role, entries };
  },
};

export const rosterEncoding: Encoding<Roster> = {
  ...writeFields<Roster>(field(bodyEncoding, (r) => r), field(c.fixed64, (r) => r.signature)),
  decode(state) {
    const body = bodyEncoding.decode(state);
    return { ...body, signature: c.fixed64.decode(state) };
  },
};

function signedBytes(body: RosterBody): Buffer {
  return Buffer.concat([SIGN_LABEL, c.encode(bodyEncoding, body)]);
}

export function signRoster(body: RosterBody, secretKey: Uint8Array): Roster {
  const signature = Buffer.alloc(sodium.crypto_sign_BYTES);
  sodium.crypto_sign_detached(signature, signedBytes(body), secretKey);
  return { ...body, signature };
}

export function verifyRoster(r: Roster): boolean {
  return sodium.crypto_sign_verify_detached(r.signature, signedBytes(r), r.owner);
}

/** The roster's word on one peer: its entry, else the role of guests (`undefined`: not named). */
export function entryOf(r: RosterBody, key: Uint8Array): EntryRole | undefined {
  return r.entries.find((e) => Buffer.from(e.key).equals(Buffer.from(key)))?.role;
}

/**
 * How a member holding `roster` treats a peer that proved it knows the code. `selfIsOwner`: this
 * peer signs the roster, so an unknown newcomer under `ask` is its question to answer.
 */
export function judge(roster: RosterBody | undefined, key: Uint8Array, selfIsOwner: boolean): Verdict {
  if (!roster) return { admit: true, role: 'editor' }; // joining: the members judge us
  if (Buffer.from(key).equals(Buffer.from(roster.owner))) return { admit: true, role: 'editor' };
  const entry = entryOf(roster, key);
  if (entry === 'denied') return { admit: false, why: 'denied' };
  if (entry) return { admit: true, role: entry };
  if (roster.policy === 'anyone') return { admit: true, role: roster.guestRole };
  return { admit: false, why: selfIsOwner ? 'ask' : 'wait' };
}

/** A roster with one peer's entry set (or replaced), one step newer. */
export function withEntry(r: RosterBody, key: Uint8Array, role: EntryRole): RosterBody {
  const entries = r.entries.filter((e) => !Buffer.from(e.key).equals(Buffer.from(key)));
  entries.push({ key: Buffer.from(key), role });
  return { ...r, seq: r.seq + 1, entries: entries.slice(-MAX_ROSTER_ENTRIES) };
}
