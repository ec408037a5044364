/**
 * The session's call: Opus frames among the members who joined it, over the `hyperpair/voice` channel
 * on member connections only (docs/PROTOCOL.md §9.7), so nobody outside the session can hear or reach
 * it and nothing new is announced anywhere.
 *
 * Voice must not wait behind files. Where both sides can (voice protocol 2 over UDX), frames go as
 * datagrams beside the connection's stream (datagram.ts) and wait behind nothing it queued. Otherwise
 * (a voice-1 peer, a LAN connection over TCP, a path that drops datagrams) they go on the channel, one
 * reliable stream: then a frame is dropped here, before it is queued, whenever the connection has not
 * drained what it was last given. Either way, while this peer sends frames to a member (both in the
 * call, this peer unmuted or relaying to it), bulk data to that member is paced (pacer.ts: at most
 * 64 KiB queued and in flight), which keeps the path's queues short for datagrams too. A late frame is
 * worth nothing to a listener; a dropped one costs 20 ms of sound. Receivers put frames in a jitter
 * buffer (the page's), which drops frames that come too late.
 */
import { TypedEmitter } from '../events';
import type Protomux from 'protomux';
import { silentLogger, type Logger } from '../log';
import { MemberChannels, type MemberLink, type MemberMuxSource } from '../member-channels';
import type { PeerInfo } from '../transport';
import { METER_TICK_MS, SpeakingMeter, type Loudness } from './speaking';
import type { IDisposable } from '../disposable';
import { pacerOf, type BulkPacer } from '../pacer';
import { chooseRelays, MAX_REACH, reachEncoding, SeenFrames, wantEncoding, type ReachEntry } from './relay';
import { frameEncoding, relayedEncoding, stateEncoding, type CallState, type RelayedFrame, type VoiceFrame } from './frames';
import { DatagramPath, versionEncoding, type DatagramStream, type VoiceVersion } from './datagram';

export { MAX_FRAME_BYTES, type CallState, type VoiceFrame } from './frames';

export const VOICE_PROTOCOL = 'hyperpair/voice';
/** The channel's handshake: 1 for ever, since a voice-1 peer closes the channel on any other (voice 2 says itself in `version`, datagram.ts). */
export const VOICE_VERSION = 1;

/** A member in the call; speaking and level as of the last meter tick (speaking.ts). */
export interface CallMember extends CallState, Loudness {
  peer: PeerInfo;
  /** Not connected to this peer: heard through this member (relay.ts). */
  via?: PeerInfo;
}

/** This peer in the call, as the others hear it (what its own page sends). */
export interface SelfInCall extends CallState, Loudness {}

export interface CallEvents {
  /** A frame from a member in the call (only while this peer is in it). */
  frame: [peer: PeerInfo, frame: VoiceFrame];
  /** Who is in the call, muted, speaking or their level changed (a few times a second at most). */
  members: [members: CallMember[]];
}

class VoiceLink implements MemberLink {
  readonly frame: Protomux.Message<VoiceFrame>;
  readonly state: Protomux.Message<CallState>;
  readonly relayed: Protomux.Message<RelayedFrame>;
  private readonly reachMessage: Protomux.Message<ReachEntry[]>;
  private readonly wantMessage: Protomux.Message<string[]>;
  /** Frames as datagrams, where both sides can (voice protocol 2). */
  readonly datagrams: DatagramPath;
  /** The members in the call this member hears directly, as it last said (`reach`). */
  reach: ReachEntry[] = [];
  /** The speakers this member asked this peer to relay (`want`). */
  wants = new Set<string>();
  /** A frame came from this member directly: a relay for it is no longer needed (none is lost meanwhile). */
  heardDirectly = false;
  private sentReach = '';
  private sentWant = '';
  /** The connection has not drained since a send returned false. */
  congested = false;
  remote: CallState = { inCall: false, muted: false };
  readonly meter = new SpeakingMeter();
  /** Bulk data to this member paced while both are in the call. */
  private pacing: IDisposable | undefined;

