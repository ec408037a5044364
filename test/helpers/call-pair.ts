/** Ada and Bob in one session on the test network, each with the session's call, both in it. */
import { createSessionCode } from '../../src/session';
import type Protomux from 'protomux';
import type { MemberMuxSource } from '../../src/session/member-channels';
import type { Session } from '../../src/session/session';
import type { PeerInfo } from '../../src/session/transport';
import { SessionCall } from '../../src/session/voice/call';
import type { TestSessions } from './sessions';
import { waitFor } from './testnet';

export interface CallPair {
  a: Session;
  b: Session;
  ca: SessionCall;
  cb: SessionCall;
}

/** With `joinA`/`joinB` false that one stays out of the call. */
export async function callPair(env: TestSessions, { joinA = true, joinB = true } = {}): Promise<CallPair> {
  const code = createSessionCode();
  const a = env.session(code, 'Ada');
  const b = env.session(code, 'Bob');
  const ca = new SessionCall(a);
  const cb = new SessionCall(b);
  env.closeLater(() => ca.close());
  env.closeLater(() => cb.close());
  await waitFor(() => a.peers().length === 1 && b.peers().length === 1, 'Ada and Bob to meet');
  if (joinA) ca.join();
  if (joinB) cb.join();
  await waitFor(() => ca.members().length === (joinB ? 1 : 0) && cb.members().length === (joinA ? 1 : 0), 'Ada and Bob to see who is in the call');
  return { a, b, ca, cb };
}

/**
 * A session as its call sees it, with some members' connections hidden: a mesh missing a link, as far
 * as the call is concerned (the connection exists, but no call channel opens on it: the other side's
 * open is refused, as by a peer without the channel). `show()` reveals them again, as a link that
 * comes up.
 */
export class HiddenLinks implements MemberMuxSource {
  private readonly listeners = new Map<(...args: never[]) => void, (...args: never[]) => void>();
  private readonly onMux = new Set<(peer: PeerInfo, mux: Protomux) => void>();

  constructor(
    private readonly session: Session,
    private hidden: (peer: PeerInfo) => boolean,
  ) {}

  get self(): PeerInfo {
    return this.session.self;
  }

  peers(): PeerInfo[] {
    return this.session.peers().filter((p) => !this.hidden(p));
  }

  memberMux(id: string): Protomux | undefined {
    const peer = this.session.peers().find((p) => p.id === id);
    return peer && !this.hidden(peer) ? this.session.memberMux(id) : undefined;
  }

  on(event: 'member-mux' | 'peer-leave', listener: (peer: PeerInfo, arg: never) => void): this {
    const filtered = (peer: PeerInfo, arg: never) => (this.hidden(peer) ? undefined : listener(peer, arg));
    this.listeners.set(listener, filtered);
    if (event === 'member-mux') this.onMux.add(listener as unknown as (peer: PeerInfo, mux: Protomux) => void);
    this.session.on(event as 'member-mux', filtered as unknown as (peer: PeerInfo, mux: Protomux) => void);
    return this;
  }

  off(event: 'member-mux' | 'peer-leave', listener: (peer: PeerInfo, arg: never) => void): this {
    const filtered = this.listeners.get(listener);
    if (filtered) this.session.off(event as 'member-mux', filtered as unknown as (peer: PeerInfo, mux: Protomux) => void);
    this.onMux.delete(listener as unknown as (peer: PeerInfo, mux: Protomux) => void);
    return this;
  }

  /** Nobody hidden any more: each connection is announced as if it had just become a member's. */
  show(): void {
    const was = this.hidden;
    this.hidden = () => false;
    for (const p of this.session.peers()) {
      const mux = this.session.memberMux(p.id);
      if (was(p) && mux) for (const l of this.onMux) l(p, mux);
    }
  }
}
