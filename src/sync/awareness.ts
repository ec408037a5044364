/**
 * Presence plumbing: the awareness fields Hyperpair peers publish (docs/PROTOCOL.md §6.1), and a
 * reader that turns another peer's state — untrusted data — into a well-formed PresenceState or
 * nothing. The product reads others' presence through PresenceIdentity (presence-identity.ts), which
 * uses this reader and binds each state to the connection that delivered it.
 */
import type { Awareness } from 'y-protocols/awareness';
import { displayColour, displayName } from '../session/untrusted';
import { isCellId } from './notebook/ipynb';

export interface PresenceUser {
  /** The peer id (64 hex) of the session member. */
  id: string;
  /** At most 64 characters, without control, bidi or invisible characters (session/display.ts). */
  name: string;
  /** `#rrggbb`. */
  colour: string;
}

export interface PresenceFile {
  id: string;
  path: string;
  /** A notebook's cell (PROTOCOL.md §6.1, optional; peers that do not know it ignore it). */
  cell?: string;
}

export interface PresenceState {
  user?: PresenceUser;
  /**
   * The shared file this person has active, or null/absent. For a notebook, `cell` is the id of the
   * cell whose text they are in (absent: the notebook is active, no cell's text is).
   */
  file?: PresenceFile | null;
  /**
   * Selections in that file (in a notebook, in that cell's source): anchor and head as
   * Y.RelativePosition JSON (Y.relativePositionToJSON).
   */
  selections?: Array<{ anchor: unknown; head: unknown }>;
  /**
   * "Bring everyone here": raised (a new, larger number) when this person asks every member to follow
   * them. Peers that do not know it ignore it (PROTOCOL.md §6.1).
   */
  summon?: number;
}

/** More awareness states than this (every peer has one; relayed ones included) cuts the sender off. */
export const MAX_AWARENESS_STATES = 1024;
/** Selections kept per state; more are ignored. */
export const MAX_SELECTIONS = 64;

const FILE_ID = /^[0-9a-f]{32}$/;
const PEER_ID = /^[0-9a-f]{64}$/;

/** Another peer's awareness state made safe to show, or undefined when it names no user. */
export function readPresence(state: unknown): PresenceState | undefined {
  if (!isObject(state) || !isObject(state.user)) return undefined;
  const u = state.user;
  if (typeof u.id !== 'string' || !PEER_ID.test(u.id)) return undefined;
  const out: PresenceState = { user: { id: u.id, name: displayName(u.name, 'someone'), colour: displayColour(u.colour) } };
  const f = state.file;
  if (isObject(f) && typeof f.id === 'string' && FILE_ID.test(f.id) && typeof f.path === 'string' && f.path.length <= 1024) {
    out.file = { id: f.id, path: f.path, ...(isCellId(f.cell) ? { cell: f.cell } : {}) };
    if (Array.isArray(state.selections)) {
      out.selections = state.selections
        .slice(0, MAX_SELECTIONS)
        .filter((s): s is { anchor: unknown; head: unknown } => isObject(s) && isRelativePosition(s.anchor) && isRelativePosition(s.head))
        .map((s) => ({ anchor: s.anchor, head: s.head }));
    }
  } else out.file = null;
  if (typeof state.summon === 'number' && Number.isSafeInteger(state.summon) && state.summon > 0) out.summon = state.summon;
  return out;
}

/** The others' presence, by awareness client id (this peer's own state left out). */
export function presences(awareness: Awareness): Map<number, PresenceState> {
  const out = new Map<number, PresenceState>();
  awareness.getStates().forEach((state, clientId) => {
    if (clientId === awareness.clientID) return;
    const p = readPresence(state);
    if (p) out.set(clientId, p);
  });
  return out;
}

/** Publishes this peer's identity (the session's `self`). */
export function publishUser(awareness: Awareness, user: PresenceUser): void {
  awareness.setLocalStateField('user', { id: user.id, name: user.name, colour: user.colour });
}

/** Publishes the active shared file and its selections (null: no shared file is active). */
export function publishSelections(
  awareness: Awareness,
  file: PresenceFile | null,
  selections: Array<{ anchor: unknown; head: unknown }> = [],
): void {
  awareness.setLocalStateField('file', file);
  awareness.setLocalStateField('selections', file ? selections.slice(0, MAX_SELECTIONS) : []);
}

/**
 * Whether a relaying peer may pass an awareness state on: not when another client claims to be the
 * relaying peer itself (the receiver would take it as delivered by that peer).
 */
export function relayable(awareness: Awareness, client: number, selfId: string): boolean {
  if (client === awareness.clientID) return true;
  const state = awareness.getStates().get(client) as { user?: { id?: unknown } } | undefined;
  return state?.user?.id !== selfId;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The JSON form of a Y.RelativePosition: `{type?, tname?, item?: {client, clock}, assoc?}`. */
function isRelativePosition(v: unknown): boolean {
  if (!isObject(v)) return false;
  const id = (x: unknown) => isObject(x) && Number.isSafeInteger(x.client) && Number.isSafeInteger(x.clock);
  if (v.item !== undefined && v.item !== null && !id(v.item)) return false;
  if (v.type !== undefined && v.type !== null && !id(v.type)) return false;
  if (v.tname !== undefined && v.tname !== null && typeof v.tname !== 'string') return false;
  if (v.assoc !== undefined && typeof v.assoc !== 'number') return false;
  return true;
}