  constructor(
    readonly peer: PeerInfo,
    channel: Protomux.Channel<number>,
    private readonly call: SessionCall,
    private readonly pacer: BulkPacer,
    stream: DatagramStream,
  ) {
    this.frame = channel.addMessage({ encoding: frameEncoding, onmessage: (f: VoiceFrame) => call.receive(this, f) });
    this.state = channel.addMessage({
      encoding: stateEncoding,
      onmessage: (s: CallState) => {
        this.remote = s;
        this.pace();
        if (!s.inCall || s.muted) this.meter.reset();
        call.changed();
      },
    });
    // Messages 2–4 (relaying): a peer that predates them ignores them (protomux drops unknown types).
    this.reachMessage = channel.addMessage({
      encoding: reachEncoding,
      onmessage: (r: ReachEntry[]) => {
        this.reach = r.filter((e) => e.id !== peer.id);
        call.changed();
      },
    });
    this.wantMessage = channel.addMessage({
      encoding: wantEncoding,
      onmessage: (w: string[]) => {
        this.wants = new Set(w);
        this.pace();
      },
    });
    this.relayed = channel.addMessage({ encoding: relayedEncoding, onmessage: (r: RelayedFrame) => call.receiveRelayed(this, r) });
    // Message 5 (voice protocol 2): a voice-1 peer ignores it, never says it, and so never gets a datagram.
    const version = channel.addMessage({ encoding: versionEncoding, onmessage: (v: VoiceVersion) => this.datagrams.onVersion(v) });
    const counted = () => call.receivedAsDatagrams++;
    this.datagrams = new DatagramPath(stream, version, { frame: (f) => (counted(), call.receive(this, f)), relayed: (r) => (counted(), call.receiveRelayed(this, r)) });
  }

  /** Sends one frame (this peer's, or relayed): as a datagram where it can, else on the channel unless the connection is busy. */
  sendFrame(d: { kind: 'frame'; frame: VoiceFrame } | { kind: 'relayed'; frame: RelayedFrame }): 'datagram' | 'stream' | 'dropped' {
    if (this.datagrams.send(d)) return 'datagram';
    if (this.congested) return 'dropped';
    const sent = d.kind === 'frame' ? this.frame.send(d.frame) : this.relayed.send(d.frame);
    if (!sent) this.congested = true;
    return 'stream';
  }

  /** Tells the member whom this peer hears directly, when that changed since it last did. */
  sendReach(reach: ReachEntry[]): void {
    const said = JSON.stringify(reach);
    if (said === (this.sentReach || '[]')) return;
    this.sentReach = said;
    this.reachMessage.send(reach);
  }

  /** Asks the member for these speakers' frames (and no others'), when that changed since it last did. */
  sendWant(origins: string[]): void {
    const said = JSON.stringify(origins.sort());
    if (said === (this.sentWant || '[]')) return;
    this.sentWant = said;
    this.wantMessage.send(origins);
  }

  opened(): void {
    this.state.send(this.call.state());
    this.datagrams.opened();
    this.call.changed();
  }

  closed(): void {
    this.datagrams.dispose();
    this.pacing?.dispose();
    this.pacing = undefined;
    this.call.changed();
  }

  /**
   * Holds the connection's pacer while this peer sends frames to the member (both in the call, and this
   * peer unmuted or relaying to it), releases it otherwise: pacing shortens the queue ahead of this
   * peer's own frames, so a muted member's transfers are not slowed for nothing.
   */
  pace(): void {
    const state = this.call.state();
    const sending = this.remote.inCall && state.inCall && (!state.muted || this.wants.size > 0);
    if (sending) this.pacing ??= this.pacer.hold();
    else {
      this.pacing?.dispose();
      this.pacing = undefined;
    }
  }

  drained(): void {
    this.congested = false;
  }
}

export interface CallOptions {
  logger?: Logger;
  now?: () => number;
}

