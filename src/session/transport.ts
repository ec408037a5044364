/**
 * The contract between the session layer and everything above it (sync, editor glue, CLI).
 * A `Session` implements `PeerTransport`; the sync layer depends only on this interface, so it can
 * also run over an in-process transport in unit tests. Only authenticated peers ever appear here.
 */
export interface PeerInfo {
  /** The peer's Noise public key, lowercase hex (64 chars). Stable across reconnects of one session. */
  readonly id: string;
  /** Display name the peer announced (at most 64 characters, control characters removed). */
  readonly name: string;
  /** Colour the peer announced, `#rrggbb`. */
  readonly colour: string;
  /** A read-only guest: every member refuses its edits (docs/PROTOCOL.md §8). */
  readonly readOnly?: boolean;
}

export interface TransportEvents {
  /** A peer finished authentication and its hello arrived. Fired again after a reconnect. */
  'peer-join': [peer: PeerInfo];
  /** A peer's connection closed (it left, dropped, or was cut off). `reason` is human readable. */
  'peer-leave': [peer: PeerInfo, reason: string];
  /**
   * A peer that stays a member is now reached over a newer connection: two were open at once (one
   * over the LAN, one over the DHT, say) and the old one is closed. What was in flight on it, both
   * ways, may be lost (the other side may have dropped it as not yet its member's): whatever waits
   * on this peer must ask again, as after a leave and a join. No one left: nothing to tell a person.
   */
  'peer-renewed': [peer: PeerInfo];
  /** An application payload (a `data` frame) from an authenticated peer. */
  message: [peer: PeerInfo, data: Uint8Array];
}

export interface PeerTransport {
  /** This peer, as the others see it. */
  readonly self: PeerInfo;
  /** Currently connected, authenticated peers. */
  peers(): PeerInfo[];
  /**
   * Sends one application payload to one peer. Returns false when the connection is congested
   * (the frame is still queued); wait for `drained(peerId)` before sending much more.
   * Throws nothing: sending to an unknown peer returns false and is logged.
   */
  send(peerId: string, data: Uint8Array): boolean;
  /** Resolves when the peer's outgoing queue has drained (or the peer is gone). */
  drained(peerId: string): Promise<void>;
  /** Cuts off one peer that misbehaved (bad data, over the caps), with a logged reason. */
  disconnect(peerId: string, reason: string): void;

  on<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): this;
  off<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): this;
}
