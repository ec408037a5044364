/**
 * Session code rotation (issue 17): the owner replaces the session code, and every member moves to
 * the new one without noticing. The new code travels only over member connections (`hyperpair/rotation`,
 * docs/PROTOCOL.md §9.4), which are end-to-end encrypted and authenticated; a member takes it only
 * from the owner (the key that signs the roster). Each peer then proves, announces and looks up the
 * new code only (Session.rekey), so that whoever knows only the old code — a removed person, a leaked
 * invitation — can neither find the members nor pass their authentication any more.
 */
import { TypedEmitter } from './events';
import c from 'compact-encoding';
import type { Encoding } from 'compact-encoding';
import type Protomux from 'protomux';
import { createSessionCode, parseSessionCode } from './code';
import { shortKey } from './format';
import { silentLogger, type Logger } from './log';
import { MemberChannels, type MemberLink, type MemberMuxSource } from './member-channels';
import type { Session } from './session';
import type { PeerInfo } from './transport';
import { field, writeFields } from './fields';

export const ROTATION_PROTOCOL = 'hyperpair/rotation';
export const ROTATION_VERSION = 1;
/** A formatted code is 35 characters; anything much longer is not one. */
const MAX_CODE_TEXT = 64;

export interface RekeyMessage {
  /** Counts the owner's rotations: a member keeps the highest it took, so that an old one replayed late is ignored. */
  seq: number;
  code: string;
}

export const rekeyEncoding: Encoding<RekeyMessage> = {
  ...writeFields<RekeyMessage>(field(c.uint, (m) => m.seq), field(c.string, (m) => m.code)),
  decode(state) {
    const seq = c.uint.decode(state);
    const code = c.string.decode(state);
    if (code.length > MAX_CODE_TEXT) throw new Error('rotated code too long');
    return { seq, code };
  },
};

export type RotationSession = MemberMuxSource & Pick<Session, 'isOwner' | 'policy' | 'code' | 'rekey'>;

export interface RotationEvents {
  /** This peer announces `code` now (`from`: the owner it heard it from; undefined on the owner). */
  rotated: [code: string, from: PeerInfo | undefined];
  /** Something went wrong that a person may want to know (a bad code from the owner, a failed rekey). */
  notice: [message: string];
}

class RotationLink implements MemberLink {
  readonly rekey: Protomux.Message<RekeyMessage>;

  constructor(
    readonly peer: PeerInfo,
    channel: Protomux.Channel<number>,
    private readonly rotation: CodeRotation,
  ) {
    this.rekey = channel.addMessage({ encoding: rekeyEncoding, onmessage: (m: RekeyMessage) => rotation.heard(peer, m) });
  }

  /** A member whose connection predates the last rotation (or is being replaced) hears it again. */
  opened(): void {
    this.rotation.catchUp(this);
  }

  closed(): void {}
}

export class CodeRotation extends TypedEmitter<RotationEvents> {
  private readonly channels: MemberChannels<RotationLink>;
  private readonly logger: Logger;
  private seq = 0;

  constructor(
    private readonly session: RotationSession,
    options: { logger?: Logger } = {},
  ) {
    super();
    this.logger = options.logger ?? silentLogger;
    this.channels = new MemberChannels(session, {
      protocol: ROTATION_PROTOCOL,
      version: ROTATION_VERSION,
      logger: this.logger,
      attach: (peer, channel) => new RotationLink(peer, channel, this),
    });
  }

  /** Whether this peer may rotate the code (the owner only: it signs the roster). */
  get canRotate(): boolean {
    return this.session.isOwner;
  }

  /**
   * (Owner) Makes a new code, moves this peer to it and tells every member. Resolves with the new code
   * once this peer announces it; people who had the old one cannot come back from then on.
   */
  async rotate(): Promise<string> {
    if (!this.canRotate) throw new Error("Only the session's owner can change the session code.");
    const code = createSessionCode();
    this.seq++;
    // Members first: each moves as soon as it hears, in parallel with this peer's own move.
    for (const { link } of this.channels.links()) link.rekey.send({ seq: this.seq, code });
    await this.session.rekey(code);
    this.logger.info(`rotated the session code (rotation ${this.seq}); ${this.channels.links().length} members told`);
    this.emit('rotated', code, undefined);
    return code;
  }

  close(): void {
    this.channels.close();
  }

  /** @internal */
  catchUp(link: RotationLink): void {
    if (this.session.isOwner && this.seq > 0) link.rekey.send({ seq: this.seq, code: this.session.code });
  }

  /** @internal A rekey from a member: taken from the owner only, and only if newer. */
  heard(from: PeerInfo, m: RekeyMessage): void {
    const ownerId = this.session.policy?.ownerId;
    if (this.session.isOwner || from.id !== ownerId) {
      this.logger.warn(`${from.name} (${shortKey(from.id)}) sent a new session code but is not the owner; ignored`);
      return;
    }
    if (m.seq <= this.seq) return;
    const parsed = parseSessionCode(m.code);
    if (!parsed.ok) {
      this.notice(`${from.name} sent a session code that is not valid (${parsed.message}); keeping the current one`);
      return;
    }
    this.seq = m.seq;
    if (parsed.code === this.session.code) return;
    this.session.rekey(parsed.code).then(
      () => this.emit('rotated', parsed.code, from),
      (err: Error) => this.notice(`could not move to the new session code: ${err.message}`),
    );
  }

  private notice(message: string): void {
    this.logger.warn(message);
    this.emit('notice', message);
  }
}
