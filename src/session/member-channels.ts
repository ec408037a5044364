/**
 * An extra protomux channel (shared servers, chat) on every member's connection, beside the Hyperpair
 * channel: opened when a connection becomes a member's, closed when that peer stops being one. It rides
 * only on connections that proved membership and were admitted, so nobody else can reach it; a peer
 * that does not know the protocol never opens its side, and the channel simply stays unpaired there
 * (docs/PROTOCOL.md §9). Each channel's handshake is its own version number: a peer of another
 * version is logged and ignored, never disconnected.
 */
import c from 'compact-encoding';
import type Protomux from 'protomux';
import { shortKey } from './format';
import { silentLogger, type Logger } from './log';
import type { PeerInfo } from './transport';

/** What a Session offers for extra channels (an interface, so that tests and other transports fit). */
export interface MemberMuxSource {
  readonly self: PeerInfo;
  peers(): PeerInfo[];
  memberMux(id: string): Protomux | undefined;
  on(event: 'member-mux', listener: (peer: PeerInfo, mux: Protomux) => void): unknown;
  on(event: 'peer-leave', listener: (peer: PeerInfo, reason: string) => void): unknown;
  off(event: 'member-mux', listener: (peer: PeerInfo, mux: Protomux) => void): unknown;
  off(event: 'peer-leave', listener: (peer: PeerInfo, reason: string) => void): unknown;
}

/** One peer's end of the channel. */
export interface MemberLink {
  /** Both sides opened the channel with the same version: messages may flow. */
  opened(): void;
  /** The channel closed (the peer left, the connection was replaced, or `close()`): release everything. */
  closed(): void;
  /** The connection can take more after `send` returned false. */
  drained?(): void;
}

export interface ChannelSpec<L extends MemberLink> {
  protocol: string;
  version: number;
  /** Adds this protocol's messages to a fresh channel (before it opens) and returns the peer's link; `mux` is its connection's. */
  attach(peer: PeerInfo, channel: Protomux.Channel<number>, mux: Protomux): L;
  logger?: Logger;
}

/** A link's messages by name, each sending the value it carries (`T`: name → value). */
export type Messages<T> = { readonly [K in keyof T]: Protomux.Message<T[K]> };

/**
 * Adds a link's messages to its channel, in the order given: protomux numbers a channel's messages
 * in the order they are added, so that order is the wire's (docs/PROTOCOL.md §9).
 */
export function addMessages<T>(channel: Protomux.Channel<number>, specs: { [K in keyof T]: Protomux.MessageSpec<T[K]> }): Messages<T> {
  const messages: Partial<Record<keyof T, unknown>> = {};
  for (const name of Object.keys(specs) as Array<keyof T>) messages[name] = channel.addMessage(specs[name]);
  return messages as Messages<T>;
}

export class MemberChannels<L extends MemberLink> {
  private readonly open = new Map<string, { peer: PeerInfo; mux: Protomux; channel: Protomux.Channel<number>; link: L }>();
  /** The muxes this peer answers the remote's opens on (members' only). */
  private readonly paired = new Map<string, Protomux>();
  private closing = false;

  constructor(
    private readonly source: MemberMuxSource,
    private readonly spec: ChannelSpec<L>,
  ) {
    source.on('member-mux', this.onMux);
    source.on('peer-leave', this.onLeave);
    for (const p of source.peers()) {
      const mux = source.memberMux(p.id);
      if (mux) this.onMux(p, mux);
    }
  }

  /** The links whose channel both sides opened. */
  links(): Array<{ peer: PeerInfo; link: L }> {
    return [...this.open.values()].filter((e) => e.channel.opened).map(({ peer, link }) => ({ peer, link }));
  }

  /** The link to one peer, once its channel is open. */
  link(peerId: string): L | undefined {
    const e = this.open.get(peerId);
    return e?.channel.opened ? e.link : undefined;
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.source.off('member-mux', this.onMux);
    this.source.off('peer-leave', this.onLeave);
    for (const id of [...this.open.keys()]) this.drop(id);
  }

  private readonly onMux = (peer: PeerInfo, mux: Protomux): void => {
    if (this.closing) return;
    this.drop(peer.id); // a replaced connection: its channel goes with it
    // protomux rejects a remote's open at once when no channel waits for it: the side that opens
    // second answers through this, so neither side's open is lost to the other's timing.
    mux.pair({ protocol: this.spec.protocol }, () => {
      if (this.paired.get(peer.id) === mux && this.source.memberMux(peer.id) === mux) this.create(peer, mux);
    });
    this.paired.set(peer.id, mux);
    this.create(peer, mux);
  };

  private create(peer: PeerInfo, mux: Protomux): void {
    const current = this.open.get(peer.id);
    if (current && current.mux === mux && !current.channel.closed) return;
    const log = this.spec.logger ?? silentLogger;
    let link: L | undefined;
    const channel = mux.createChannel<number>({
      protocol: this.spec.protocol,
      handshake: c.uint,
      onopen: (version: number) => {
        if (version !== this.spec.version) {
          log.warn(`${peer.name} (${shortKey(peer.id)}) speaks ${this.spec.protocol} version ${version}, this peer ${this.spec.version}: ignored`);
          channel?.close();
          return;
        }
        link?.opened();
      },
      onclose: () => {
        const e = this.open.get(peer.id);
        if (e?.channel === channel) this.open.delete(peer.id);
        link?.closed();
      },
      ondrain: () => link?.drained?.(),
    });
    if (!channel) return; // already open on this connection
    link = this.spec.attach(peer, channel, mux);
    this.open.set(peer.id, { peer, mux, channel, link });
    channel.open(this.spec.version);
  }

  private readonly onLeave = (peer: PeerInfo): void => this.drop(peer.id);

  private drop(peerId: string): void {
    const mux = this.paired.get(peerId);
    if (mux) {
      this.paired.delete(peerId);
      mux.unpair({ protocol: this.spec.protocol });
    }
    const e = this.open.get(peerId);
    if (!e) return;
    this.open.delete(peerId);
    e.channel.close(); // protomux calls onclose, opened or not: the link is released there
  }
}
