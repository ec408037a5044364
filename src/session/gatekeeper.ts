/**
 * Admission (docs/PROTOCOL.md §8): the roster this peer holds, its verdict on each connection, what
 * each connection said of ours, and this peer's own role. A connection becomes a member once both
 * sides said `admitted`; the gatekeeper decides, the session's member table records it.
 */
import { judge, signRoster, verifyRoster, withEntry, type AdmissionPolicy, type Role, type Roster, type Verdict } from './admission';
import type { PeerConnection } from './connection';
import { deadline, Disposable, toDisposable, type IDisposable } from './disposable';
import { shortKey } from './format';
import type { Logger } from './log';
import { SELF_REMOVED } from './departure';
import { toPeerInfo, type MemberTable } from './members';
import type { SessionEvents } from './session-types';
import type { PeerInfo } from './transport';
import type { Admission } from './wire';

/** How long a denied connection has to deliver its denial before its socket is destroyed. */
const DENIAL_FLUSH_MS = 2000;

/** How long a request is remembered after its connection closed. */
const ASK_MEMORY_MS = 60_000;

export interface GatekeeperOptions {
  table: MemberTable;
  self: PeerInfo;
  /** The owner's key pair and policy; absent on a joiner. */
  owner?: { secretKey: Buffer; policy: AdmissionPolicy; guestRole: Role };
  /** How long a remote may take to send its first `admission` after `hello` (§5). */
  admissionTimeoutMs: number;
  logger: Logger;
  emit<K extends keyof SessionEvents>(event: K, ...args: SessionEvents[K]): void;
  /** Both sides admitted `conn`. */
  admitted(conn: PeerConnection): void;
  /** A member is no longer admitted (by us or by it): it left the member table. */
  demoted(conn: PeerConnection, reason: string): void;
  /** A member turned this peer away: never dial it again. */
  refusedBy(id: string): void;
  /** Something the status depends on changed. */
  changed(): void;
  /** Cuts a member off (it sent a forged roster). */
  disconnect(id: string, reason: string): void;
}

export class Gatekeeper extends Disposable {
  /** The newest verified roster; the owner's own from the start, a joiner's from its members. */
  private roster: Roster | undefined;
  /** Our verdict on each connection, and what it told us of ours (both must admit for membership). */
  private readonly verdicts = new Map<PeerConnection, Verdict>();
  private readonly admissions = new Map<PeerConnection, Admission>();
  /** Connections that said hello and owe us their `admission`. */
  private readonly owed = new Map<PeerConnection, IDisposable>();
  private ownReadOnly = false;
  /** Why this peer was removed, once it knows (until a newer roster lets it in again). */
  private removedBecause: string | undefined;
  /** This peer has been a member (a denial after that is a removal, before it a refused request). */
  private wasAdmitted = false;
  /**
   * Who asked to join lately, by key: a request outlives the connection it came on (one torn down as
   * a duplicate while the owner answers), so that the answer still finds it; the roster is by key.
   */
  private readonly asked = new Map<string, { peer: PeerInfo; at: number }>();

  constructor(private readonly o: GatekeeperOptions) {
    super();
    this.register(toDisposable(() => [...this.owed.values()].forEach((t) => t.dispose())));
    if (o.owner) {
      const body = { owner: Buffer.from(o.self.id, 'hex'), seq: 0, policy: o.owner.policy, guestRole: o.owner.guestRole, entries: [] };
      this.roster = signRoster(body, o.owner.secretKey);
    }
  }

  get isOwner(): boolean {
    return !!this.o.owner;
  }

  get readOnly(): boolean {
    return this.ownReadOnly;
  }

  /** Some member holds this peer back. */
  get waiting(): boolean {
    return [...this.admissions.values()].some((a) => a.state === 'waiting');
  }

  /** Peers that know the code and wait for the owner's answer (owner only). */
  requests(): PeerInfo[] {
    const now = Date.now();
    for (const [id, a] of this.asked) if (now - a.at > ASK_MEMORY_MS) this.asked.delete(id);
    return [...this.asked.values()].map((a) => a.peer);
  }