export class SessionCall extends TypedEmitter<CallEvents> {
  private readonly channels: MemberChannels<VoiceLink>;
  private readonly now: () => number;
  private inCall = false;
  private muted = false;
  private seq = 0;
  /** Frames not sent because a connection was busy (per call, for the bench and diagnostics). */
  dropped = 0;
  sent = 0;
  /** Of `sent`, how many went as datagrams (datagram.ts). */
  sentAsDatagrams = 0;
  /** Datagrams taken from members (authentic, well-formed, not replayed), before repeats are told apart by `seq`. */
  receivedAsDatagrams = 0;
  /** Frames heard from members while in the call. */
  received = 0;
  private meterTimer: NodeJS.Timeout | undefined;
  /** This peer's own level, from the frames its page sends. */
  private readonly meter = new SpeakingMeter();
  /** Speakers not connected to this peer → the neighbour their frames come through (relay.ts). */
  private relayVia = new Map<string, string>();
  /** Levels of the speakers heard through a neighbour. */
  private readonly relayedMeters = new Map<string, SpeakingMeter>();
  /** Per speaker, the frames heard already (a frame may come directly and relayed while links change). */
  private readonly heard = new Map<string, SeenFrames>();
  /** Frames this peer carried for others (diagnostics). */
  relayedForOthers = 0;

  constructor(
    private readonly source: MemberMuxSource,
    options: CallOptions = {},
  ) {
    super();
    this.now = options.now ?? Date.now;
    this.channels = new MemberChannels(source, {
      protocol: VOICE_PROTOCOL,
      version: VOICE_VERSION,
      logger: options.logger ?? silentLogger,
      attach: (peer, channel, mux) => new VoiceLink(peer, channel, this, pacerOf(mux.stream), mux.stream),
    });
  }

  state(): CallState {
    return { inCall: this.inCall, muted: this.muted };
  }

  join(): void {
    this.setState(true, this.muted);
    this.meterTimer ??= setInterval(() => this.tickMeters(), METER_TICK_MS);
    this.meterTimer.unref?.();
  }

  leave(): void {
    this.setState(false, this.muted);
    clearInterval(this.meterTimer);
    this.meterTimer = undefined;
    this.meter.reset();
    for (const { link } of this.channels.links()) link.meter.reset();
    this.relayedMeters.clear();
    this.heard.clear();
  }

  setMuted(muted: boolean): void {
    this.setState(this.inCall, muted);
  }

  /** Sends one of this peer's frames to every member in the call; false if it was dropped somewhere. */
  send(frame: Omit<VoiceFrame, 'seq'>): boolean {
    if (!this.inCall || this.muted) return false;
    this.meter.hear(frame.level, this.now());
    const f = { ...frame, seq: this.seq++ };
    let all = true;
    for (const { link } of this.channels.links()) {
      if (!link.remote.inCall) continue;
      const how = link.sendFrame({ kind: 'frame', frame: f });
      if (how === 'dropped') {
        this.dropped++;
        all = false;
        continue;
      }
      this.sent++;
      if (how === 'datagram') this.sentAsDatagrams++;
    }
    return all;
  }

  members(): CallMember[] {
    const direct: CallMember[] = this.channels
      .links()
      .filter(({ link }) => link.remote.inCall)
      .map(({ peer, link }) => ({ peer, inCall: true, muted: link.remote.muted, ...link.meter.shown }));
    const relayed: CallMember[] = [];
    for (const [origin, via] of this.relayVia) {
      const entry = this.channels.link(via)?.reach.find((e) => e.id === origin);
      const neighbour = direct.find((m) => m.peer.id === via)?.peer;
      if (!entry || !neighbour || direct.some((m) => m.peer.id === origin)) continue; // a link coming up: listed once
      const peer = { id: entry.id, name: entry.name, colour: entry.colour };
      relayed.push({ peer, via: neighbour, inCall: true, muted: entry.muted, ...(this.relayedMeters.get(origin)?.shown ?? { speaking: false, level: 0 }) });
    }
    return [...direct, ...relayed];
  }

  /** This peer's own state and level (speaking only while in the call, unmuted, with its page sending). */
  self(): SelfInCall {
    return { ...this.state(), ...this.meter.shown };
  }

  close(): void {
    this.leave();
    this.channels.close();
    this.removeAllListeners();
  }

