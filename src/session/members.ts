/**
 * Who this peer is connected to: members (authenticated, said hello, admitted both ways; one
 * connection per peer) and pending connections (everything else still open). The one place that
 * answers "is this connection the member for its peer?".
 */
import type { PeerConnection } from './connection';
import { NEUTRAL_COLOUR } from './untrusted';
import type { PeerInfo } from './transport';

export class MemberTable {
  private readonly members = new Map<string, PeerConnection>();
  private readonly pending = new Set<PeerConnection>();

  get size(): number {
    return this.members.size;
  }

  get(id: string): PeerConnection | undefined {
    return this.members.get(id);
  }

  has(id: string): boolean {
    return this.members.has(id);
  }

  isMember(conn: PeerConnection): boolean {
    return this.members.get(conn.remoteId) === conn;
  }

  /** Members, one connection per peer. */
  list(): PeerConnection[] {
    return [...this.members.values()];
  }

  /** Members and pending connections. */
  all(): PeerConnection[] {
    return [...this.members.values(), ...this.pending];
  }

  addPending(conn: PeerConnection): void {
    this.pending.add(conn);
  }

  /** Makes `conn` the member for its peer; returns the connection it replaces, if any. */
  promote(conn: PeerConnection): PeerConnection | undefined {
    this.pending.delete(conn);
    const previous = this.members.get(conn.remoteId);
    this.members.set(conn.remoteId, conn);
    return previous !== conn ? previous : undefined;
  }

  /** A member no longer admitted becomes pending again; false when it was not the member. */
  demote(conn: PeerConnection): boolean {
    if (!this.isMember(conn)) return false;
    this.members.delete(conn.remoteId);
    this.pending.add(conn);
    return true;
  }

  /** Forgets a closed connection; true when it was the member for its peer. */
  remove(conn: PeerConnection): boolean {
    this.pending.delete(conn);
    if (!this.isMember(conn)) return false;
    this.members.delete(conn.remoteId);
    return true;
  }

  clear(): void {
    this.members.clear();
    this.pending.clear();
  }
}

export function toPeerInfo(c: PeerConnection): PeerInfo {
  const info = { id: c.remoteId, name: c.hello?.name ?? 'Anonymous', colour: c.hello?.colour ?? NEUTRAL_COLOUR };
  return c.readOnly ? { ...info, readOnly: true } : info;
}
