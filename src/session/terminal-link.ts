/**
 * One member's end of the `hyperpair/terminal` channel (docs/PROTOCOL.md §9.6): what this peer shares
 * goes out (the list, output, who typed, ends), what the member shares comes in, and input the member
 * types is handed up to be judged; nothing is accepted on trust.
 */
import type Protomux from 'protomux';
import { addMessages, type MemberLink, type Messages } from './member-channels';
import {
  MAX_OUTPUT_CHUNK,
  endedEncoding,
  inputEncoding,
  sizeEncoding,
  outputEncoding,
  terminalsEncoding,
  typedEncoding,
  type ChunkMessage,
  type EndedMessage,
  type SizeMessage,
  type TerminalInfo,
  type TypedMessage,
} from './terminal-wire';
import type { PeerInfo } from './transport';

/** What a link asks of the terminals it belongs to. */
export interface TerminalLinkHost {
  /** This peer's shared terminals and their replay, for a member whose channel just opened. */
  localTerminals(): Array<{ info: TerminalInfo; replay: Uint8Array }>;
  /** The member's full list of shared terminals. */
  remoteList(peer: PeerInfo, list: TerminalInfo[]): void;
  remoteOutput(peer: PeerInfo, m: ChunkMessage): void;
  remoteTyped(peer: PeerInfo, m: TypedMessage): void;
  remoteEnded(peer: PeerInfo, m: EndedMessage): void;
  /** The member typed into one of this peer's terminals: accepted or not up there. */
  input(peer: PeerInfo, m: ChunkMessage): void;
  /** The size of the member's view of one of this peer's terminals. */
  viewSize(peer: PeerInfo, m: SizeMessage): void;
  /** The link's connection is congested, or drained again. */
  congestion(peer: PeerInfo, congested: boolean): void;
  /** The channel closed: everything the member shared is gone. */
  gone(peer: PeerInfo): void;
}

export class TerminalLink implements MemberLink {
  private readonly send: Messages<{ terminals: TerminalInfo[]; output: ChunkMessage; input: ChunkMessage; typed: TypedMessage; ended: EndedMessage; size: SizeMessage }>;
  private isOpen = false;
  private isClosed = false;
  congested = false;

  constructor(
    readonly peer: PeerInfo,
    channel: Protomux.Channel<number>,
    private readonly host: TerminalLinkHost,
  ) {
    this.send = addMessages(channel, {
      terminals: { encoding: terminalsEncoding, onmessage: (l: TerminalInfo[]) => host.remoteList(peer, l) },
      output: { encoding: outputEncoding, onmessage: (m: ChunkMessage) => host.remoteOutput(peer, m) },
      input: { encoding: inputEncoding, onmessage: (m: ChunkMessage) => host.input(peer, m) },
      typed: { encoding: typedEncoding, onmessage: (m: TypedMessage) => host.remoteTyped(peer, m) },
      ended: { encoding: endedEncoding, onmessage: (m: EndedMessage) => host.remoteEnded(peer, m) },
      size: { encoding: sizeEncoding, onmessage: (m: SizeMessage) => host.viewSize(peer, m) },
    });
  }

  get ready(): boolean {
    return this.isOpen && !this.isClosed;
  }

  opened(): void {
    this.isOpen = true;
    const local = this.host.localTerminals();
    this.send.terminals.send(local.map((t) => t.info));
    for (const t of local) this.output(t.info.id, t.replay);
  }

  closed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.host.gone(this.peer);
  }

  drained(): void {
    if (!this.congested) return;
    this.congested = false;
    this.host.congestion(this.peer, false);
  }

  list(infos: TerminalInfo[]): void {
    if (this.ready) this.send.terminals.send(infos);
  }

  output(id: number, bytes: Uint8Array): void {
    if (!this.ready) return;
    for (let at = 0; at < bytes.length; at += MAX_OUTPUT_CHUNK) {
      if (!this.send.output.send({ id, bytes: bytes.subarray(at, at + MAX_OUTPUT_CHUNK) }) && !this.congested) {
        this.congested = true;
        this.host.congestion(this.peer, true);
      }
    }
  }

  input(id: number, bytes: Uint8Array): void {
    if (this.ready) this.send.input.send({ id, bytes });
  }

  typed(m: TypedMessage): void {
    if (this.ready) this.send.typed.send(m);
  }

  viewSize(m: SizeMessage): void {
    if (this.ready) this.send.size.send(m);
  }

  ended(id: number, reason: string): void {
    if (this.ready) this.send.ended.send({ id, reason });
  }
}