  /** @internal A frame from the speaker's own connection: heard, and carried to the members who asked for it. */
  receive(link: VoiceLink, f: VoiceFrame): void {
    if (!link.remote.inCall || !this.inCall) return;
    if (!link.heardDirectly) {
      link.heardDirectly = true;
      this.changed();
    }
    if (!this.firstTime(link.peer.id, f.seq)) return;
    this.received++;
    link.meter.hear(f.level, this.now());
    this.emit('frame', link.peer, f);
    for (const { link: to } of this.channels.links()) {
      if (to === link || !to.remote.inCall || !to.wants.has(link.peer.id)) continue;
      if (to.sendFrame({ kind: 'relayed', frame: { origin: link.peer.id, ...f } }) === 'dropped') this.dropped++;
      else this.relayedForOthers++;
    }
  }

  /** @internal A frame a neighbour carried: heard only from the neighbour this peer asked for that speaker, and never carried further. */
  receiveRelayed(link: VoiceLink, r: RelayedFrame): void {
    if (!this.inCall || !link.remote.inCall || this.relayVia.get(r.origin) !== link.peer.id) return;
    const entry = link.reach.find((e) => e.id === r.origin);
    if (!entry || !this.firstTime(r.origin, r.seq)) return;
    this.received++;
    let meter = this.relayedMeters.get(r.origin);
    if (!meter) this.relayedMeters.set(r.origin, (meter = new SpeakingMeter()));
    meter.hear(r.level, this.now());
    const { origin: _origin, ...frame } = r;
    this.emit('frame', { id: entry.id, name: entry.name, colour: entry.colour }, frame);
  }

  /** @internal Who is in the call, whom this peer hears and through whom, changed: tell the neighbours, then the views. */
  changed(): void {
    this.route();
    this.emit('members', this.members());
  }

  /**
   * Tells each neighbour in the call whom this peer hears directly (`reach`), and asks one neighbour
   * for each speaker it does not hear directly (`want`): relay.ts.
   */
  private route(): void {
    const inCall = this.channels.links().filter(({ link }) => link.remote.inCall);
    const reach: ReachEntry[] = this.inCall ? inCall.slice(0, MAX_REACH).map(({ peer, link }) => ({ id: peer.id, name: peer.name, colour: peer.colour, muted: link.remote.muted })) : [];
    // Heard directly once its frames come (or while it is muted: nothing to hear through anyone);
    // until then a relay carries it, so that no frame is lost while a new link comes up.
    const direct = new Set(inCall.filter(({ link }) => link.heardDirectly || link.remote.muted).map(({ peer }) => peer.id));
    const neighbours = inCall.map(({ peer, link }) => ({ id: peer.id, reach: link.reach }));
    this.relayVia = this.inCall ? chooseRelays(this.source.self.id, direct, neighbours, this.relayVia) : new Map();
    for (const origin of this.relayedMeters.keys()) if (!this.relayVia.has(origin)) this.relayedMeters.delete(origin);
    for (const { peer, link } of this.channels.links()) {
      link.sendReach(reach.filter((e) => e.id !== peer.id));
      link.sendWant([...this.relayVia].filter(([, via]) => via === peer.id).map(([origin]) => origin));
    }
  }

  private firstTime(speaker: string, seq: number): boolean {
    let seen = this.heard.get(speaker);
    if (!seen) this.heard.set(speaker, (seen = new SeenFrames()));
    return seen.first(seq);
  }

  /** Speaking and levels move on this tick only, so views redraw a few times a second, not per frame. */
  private tickMeters(): void {
    const now = this.now();
    let changed = this.meter.tick(now);
    for (const { link } of this.channels.links()) if (link.meter.tick(now)) changed = true;
    for (const meter of this.relayedMeters.values()) if (meter.tick(now)) changed = true;
    if (changed) this.emit('members', this.members());
  }

  private setState(inCall: boolean, muted: boolean): void {
    if (inCall === this.inCall && muted === this.muted) return;
    this.inCall = inCall;
    this.muted = muted;
    if (muted) this.meter.reset();
    for (const { link } of this.channels.links()) {
      link.state.send(this.state());
      link.pace();
    }
    this.changed();
  }
}
