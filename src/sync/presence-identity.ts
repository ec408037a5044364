/**
 * Binds each presence to an authenticated key, so nobody can appear as somebody else. A state's
 * `user.id` is self-declared; what is known for sure is which authenticated connection delivered it.
 * A presence is shown when it claims a peer that delivered it (verified: then the name and colour
 * that peer announced in its authenticated hello are shown), or when it claims a peer this one has no
 * connection with (relayed through others: the best anyone can know, docs/PROTOCOL.md §6.1). A state
 * claiming a directly connected peer that never sent it is a forgery and is not shown; and no peer
 * relays a state that claims to be that peer itself but is not its own (awareness.ts `relayable`), so
 * a forgery cannot pick up the real peer's delivery on its way.
 *
 * Deliveries are read from the raw awareness messages, not from the awareness 'update' event: a copy
 * that arrives second (same clock) raises no event, and the real peer's own copy may be that one.
 */
import * as decoding from 'lib0/decoding';
import type { Awareness } from 'y-protocols/awareness';
import { displayColour, displayName } from '../session/untrusted';
import type { PeerInfo, TransportEvents } from '../session/transport';
import { MAX_AWARENESS_STATES, readPresence, type PresenceState } from './awareness';
import { decodeMessage, MessageType } from './protocol';

export interface VerifiedPresence extends PresenceState {
  /** The state came straight from the peer it names. */
  verified: boolean;
}

/** The part of a PeerTransport this needs. */
export interface PresenceTransport {
  readonly self: PeerInfo;
  peers(): PeerInfo[];
  on(event: 'message', listener: (...args: TransportEvents['message']) => void): unknown;
  off(event: 'message', listener: (...args: TransportEvents['message']) => void): unknown;
}

export class PresenceIdentity {
  /** For each awareness client id, the peers that delivered a state of it naming themselves. */
  private readonly deliveredBy = new Map<number, Set<string>>();
  private readonly onMessage = (peer: PeerInfo, data: Uint8Array): void => {
    for (const client of awarenessClaims(data, peer.id)) {
      let set = this.deliveredBy.get(client);
      if (!set) {
        // Bounded like the awareness itself (a sender beyond it is cut off by the workspace).
        if (this.deliveredBy.size >= MAX_AWARENESS_STATES * 2) this.forgetGone();
        this.deliveredBy.set(client, (set = new Set()));
      }
      set.add(peer.id);
    }
  };

  constructor(
    private readonly awareness: Awareness,
    private readonly transport: PresenceTransport,
  ) {
    transport.on('message', this.onMessage);
  }

  /** The others' presence, sanitised and bound to who sent it, by awareness client id. */
  others(): Map<number, VerifiedPresence> {
    const direct = new Map(this.transport.peers().map((p) => [p.id, p]));
    const out = new Map<number, VerifiedPresence>();
    this.awareness.getStates().forEach((state, client) => {
      if (client === this.awareness.clientID) return;
      const p = readPresence(state);
      if (!p?.user) return;
      const claimed = p.user.id;
      if (claimed === this.transport.self.id) return; // somebody else's client claiming to be this peer
      const peer = direct.get(claimed);
      if (peer) {
        if (!this.deliveredBy.get(client)?.has(claimed)) return; // names a peer we hear directly, who never sent it
        out.set(client, { ...p, user: { id: claimed, name: displayName(peer.name), colour: displayColour(peer.colour) }, verified: true });
      } else {
        out.set(client, { ...p, verified: false });
      }
    });
    return out;
  }

  dispose(): void {
    this.transport.off('message', this.onMessage);
    this.deliveredBy.clear();
  }

  private forgetGone(): void {
    const live = this.awareness.getStates();
    for (const client of this.deliveredBy.keys()) if (!live.has(client)) this.deliveredBy.delete(client);
  }
}

/** The client ids whose state in an awareness message names its sender; none for any other message. */
function awarenessClaims(data: Uint8Array, senderId: string): number[] {
  try {
    const m = decodeMessage(data);
    if (m.type !== MessageType.Awareness) return [];
    // y-protocols awareness update: varUint count, then per client varUint id, varUint clock, varString JSON.
    const d = decoding.createDecoder(m.update);
    const count = decoding.readVarUint(d);
    const out: number[] = [];
    for (let i = 0; i < count && i <= MAX_AWARENESS_STATES; i++) {
      const client = decoding.readVarUint(d);
      decoding.readVarUint(d);
      const state = JSON.parse(decoding.readVarString(d)) as { user?: { id?: unknown } } | null;
      if (state?.user?.id === senderId) out.push(client);
    }
    return out;
  } catch {
    return []; // malformed: the workspace disconnects the sender
  }
}
