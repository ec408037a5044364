/**
 * Shared terminals: a member runs a real shell in a pseudo-terminal and every other member sees it,
 * over the session's existing authenticated connections (`hyperpair/terminal`, docs/PROTOCOL.md §9.6).
 * Only the sharer's keystrokes reach the shell, plus those of people it allowed to type: never a
 * read-only guest's, and a grant ends when that person leaves. Every peer keeps each terminal's recent
 * output, so a view opened later (or a member arriving later) starts with it. A terminal ends when its
 * sharer stops it, its shell exits, or the sharer leaves.
 */
import { TypedEmitter } from './events';
import { silentLogger, type Logger } from './log';
import { MemberChannels, type MemberMuxSource } from './member-channels';
import { HostTerminal, type ShareTerminalOptions } from './terminal-host';
import { TerminalLink, type TerminalLinkHost } from './terminal-link';
import { loadPty, type PtyModule } from './terminal-pty';
import { OutputRing } from './terminal-ring';
import { MAX_INPUT_CHUNK, MAX_TERMINALS, TERMINAL_PROTOCOL, TERMINAL_VERSION, type TerminalInfo } from './terminal-wire';
import type { PeerInfo } from './transport';

export type { ShareTerminalOptions } from './terminal-host';

/** A shared terminal, as this peer sees it (its own or another member's). */
export interface TerminalState {
  /** `ownerId/id`: unique in the session. */
  readonly key: string;
  readonly id: number;
  readonly owner: PeerInfo;
  /** This peer shares it. */
  readonly mine: boolean;
  title: string;
  cols: number;
  rows: number;
  /** Who may type besides the sharer (public keys, hex). */
  writers: string[];
}

export interface TerminalEvents {
  /** A terminal appeared (shared here, or by a member). Its output so far follows as `output`. */
  opened: [terminal: TerminalState];
  output: [key: string, bytes: Buffer];
  /** Its size or who may type changed. */
  changed: [terminal: TerminalState];
  /** Someone other than the last typist typed into it. */
  typed: [key: string, by: { id: string; name: string }];
  closed: [key: string, reason: string];
}

/** A session as the terminals need it: member channels, and whether this peer is read-only. */
export interface TerminalSource extends MemberMuxSource {
  readonly readOnly?: boolean;
}

export interface TerminalOptions {
  logger?: Logger;
  /** node-pty's module, or how to load it; loaded when the first terminal is shared. */
  pty?: PtyModule | (() => PtyModule);
}

interface Known {
  state: TerminalState;
  ring: OutputRing;
  host?: HostTerminal;
}

/** Who typed last, per terminal: a `typed` goes out when it changes. */
const SAME_TYPIST_QUIET_MS = 30_000;

export class SharedTerminals extends TypedEmitter<TerminalEvents> {
  private readonly known = new Map<string, Known>();
  private readonly channels: MemberChannels<TerminalLink>;
  private readonly logger: Logger;
  private readonly lastTypist = new Map<string, { id: string; at: number }>();
  private nextId = 1;
  private ptyModule: PtyModule | undefined;
  private closed = false;

  constructor(
    private readonly source: TerminalSource,
    private readonly options: TerminalOptions = {},
  ) {
    super();
    this.logger = options.logger ?? silentLogger;
    this.channels = new MemberChannels(source, {
      protocol: TERMINAL_PROTOCOL,
      version: TERMINAL_VERSION,
      logger: this.logger,
      attach: (peer, channel) => new TerminalLink(peer, channel, this.linkHost),
    });
    source.on('peer-leave', this.onLeave);
  }

  /** Starts a shell in a pseudo-terminal and shares it with every member. Throws a readable Error. */
  share(options: ShareTerminalOptions = {}): TerminalState {
    if (this.closed) throw new Error('the session is closed');
    if (this.mine().length >= MAX_TERMINALS) throw new Error(`at most ${MAX_TERMINALS} terminals can be shared at once`);
    const pty = this.loadPty();
    const id = this.nextId++;
    const key = `${this.source.self.id}/${id}`;
    const host = new HostTerminal(id, pty, options, {
      output: (bytes) => {
        for (const { link } of this.channels.links()) link.output(id, bytes);
        this.emit('output', key, bytes);
      },
      exit: (reason) => this.end(key, reason),
    });
    const state: TerminalState = { key, owner: this.source.self, mine: true, ...host.info() };
    this.known.set(key, { state, ring: host.ring, host });
    this.broadcastList();
    this.emit('opened', state);
    this.logger.info(`sharing terminal ${key} (${state.title})`);
    return state;
  }

  /** Every terminal this peer knows, its own first. */
  terminals(): TerminalState[] {
    return [...this.known.values()].map((k) => k.state).sort((a, b) => Number(b.mine) - Number(a.mine));
  }

