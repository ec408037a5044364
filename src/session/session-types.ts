/**
 * The types of the session's public surface (options, events, status), apart from the classes that
 * implement it, so that each collaborator can name them without importing the facade.
 */
import type HyperDHT from 'hyperdht';
import type Protomux from 'protomux';
import type { AdmissionPolicy, Role } from './admission';
import type { ConnectionPath } from './diagnose';
import type { Logger } from './log';
import type { NetworkOptions } from './network';
import type { RefusalSummary } from './refusals';
import type { PeerInfo, TransportEvents } from './transport';

/**
 * What the session is doing, for a status bar:
 * - `connecting`: not yet announced on the DHT;
 * - `connected`: at least one member (the count comes with the `status` event and `peers()`);
 * - `alone`: announced, nobody else here (share the code);
 * - `waiting`: members were found but have not admitted this peer yet (the owner asks);
 * - `offline`: nobody connected, and either the DHT is unreachable or a member dropped without
 *   goodbye and is being redialled (show "reconnecting");
 * - `closed`: after `leave()`.
 */
export type SessionStatus = 'connecting' | 'alone' | 'waiting' | 'connected' | 'offline' | 'closed';

/** Per-peer connection figures, for the participants view. */
export interface PeerStats {
  /** Round-trip time of the last ping, in ms; undefined until the first pong. */
  rttMs: number | undefined;
  /** When this connection became a member (ms since the epoch). */
  connectedAt: number;
  /** When anything last arrived from this peer (ms since the epoch). */
  lastSeenAt: number;
  /** How this connection runs: over the local network, directly over the DHT, or through a relay. */
  path: ConnectionPath;
}

export interface SessionOptions {
  /** The session code (any accepted form). A mistyped code throws a `SessionCodeError` at once. */
  code: string;
  name: string;
  /** `#rrggbb`; derived from the public key when absent. */
  colour?: string;
  network?: NetworkOptions;
  /** Keep the same key pair to be recognised as the same participant after a restart. */
  keyPair?: HyperDHT.KeyPair;
  logger?: Logger;
  /** A peer that has not proved membership by then is disconnected. Default 10 s. */
  authTimeoutMs?: number;
  /**
   * A remote that said hello and has not sent its `admission` by then is closed with an error
   * (docs/PROTOCOL.md §5: both sides send one). Default: the auth timeout.
   */
  admissionTimeoutMs?: number;
  /** How often to ping each peer (RTT, liveness). Default 5 s. */
  pingIntervalMs?: number;
  /** How long to keep redialing a peer whose connection dropped without goodbye. Default 5 min. */
  redialForMs?: number;
  /**
   * Makes this peer the session's owner, who signs the roster: who may join (`anyone` with the code,
   * or whom the owner admits when asked) and whether guests may edit. Only the peer that starts a
   * session sets it; joiners learn the roster from the members.
   */
  admission?: { policy: AdmissionPolicy; guestRole: Role };
  /** Find peers on the local network with multicast DNS too (beside the DHT). Default true. */
  lan?: boolean;
  /** Options of LAN discovery for tests (clock, window, mDNS port). */
  lanTesting?: { now?: () => number; windowMs?: number; mdnsPort?: number; mdnsGroup?: string };
  /** Public keys of blind relays (`hyperpair relay`) to connect through when holepunching fails. */
  relays?: Buffer[];
  /** Refused connections after the first are reported together once per this window. Default 60 s. */
  refusalWindowMs?: number;
}

export interface SessionEvents extends TransportEvents {
  /** The status or the number of connected members changed. */
  status: [status: SessionStatus, members: number];
  /** Someone on the topic failed authentication and was disconnected. */
  'peer-rejected': [remoteId: string, reason: string];
  /** Refused connections for a person, rate-limited (see RefusalReport): show this, not each one. */
  'peers-refused': [summary: RefusalSummary];
  /** A peer runs another protocol version; `message` is for a person. */
  'protocol-mismatch': [remoteVersion: number, message: string];
  /** (Owner, policy `ask`) someone who knows the code asks to join: call `admit()` or `deny()`. */
  'admission-request': [peer: PeerInfo];
  /** A member holds this peer back (`waiting`) or turned it away (`denied`); `reason` is for a person. */
  admission: [state: 'waiting' | 'denied', by: PeerInfo, reason: string];
  /**
   * This peer, a member before, was removed (once per removal): the owner's signed roster says so, or
   * a member's denial left it with no member. `reason` is for a person and names the owner. (A joiner
   * turned away before it was ever let in hears `admission` `denied` only.)
   */
  removed: [reason: string];
  /** This peer's own role changed (a read-only guest may not edit). */
  role: [readOnly: boolean];
  /** Connecting to a peer failed in a way a relay would fix; `message` says what to do. */
  'connect-problem': [message: string];
  /** A member's round trip was measured (every ping), with how the connection runs. */
  'peer-stats': [peer: PeerInfo, stats: PeerStats];
  /** The session code changed (the owner rotated it, rotation.ts): same session, new code. */
  rekeyed: [code: string];
  /** A connection became a member's (again after a newer one replaced it): extra channels open on `mux`. */
  'member-mux': [peer: PeerInfo, mux: Protomux];
}