  /** (Owner) Lets a peer in with a role, or turns it away; every member learns it from the roster. */
  decide(peerId: string, role: Role | 'denied'): void {
    if (!this.o.owner || !this.roster) throw new Error('only the peer that started the session admits or denies');
    this.asked.delete(peerId);
    this.roster = signRoster(withEntry(this.roster, Buffer.from(peerId, 'hex'), role), this.o.owner.secretKey);
    this.spread();
  }

  /** `conn` said hello: judge it, and expect its `admission` (§5: both sides send one). */
  hello(conn: PeerConnection): void {
    if (this.disposed) return;
    if (!this.owed.has(conn) && !this.admissions.has(conn)) {
      const seconds = this.o.admissionTimeoutMs / 1000;
      this.owed.set(
        conn,
        deadline(() => {
          this.owed.delete(conn);
          const why = `sent no admission within ${seconds} s of hello (docs/PROTOCOL.md §5: both sides send one)`;
          this.o.logger.error(`${conn.hello?.name ?? shortKey(conn.remoteId)} (${shortKey(conn.remoteId)}) ${why}; closing`);
          conn.destroy(why);
        }, this.o.admissionTimeoutMs, () => this.admissions.has(conn)),
      );
    }
    this.judge(conn);
  }

  /** The roster's policy and owner, once known (the access-control commands read it). */
  get policy(): { policy: AdmissionPolicy; guestRole: Role; ownerId: string } | undefined {
    const r = this.roster;
    return r && { policy: r.policy, guestRole: r.guestRole, ownerId: Buffer.from(r.owner).toString('hex') };
  }

  /** The roster's entries (who was let in, as what, and who was turned away), once known. */
  get rosterEntries(): ReadonlyArray<{ id: string; role: Role | 'denied' }> {
    return (this.roster?.entries ?? []).map((e) => ({ id: Buffer.from(e.key).toString('hex'), role: e.role }));
  }

  /** Judges a connection against the roster, tells it, and makes it a member once both sides admit. */
  judge(conn: PeerConnection): void {
    if (!conn.hello) return;
    const verdict = judge(this.roster, conn.remotePublicKey, this.isOwner);
    const previous = this.verdicts.get(conn);
    this.verdicts.set(conn, verdict);
    const changed = !previous || previous.admit !== verdict.admit || (verdict.admit ? previous.admit && previous.role !== verdict.role : !previous.admit && previous.why !== verdict.why);
    if (verdict.admit) {
      conn.readOnly = verdict.role === 'viewer';
      if (changed) {
        // The roster first: a joiner judges the others by it once it is a member.
        if (this.roster) conn.sendRoster(this.roster);
        conn.sendAdmission({ state: 'admitted', readOnly: conn.readOnly, reason: '' });
      }
      this.maybeMember(conn);
      return;
    }
    // A member turned away is removed (access.ts), a newcomer denied: each is told which.
    const wasMember = this.o.table.isMember(conn);
    this.demote(conn, verdict.why === 'denied' ? 'denied' : 'not admitted');
    if (!changed) return;
    const owner = this.ownerName();
    const who = `${conn.hello.name} (${shortKey(conn.remoteId)})`;
    if (verdict.why === 'denied') {
      const reason = wasMember ? `${owner} removed you from this session.` : `${owner} denied your request to join this session.`;
      conn.sendAdmission({ state: 'denied', readOnly: false, reason });
      this.o.logger.info(`${who} was ${wasMember ? 'removed from the session' : 'denied'}`);
      // Longer than a goodbye's flush: a denial lost under load left the removed peer redialling
      // every half second, never told (the two-editor delegation test, once, with the machine busy).
      conn.destroy('denied', DENIAL_FLUSH_MS);
      return;
    }
    conn.sendAdmission({ state: 'waiting', readOnly: false, reason: `waiting for ${owner} to let you in` });
    if (verdict.why === 'ask') {
      this.asked.set(conn.remoteId, { peer: toPeerInfo(conn), at: Date.now() });
      this.o.logger.info(`${who} asks to join`);
      this.o.emit('admission-request', toPeerInfo(conn));
    }
  }