  get(key: string): TerminalState | undefined {
    return this.known.get(key)?.state;
  }

  /** The recent output kept for a terminal. */
  replay(key: string): Buffer {
    return this.known.get(key)?.ring.contents() ?? Buffer.alloc(0);
  }

  /** Whether this peer may type into a terminal now. */
  canType(key: string): boolean {
    const k = this.known.get(key);
    if (!k) return false;
    if (k.state.mine) return true;
    return !this.source.readOnly && k.state.writers.includes(this.source.self.id);
  }

  /** Types into a terminal: its shell gets it at once (own) or through its sharer, who judges it. */
  input(key: string, data: string): void {
    const k = this.need(key);
    if (k.host) {
      this.noteTypist(k, this.source.self);
      k.host.write(data);
      return;
    }
    if (!this.canType(key)) throw new Error(`${k.state.owner.name} has not allowed you to type in this terminal.`);
    const link = this.channels.link(k.state.owner.id);
    if (!link) throw new Error(`${k.state.owner.name} is not connected.`);
    for (const piece of splitInput(data)) link.input(k.state.id, Buffer.from(piece, 'utf8'));
  }

  /** Lets a member type into a terminal this peer shares. A read-only guest never may. */
  allow(key: string, peerId: string): void {
    const k = this.mineOrThrow(key);
    const peer = this.source.peers().find((p) => p.id === peerId);
    if (!peer) throw new Error('That person is no longer in the session.');
    if (peer.readOnly) throw new Error(`${peer.name} is read-only in this session and cannot type in a terminal.`);
    k.host!.allow(peerId);
    this.changed(k);
  }

  /** Takes typing back from a member. */
  revoke(key: string, peerId: string): boolean {
    const k = this.mineOrThrow(key);
    if (!k.host!.writers.delete(peerId)) return false;
    this.changed(k);
    return true;
  }

  /**
   * This peer's view of a terminal has this size (0 × 0: no view open). The shell runs at the
   * smallest size of every view, the sharer's and the members', so that it draws right in each.
   */
  resize(key: string, cols: number, rows: number): void {
    const k = this.known.get(key);
    if (!k) return;
    if (k.host) {
      if (k.host.setViewSize('', cols, rows)) this.changed(k);
      return;
    }
    this.channels.link(k.state.owner.id)?.viewSize({ id: k.state.id, cols: Math.max(0, Math.floor(cols)), rows: Math.max(0, Math.floor(rows)) });
  }

  /** Stops sharing one of this peer's terminals: its shell ends, every member sees it closed. */
  stop(key: string, reason = 'stopped sharing'): boolean {
    if (!this.known.get(key)?.host) return false;
    this.end(key, reason);
    return true;
  }

