/**
 * Owner delegation (issue 17): the session's owner lets other members remove people and change roles.
 * The roster stays signed by the owner's key alone (admission.ts), so a delegate does not sign: it asks
 * the owner's peer, which checks that the asker is a delegate and signs the change, and every member
 * enforces it as any roster change. The owner tells every member who the delegates are, so that
 * their participants view can offer the controls. Channel `hyperpair/delegation`, docs/PROTOCOL.md §9.5.
 * A delegate's request needs the owner's peer in the session: without it, no one can sign.
 */
import { TypedEmitter } from './events';
import c from 'compact-encoding';
import type { Encoding } from 'compact-encoding';
import type Protomux from 'protomux';
import type { Role } from './admission';
import { shortKey } from './format';
import { silentLogger, type Logger } from './log';
import { MemberChannels, type MemberLink, type MemberMuxSource } from './member-channels';
import type { Session } from './session';
import type { PeerInfo } from './transport';
import { displayText } from './untrusted';
import { field, writeFields } from './fields';

export const DELEGATION_PROTOCOL = 'hyperpair/delegation';
export const DELEGATION_VERSION = 1;
export const MAX_DELEGATES = 64;
const MAX_REASON = 256;

export type DelegatedAction = 'remove' | 'editor' | 'viewer' | 'readmit';
const ACTIONS: DelegatedAction[] = ['remove', 'editor', 'viewer', 'readmit'];

export interface DelegatedRequest {
  /** Chosen by the asker, echoed in the answer. */
  id: number;
  action: DelegatedAction;
  target: Uint8Array;
}

export interface DelegatedAnswer {
  id: number;
  ok: boolean;
  /** Why not, for a person (empty when ok). */
  reason: string;
}

const keysEncoding: Encoding<Uint8Array[]> = {
  preencode: (state, keys) => c.array(c.fixed32).preencode(state, keys),
  encode: (state, keys) => c.array(c.fixed32).encode(state, keys),
  decode(state) {
    const n = c.uint.decode(state);
    if (n > MAX_DELEGATES) throw new Error(`${n} delegates (max ${MAX_DELEGATES})`);
    const keys: Uint8Array[] = [];
    for (let i = 0; i < n; i++) keys.push(c.fixed32.decode(state));
    return keys;
  },
};

const requestEncoding: Encoding<DelegatedRequest> = {
  ...writeFields<DelegatedRequest>(
    field(c.uint, (r) => r.id),
    field(c.uint, (r) => ACTIONS.indexOf(r.action)),
    field(c.fixed32, (r) => r.target),
  ),
  decode(state) {
    const id = c.uint.decode(state);
    const action = ACTIONS[c.uint.decode(state)];
    if (!action) throw new Error('unknown delegated action');
    return { id, action, target: c.fixed32.decode(state) };
  },
};

const answerEncoding: Encoding<DelegatedAnswer> = {
  ...writeFields<DelegatedAnswer>(
    field(c.uint, (a) => a.id),
    field(c.bool, (a) => a.ok),
    field(c.string, (a) => a.reason),
  ),
  decode(state) {
    const id = c.uint.decode(state);
    const ok = c.bool.decode(state);
    const raw = c.string.decode(state);
    if (raw.length > MAX_REASON * 4) throw new Error('answer reason too long');
    return { id, ok, reason: displayText(raw, MAX_REASON) };
  },
};

export type DelegationSession = MemberMuxSource & Pick<Session, 'isOwner' | 'policy' | 'peer' | 'admit' | 'deny' | 'rosterEntries'>;

export interface DelegationEvents {
  /** The list of delegates changed (on the owner, or as heard from it). */
  changed: [];
}

class DelegationLink implements MemberLink {
  readonly delegates: Protomux.Message<Uint8Array[]>;
  readonly request: Protomux.Message<DelegatedRequest>;
  readonly answer: Protomux.Message<DelegatedAnswer>;

  constructor(
    readonly peer: PeerInfo,
    channel: Protomux.Channel<number>,
    private readonly delegation: OwnerDelegation,
  ) {
    this.delegates = channel.addMessage({ encoding: keysEncoding, onmessage: (keys: Uint8Array[]) => delegation.heardDelegates(peer, keys) });
    this.request = channel.addMessage({ encoding: requestEncoding, onmessage: (r: DelegatedRequest) => delegation.heardRequest(this, r) });
    this.answer = channel.addMessage({ encoding: answerEncoding, onmessage: (a: DelegatedAnswer) => delegation.heardAnswer(peer, a) });
  }

  opened(): void {
    this.delegation.greet(this);
  }

  closed(): void {
    this.delegation.linkClosed(this.peer);
  }
}

const hex = (key: Uint8Array) => Buffer.from(key).toString('hex');

export class OwnerDelegation extends TypedEmitter<DelegationEvents> {
  private readonly channels: MemberChannels<DelegationLink>;
  private readonly logger: Logger;
  private delegateIds = new Set<string>();
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private nextId = 1;