  admission(conn: PeerConnection, a: Admission): void {
    this.owed.get(conn)?.dispose();
    this.owed.delete(conn);
    this.admissions.set(conn, a);
    if (a.state === 'admitted') {
      // Without a roster (still joining), the members' word is all there is about our role.
      if (!this.roster) this.setReadOnly(a.readOnly);
      this.maybeMember(conn);
      return;
    }
    this.demote(conn, a.state === 'denied' ? SELF_REMOVED : a.state);
    this.o.logger.info(`${conn.hello?.name ?? shortKey(conn.remoteId)}: ${a.state} (${a.reason})`);
    if (a.state === 'denied') this.o.refusedBy(conn.remoteId);
    this.o.emit('admission', a.state, toPeerInfo(conn), a.reason);
    if (a.state === 'denied' && this.wasAdmitted && this.o.table.list().length === 0) this.tellRemoved(a.reason);
    this.o.changed();
  }

  rosterFrom(conn: PeerConnection, r: Roster): void {
    if (!verifyRoster(r)) {
      const why = 'sent a roster with a bad signature';
      this.o.disconnect(conn.remoteId, why);
      if (!this.o.table.isMember(conn)) conn.destroy(why);
      return;
    }
    if (this.isOwner) return; // ours is the only one that counts
    if (this.roster && !Buffer.from(this.roster.owner).equals(Buffer.from(r.owner))) {
      this.o.logger.warn(`${conn.hello?.name ?? shortKey(conn.remoteId)} passed on a roster of another owner; ignored`);
      return;
    }
    if (this.roster && r.seq <= this.roster.seq) return;
    this.roster = r;
    const mine = judge(r, Buffer.from(this.o.self.id, 'hex'), false);
    if (mine.admit) {
      this.setReadOnly(mine.role === 'viewer');
      this.removedBecause = undefined;
    }
    // The owner's signed word is enough: the members' denials may come later, or be lost with their
    // connections (the two-editor delegation test waited for one in vain, once, on a busy machine).
    if (!mine.admit && mine.why === 'denied') this.tellRemoved(`${this.ownerName()} removed you from this session.`);
    this.spread();
  }

  /** Forgets a closed connection; a request ends with it only when the peer said goodbye. */
  forget(conn: PeerConnection, bye: boolean): void {
    if (bye) this.asked.delete(conn.remoteId);
    this.owed.get(conn)?.dispose();
    this.owed.delete(conn);
    this.verdicts.delete(conn);
    this.admissions.delete(conn);
  }

  /** Passes the roster on and judges every connection by it again. */
  private spread(): void {
    const r = this.roster!;
    for (const c of this.o.table.list()) c.sendRoster(r);
    for (const c of this.o.table.all()) this.judge(c);
  }

  /** The name of the session's owner as this peer knows it (a denied peer hears it from anyone). */
  private ownerName(): string {
    if (this.isOwner) return this.o.self.name;
    const id = this.roster ? Buffer.from(this.roster.owner).toString('hex') : undefined;
    return (id && this.o.table.get(id)?.hello?.name) || 'the owner of the session';
  }

  private maybeMember(conn: PeerConnection): void {
    if (this.verdicts.get(conn)?.admit && this.admissions.get(conn)?.state === 'admitted' && !this.o.table.isMember(conn)) {
      this.wasAdmitted = true;
      this.o.admitted(conn);
    }
  }

  private demote(conn: PeerConnection, reason: string): void {
    if (this.o.table.demote(conn)) this.o.demoted(conn, reason);
  }

  /** Why this peer was removed from the session, if it was (the `removed` event said it once). */
  get removal(): string | undefined {
    return this.removedBecause;
  }

  private tellRemoved(reason: string): void {
    if (this.removedBecause !== undefined) return;
    this.removedBecause = reason;
    this.o.logger.warn(reason);
    this.o.emit('removed', reason);
  }

  private setReadOnly(readOnly: boolean): void {
    if (this.ownReadOnly === readOnly) return;
    this.ownReadOnly = readOnly;
    this.o.emit('role', readOnly);
  }
}