  /** Ends every terminal this peer shares and forgets the others'. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.source.off('peer-leave', this.onLeave);
    for (const k of this.mine()) {
      k.host!.kill();
      for (const { link } of this.channels.links()) link.ended(k.state.id, 'the sharer left the session');
    }
    this.channels.close();
    for (const key of [...this.known.keys()]) this.forget(key, 'you left the session');
  }

  private loadPty(): PtyModule {
    if (!this.ptyModule) {
      const p = this.options.pty;
      this.ptyModule = typeof p === 'function' ? p() : (p ?? loadPty());
    }
    return this.ptyModule;
  }

  private mine(): Known[] {
    return [...this.known.values()].filter((k) => k.host);
  }

  private need(key: string): Known {
    const k = this.known.get(key);
    if (!k) throw new Error('That terminal is no longer shared.');
    return k;
  }

  private mineOrThrow(key: string): Known {
    const k = this.need(key);
    if (!k.host) throw new Error(`Only ${k.state.owner.name}, who shares this terminal, can decide who types in it.`);
    return k;
  }

  private changed(k: Known): void {
    if (k.host) Object.assign(k.state, k.host.info());
    this.broadcastList();
    this.emit('changed', k.state);
  }

  private broadcastList(): void {
    const infos = this.mine().map((k) => k.host!.info());
    for (const { link } of this.channels.links()) link.list(infos);
  }

  private end(key: string, reason: string): void {
    const k = this.known.get(key);
    if (!k?.host) return;
    k.host.kill();
    for (const { link } of this.channels.links()) link.ended(k.state.id, reason);
    this.forget(key, reason);
    this.broadcastList();
  }

  private forget(key: string, reason: string): void {
    if (!this.known.delete(key)) return;
    this.lastTypist.delete(key);
    this.emit('closed', key, reason);
  }

  private noteTypist(k: Known, by: PeerInfo): void {
    const last = this.lastTypist.get(k.state.key);
    const now = Date.now();
    this.lastTypist.set(k.state.key, { id: by.id, at: now });
    if (last && last.id === by.id && now - last.at < SAME_TYPIST_QUIET_MS) return;
    for (const { link } of this.channels.links()) link.typed({ id: k.state.id, by: by.id, name: by.name });
    this.emit('typed', k.state.key, { id: by.id, name: by.name });
  }

  private updatePause(): void {
    const congested = this.channels.links().some(({ link }) => link.congested);
    for (const k of this.mine()) k.host!.setPaused(congested);
  }

  private readonly onLeave = (peer: PeerInfo): void => {
    for (const k of this.mine()) {
      const resized = k.host!.setViewSize(peer.id, 0, 0);
      if (k.host!.writers.delete(peer.id) || resized) this.changed(k);
    }
  };

  private readonly linkHost: TerminalLinkHost = {
    localTerminals: () => this.mine().map((k) => ({ info: k.host!.info(), replay: k.ring.contents() })),
    remoteList: (peer, list) => this.onRemoteList(peer, list),
    remoteOutput: (peer, m) => {
      const k = this.known.get(`${peer.id}/${m.id}`);
      if (!k) return; // a terminal it never listed: nothing to show it in
      const bytes = Buffer.from(m.bytes);
      k.ring.push(bytes);
      this.emit('output', k.state.key, bytes);
    },
    remoteTyped: (peer, m) => {
      const key = `${peer.id}/${m.id}`;
      if (this.known.has(key)) this.emit('typed', key, { id: m.by, name: m.name });
    },
    remoteEnded: (peer, m) => this.forget(`${peer.id}/${m.id}`, m.reason ? `${peer.name}: ${m.reason}` : `${peer.name} stopped sharing it`),
    input: (peer, m) => this.onInput(peer, m.id, m.bytes),
    viewSize: (peer, m) => {
      const k = this.known.get(`${this.source.self.id}/${m.id}`);
      if (k?.host?.setViewSize(peer.id, m.cols, m.rows)) this.changed(k);
    },
    congestion: () => this.updatePause(),
    gone: (peer) => {
      for (const k of [...this.known.values()]) if (!k.host && k.state.owner.id === peer.id) this.forget(k.state.key, `${peer.name} left the session`);
      this.onLeave(peer);
      this.updatePause();
    },
  };

  private onRemoteList(peer: PeerInfo, list: TerminalInfo[]): void {
    if (this.closed) return;
    const listed = new Set<string>();
    for (const info of list) {
      const key = `${peer.id}/${info.id}`;
      if (listed.has(key)) continue;
      listed.add(key);
      const existing = this.known.get(key);
      if (existing) {
        Object.assign(existing.state, { title: info.title, cols: info.cols, rows: info.rows, writers: info.writers });
        this.emit('changed', existing.state);
        continue;
      }
      const state: TerminalState = { key, id: info.id, owner: peer, mine: false, title: info.title, cols: info.cols, rows: info.rows, writers: info.writers };
      this.known.set(key, { state, ring: new OutputRing() });
      this.emit('opened', state);
    }
    for (const k of [...this.known.values()]) {
      if (!k.host && k.state.owner.id === peer.id && !listed.has(k.state.key)) this.forget(k.state.key, `${peer.name} stopped sharing it`);
    }
  }

  /** Input from a member: written to the shell only if this peer allowed that member, and they are not read-only. */
  private onInput(peer: PeerInfo, id: number, bytes: Uint8Array): void {
    const k = this.known.get(`${this.source.self.id}/${id}`);
    if (!k?.host) return;
    if (!k.host.writers.has(peer.id)) {
      this.logger.warn(`${peer.name} typed into terminal ${id} without being allowed to: ignored`);
      return;
    }
    // The role is judged now, not when the grant was made: the owner may have made them read-only since.
    const current = this.source.peers().find((p) => p.id === peer.id);
    if (!current || current.readOnly) {
      k.host.writers.delete(peer.id);
      this.changed(k);
      this.logger.warn(`${peer.name} is read-only: their typing in terminal ${id} was ignored and their grant removed`);
      return;
    }
    this.noteTypist(k, current);
    k.host.write(Buffer.from(bytes).toString('utf8'));
  }
}

/** Typed text in pieces that fit one `input` message, never splitting a surrogate pair. */
export function splitInput(data: string): string[] {
  const max = Math.floor(MAX_INPUT_CHUNK / 3); // a UTF-16 unit is at most 3 bytes of UTF-8
  const out: string[] = [];
  let at = 0;
  while (at < data.length) {
    let end = Math.min(data.length, at + max);
    const code = data.charCodeAt(end - 1);
    if (end < data.length && code >= 0xd800 && code <= 0xdbff) end--;
    out.push(data.slice(at, end));
    at = end;
  }
  return out;
}