  constructor(
    private readonly session: DelegationSession,
    options: { logger?: Logger } = {},
  ) {
    super();
    this.logger = options.logger ?? silentLogger;
    this.channels = new MemberChannels(session, {
      protocol: DELEGATION_PROTOCOL,
      version: DELEGATION_VERSION,
      logger: this.logger,
      attach: (peer, channel) => new DelegationLink(peer, channel, this),
    });
  }

  /** Members the owner lets remove people and change roles, by id. */
  delegates(): string[] {
    return [...this.delegateIds];
  }

  isDelegate(id: string): boolean {
    return this.delegateIds.has(id);
  }

  /** This peer may ask the owner to remove people and change roles. */
  get selfIsDelegate(): boolean {
    return !this.session.isOwner && this.delegateIds.has(this.session.self.id);
  }

  /** (Owner) Lets a member manage people, or takes that back; every member learns it. */
  setDelegate(peerId: string, on: boolean): void {
    if (!this.session.isOwner) throw new Error("Only the session's owner can let others manage people.");
    if (peerId === this.session.self.id) throw new Error('You manage the session already.');
    if (on && !this.session.peer(peerId)) throw new Error('That person is no longer connected to you.');
    if (on && this.delegateIds.size >= MAX_DELEGATES) throw new Error(`At most ${MAX_DELEGATES} people can manage a session.`);
    if (on === this.delegateIds.has(peerId)) return;
    if (on) this.delegateIds.add(peerId);
    else this.delegateIds.delete(peerId);
    this.broadcast();
  }

  /**
   * (Delegate) Asks the owner's peer to do `action` to `targetId`. Resolves once the owner signed the
   * change; rejects with the owner's reason, or when the owner is not connected.
   */
  ask(action: DelegatedAction, targetId: string): Promise<void> {
    if (!this.selfIsDelegate) return Promise.reject(new Error("The session's owner has not let you manage people."));
    const ownerId = this.session.policy?.ownerId;
    const link = ownerId ? this.channels.link(ownerId) : undefined;
    if (!link) return Promise.reject(new Error("The session's owner is not connected: only their Hyperpair can make this change."));
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      link.request.send({ id, action, target: Buffer.from(targetId, 'hex') });
    });
  }

  close(): void {
    this.channels.close();
    this.failPending("the session's owner did not answer before you left");
  }

  /** @internal The owner tells a member who the delegates are as soon as its channel opens. */
  greet(link: DelegationLink): void {
    if (this.session.isOwner) link.delegates.send([...this.delegateIds].map((id) => Buffer.from(id, 'hex')));
  }

  /** @internal */
  linkClosed(peer: PeerInfo): void {
    if (peer.id === this.session.policy?.ownerId) this.failPending("the session's owner left before answering");
  }

  /** @internal */
  heardDelegates(from: PeerInfo, keys: Uint8Array[]): void {
    if (this.session.isOwner || from.id !== this.session.policy?.ownerId) {
      this.logger.warn(`${from.name} (${shortKey(from.id)}) named delegates but is not the owner; ignored`);
      return;
    }
    this.delegateIds = new Set(keys.map(hex));
    this.emit('changed');
  }

  /** @internal (Owner) A delegate's request: checked here, as if the owner had clicked it. */
  heardRequest(link: DelegationLink, r: DelegatedRequest): void {
    const answer = (ok: boolean, reason = ''): void => void link.answer.send({ id: r.id, ok, reason });
    if (!this.session.isOwner) return; // only the owner's peer signs; others never answer
    if (!this.delegateIds.has(link.peer.id)) return answer(false, "the session's owner has not let you manage people");
    const target = hex(r.target);
    if (target === this.session.self.id) return answer(false, "nobody can remove the session's owner or change their role");
    if (target === link.peer.id) return answer(false, 'you cannot change your own role');
    const denied = this.session.rosterEntries.some((e) => e.id === target && e.role === 'denied');
    if (r.action === 'readmit' ? !denied : !this.session.peer(target)) {
      return answer(false, r.action === 'readmit' ? 'that person was not removed' : "that person is not connected to the session's owner");
    }
    try {
      if (r.action === 'remove') {
        if (this.delegateIds.delete(target)) this.broadcast();
        this.session.deny(target);
      } else {
        this.session.admit(target, (r.action === 'viewer' ? 'viewer' : 'editor') satisfies Role);
      }
    } catch (err) {
      return answer(false, (err as Error).message);
    }
    this.logger.info(`${link.peer.name} (delegate) asked to ${r.action} ${shortKey(target)}: done`);
    answer(true);
  }

  /** @internal */
  heardAnswer(from: PeerInfo, a: DelegatedAnswer): void {
    if (from.id !== this.session.policy?.ownerId) return;
    const p = this.pending.get(a.id);
    if (!p) return;
    this.pending.delete(a.id);
    if (a.ok) p.resolve();
    else p.reject(new Error(`The session's owner's Hyperpair refused: ${a.reason}.`));
  }

  private broadcast(): void {
    const keys = [...this.delegateIds].map((id) => Buffer.from(id, 'hex'));
    for (const { link } of this.channels.links()) link.delegates.send(keys);
    this.emit('changed');
  }

  private failPending(why: string): void {
    for (const p of this.pending.values()) p.reject(new Error(`No answer: ${why}.`));
    this.pending.clear();
  }
}
