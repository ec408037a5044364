/**
 * As a network failure or kill -9 would: every member connection of a session drops without goodbye.
 * The one place tests reach into a Session's connections (its member table).
 */
import type { Session } from '../../src/session';

type Conn = { stream: { destroy(): void; rawStream?: { destroy(): void } } };

export function memberConnection(session: Session, peerId: string): Conn | undefined {
  return (session as unknown as { table: { get(id: string): Conn | undefined } }).table.get(peerId);
}

/** Destroys the member connection to `peerId` (or every one) under the encrypted stream, silently. */
export function dropConnections(session: Session, peerId?: string): void {
  const ids = peerId ? [peerId] : session.peers().map((p) => p.id);
  for (const id of ids) {
    const c = memberConnection(session, id);
    c?.stream.rawStream?.destroy();
    c?.stream.destroy();
  }
}

type AnyConn = Conn & { remoteId: string };

function allConnections(session: Session, peerId: string): AnyConn[] {
  return (session as unknown as { table: { all(): AnyConn[] } }).table.all().filter((c) => c.remoteId === peerId);
}

/** Whether any of `conns` is still held by the session (a redial's new connection does not count). */
export function stillHeld(session: Session, conns: readonly object[]): boolean {
  const held = (session as unknown as { table: { all(): object[] } }).table.all();
  return conns.some((c) => held.includes(c));
}

/** Drops every connection to `peerId`, pending ones too, silently (as a duplicate teardown would); returns them. */
export function dropAllTo(session: Session, peerId: string): object[] {
  const dropped = allConnections(session, peerId);
  for (const c of dropped) {
    c.stream.rawStream?.destroy();
    c.stream.destroy();
  }
  return dropped;
}
