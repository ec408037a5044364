/**
 * Session chat: short messages among members, over the `hyperpair/chat` channel on member
 * connections only (docs/PROTOCOL.md §9.3). Each peer keeps the last `limit` messages; a member who
 * joins gets every member's history when their channel opens and keeps what it has not seen, so the
 * history outlives whoever wrote it, like the shared documents. Everything is sanitised on arrival:
 * a message is plain text with no controls, bounded, and its author is the connection it came on
 * (or, for history, the author another member vouches for: `relayed`).
 */
import { TypedEmitter } from './events';
import c from 'compact-encoding';
import type { Encoding } from 'compact-encoding';
import type Protomux from 'protomux';
import { MAX_CHAT_TEXT, mentions } from './chat-text';
import { silentLogger, type Logger } from './log';
import { MemberChannels, type MemberLink, type MemberMuxSource } from './member-channels';
import type { PeerInfo } from './transport';
import { displayColour, displayName, displayText } from './untrusted';
import { field, writeFields } from './fields';

export const CHAT_PROTOCOL = 'hyperpair/chat';
export const CHAT_VERSION = 1;
export const CHAT_HISTORY = 500;

export interface ChatMessage {
  /** `author:time:seq`: unique per message, the same on every peer. */
  id: string;
  /** The author's public key, hex. */
  author: string;
  name: string;
  colour: string;
  /** When it was written (ms since the epoch, the author's clock, never in the future). */
  time: number;
  seq: number;
  text: string;
  /** Heard from another member, not from its author (history from before this peer joined). */
  relayed: boolean;
}

export interface ChatEvents {
  /** A message new to this peer (its own too); `live` is false for history caught up on; `mentionsMe` by name. */
  message: [message: ChatMessage, live: boolean, mentionsMe: boolean];
}

export interface WireSay {
  time: number;
  seq: number;
  text: string;
}

export interface WireEntry extends WireSay {
  author: Uint8Array;
  name: string;
  colour: string;
}

function boundedText(max: number): Encoding<string> {
  return {
    preencode: (state, s) => c.string.preencode(state, s),
    encode: (state, s) => c.string.encode(state, s),
    decode(state) {
      const s = c.string.decode(state);
      // Bound the bytes before any regular expression runs; then clean what a person will read.
      if (s.length > max * 4) throw new Error(`chat text longer than ${max} characters`);
      return s;
    },
  };
}

const textEncoding = boundedText(MAX_CHAT_TEXT);
const shortEncoding = boundedText(64);

export const sayEncoding: Encoding<WireSay> = {
  ...writeFields<WireSay>(field(c.uint, (m) => m.time), field(c.uint, (m) => m.seq), field(textEncoding, (m) => m.text)),
  decode: (state) => ({ time: c.uint.decode(state), seq: c.uint.decode(state), text: textEncoding.decode(state) }),
};

const entryEncoding: Encoding<WireEntry> = {
  ...writeFields<WireEntry>(
    field(c.fixed32, (m) => m.author),
    field(shortEncoding, (m) => m.name),
    field(shortEncoding, (m) => m.colour),
    field(sayEncoding, (m) => m),
  ),
  decode: (state) => ({ author: c.fixed32.decode(state), name: shortEncoding.decode(state), colour: shortEncoding.decode(state), ...sayEncoding.decode(state) }),
};

export const historyEncoding: Encoding<WireEntry[]> = {
  preencode: (state, list) => c.array(entryEncoding).preencode(state, list),
  encode: (state, list) => c.array(entryEncoding).encode(state, list),
  decode(state) {
    const n = c.uint.decode(state);
    if (n > CHAT_HISTORY) throw new Error(`chat history of ${n} messages (max ${CHAT_HISTORY})`);
    const list: WireEntry[] = [];
    for (let i = 0; i < n; i++) list.push(entryEncoding.decode(state));
    return list;
  },
};

class ChatLink implements MemberLink {
  readonly say: Protomux.Message<WireSay>;
  private readonly history: Protomux.Message<WireEntry[]>;

