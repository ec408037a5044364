/**
 * Control of who is in, during a session (issue 17): the owner removes a person or changes what they
 * may do. Every decision is a new roster signed by the owner (admission.ts), which every member
 * verifies, passes on and judges by, so a change takes effect at once on every member, and a removed
 * person cannot come back with the same key until the owner lets them in again.
 */
import type { Role } from './admission';
import type { Session } from './session';
import { cleanName } from './wire';

/** What a person is in the session, for a participants view. */
export type Standing = 'owner' | 'editor' | 'read-only';

/** A person the owner removed, with the name they had (the roster keeps only keys). */
export interface RemovedPerson {
  id: string;
  name: string;
}

type AccessSession = Pick<Session, 'isOwner' | 'self' | 'peer' | 'policy' | 'rosterEntries' | 'admit' | 'deny' | 'readOnly'>;

export class AccessControl {
  /** Names of people removed during this session, by id (a roster entry names no one). */
  private readonly names = new Map<string, string>();

  constructor(private readonly session: AccessSession) {}

  /** Whether this peer may remove people and change roles (it signs the roster). */
  get canManage(): boolean {
    return this.session.isOwner;
  }

  /** The owner's peer id, once the roster is known. */
  get ownerId(): string | undefined {
    return this.session.policy?.ownerId;
  }

  /** Owner, editor or read-only: for this peer or a member it hears directly. */
  standingOf(peerId: string): Standing | undefined {
    if (peerId === this.ownerId) return 'owner';
    if (peerId === this.session.self.id) return this.session.readOnly ? 'read-only' : 'editor';
    const peer = this.session.peer(peerId);
    if (!peer) return undefined;
    return peer.readOnly ? 'read-only' : 'editor';
  }

  /** Disconnects a person from every member and keeps them out (same key) until re-admitted. */
  remove(peerId: string): string {
    const name = this.checkTarget(peerId, 'remove');
    this.names.set(peerId, name);
    this.session.deny(peerId);
    return name;
  }

  /** Makes a person an editor or read-only; every member enforces it from the next change on. */
  setRole(peerId: string, role: Role): string {
    const name = this.checkTarget(peerId, role === 'viewer' ? 'make read-only' : 'make an editor');
    this.session.admit(peerId, role);
    return name;
  }

  /** People removed from this session who may be let in again. */
  removed(): RemovedPerson[] {
    return this.session.rosterEntries
      .filter((e) => e.role === 'denied')
      .map((e) => ({ id: e.id, name: this.names.get(e.id) ?? `someone (${e.id.slice(0, 8)})` }));
  }

  /** Lets a removed person in again (with the same key), as an editor or read-only. */
  readmit(peerId: string, role: Role = 'editor'): string {
    this.assertOwner('let people back in');
    const person = this.removed().find((p) => p.id === peerId);
    if (!person) throw new Error('That person was not removed from this session.');
    this.session.admit(peerId, role);
    this.names.delete(peerId);
    return person.name;
  }

  private checkTarget(peerId: string, what: string): string {
    this.assertOwner(what + ' people');
    if (peerId === this.session.self.id) throw new Error(`You cannot ${what} yourself.`);
    const peer = this.session.peer(peerId);
    if (!peer) throw new Error(`That person is no longer connected to you; nothing to ${what}.`);
    return cleanName(peer.name);
  }

  private assertOwner(what: string): void {
    if (!this.canManage) throw new Error(`Only the session's owner can ${what}.`);
  }
}