  constructor(
    readonly peer: PeerInfo,
    channel: Protomux.Channel<number>,
    private readonly chat: SessionChat,
  ) {
    this.say = channel.addMessage({ encoding: sayEncoding, onmessage: (m: WireSay) => chat.receive(peer, { ...m, author: peer.id, name: peer.name, colour: peer.colour }, true) });
    this.history = channel.addMessage({
      encoding: historyEncoding,
      onmessage: (list: WireEntry[]) => {
        for (const e of list) chat.receive(peer, { ...e, author: Buffer.from(e.author).toString('hex') }, false);
      },
    });
  }

  opened(): void {
    this.history.send(this.chat.history().map((m) => ({ author: Buffer.from(m.author, 'hex'), name: m.name, colour: m.colour, time: m.time, seq: m.seq, text: m.text })));
  }

  closed(): void {}
}

export interface ChatOptions {
  limit?: number;
  logger?: Logger;
  now?: () => number;
}

export class SessionChat extends TypedEmitter<ChatEvents> {
  private readonly messages: ChatMessage[] = [];
  private readonly ids = new Set<string>();
  private readonly channels: MemberChannels<ChatLink>;
  private readonly limit: number;
  private readonly now: () => number;
  private seq = 0;

  constructor(
    private readonly source: MemberMuxSource,
    options: ChatOptions = {},
  ) {
    super();
    this.limit = options.limit ?? CHAT_HISTORY;
    this.now = options.now ?? Date.now;
    this.channels = new MemberChannels(source, {
      protocol: CHAT_PROTOCOL,
      version: CHAT_VERSION,
      logger: options.logger ?? silentLogger,
      attach: (peer, channel) => new ChatLink(peer, channel, this),
    });
  }

  /** The kept messages, oldest first. */
  history(): ChatMessage[] {
    return [...this.messages];
  }

  /** Sends a message to every member. Throws a readable Error when there is nothing to send. */
  say(raw: string): ChatMessage {
    const text = displayText(raw, MAX_CHAT_TEXT);
    if (!text) throw new Error('the message is empty');
    const self = this.source.self;
    const wire = { time: this.now(), seq: this.seq++, text };
    const message = this.add({ ...wire, author: self.id, name: self.name, colour: self.colour }, false)!;
    for (const { link } of this.channels.links()) link.say.send(wire);
    this.emit('message', message, true, false);
    return message;
  }

  close(): void {
    this.channels.close();
  }

  /** @internal A message from a member (`live`), or an entry of its history. */
  receive(from: PeerInfo, m: WireSay & { author: string; name: string; colour: string }, live: boolean): void {
    const relayed = m.author !== from.id;
    const message = this.add(m, relayed);
    if (message) this.emit('message', message, live, live && mentions(message.text, this.source.self.name));
  }

  private add(m: WireSay & { author: string; name: string; colour: string }, relayed: boolean): ChatMessage | undefined {
    const text = displayText(m.text, MAX_CHAT_TEXT);
    // Another peer's clock: never in the future, so that nobody can pin a message below every other.
    const time = Math.min(m.time, this.now());
    const id = `${m.author}:${m.time}:${m.seq}`;
    if (!text || this.ids.has(id)) return undefined;
    const message: ChatMessage = { id, author: m.author, name: displayName(m.name), colour: displayColour(m.colour), time, seq: m.seq, text, relayed };
    // One order on every peer (time, then author, then seq), so that peers who saw the same messages
    // keep the same last `limit` of them whatever order they arrived in.
    let at = this.messages.length;
    while (at > 0 && before(message, this.messages[at - 1])) at--;
    if (this.messages.length >= this.limit && at === 0) return undefined; // older than everything kept
    this.messages.splice(at, 0, message);
    this.ids.add(id);
    while (this.messages.length > this.limit) this.ids.delete(this.messages.shift()!.id);
    return message;
  }
}

function before(x: ChatMessage, y: ChatMessage): boolean {
  if (x.time !== y.time) return x.time < y.time;
  if (x.author !== y.author) return x.author < y.author;
  return x.seq < y.seq;
}
