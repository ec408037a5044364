/**
 * Everything the workspace receives: reassembles parts, decodes each message strictly and hands it on
 * (docs/PROTOCOL.md §6). A peer whose data is malformed or over a limit is disconnected, and nothing
 * of that message is kept; a read-only guest's changes are refused (not a protocol error: its editor
 * may simply lag its role).
 */
import * as decoding from 'lib0/decoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import type { Logger } from '../session/log';
import type { PeerInfo, PeerTransport } from '../session/transport';
import { MAX_AWARENESS_STATES } from './awareness';
import type { BlobStore } from './blobs';
import type { PeerLinks } from './links';
import { RemoteOrigin, STEP1, STEP2, UPDATE } from './outbox';
import type { BaseDescriptor } from './index-bases';
import { MessageType, ProtocolError, Reassembly, decodeMessage, type Message, type TextItem } from './protocol';

/** Awareness updates from a peer are at most this large. */
export const MAX_AWARENESS_UPDATE = 64 * 1024;

export interface SyncHandler {
  /** Whether a document of this name may be held (false: more documents than the file cap). */
  admits(name: string): boolean;
  /** A step 1: answer it, or remember it until the document is complete here. */
  step1(peer: PeerInfo, name: string, stateVector: Uint8Array): void;
  /** A step 2 (`complete`) or an update, from a peer allowed to edit. Throws ProtocolError. */
  apply(peer: PeerInfo, name: string, update: Uint8Array, complete: boolean): void;
  /** Version 4: a member asks for the index's bases (answered at once). */
  basesGet(peer: PeerInfo): void;
  /** Version 4: the answer to this peer's `bases-get`. Throws ProtocolError when none was asked. */
  bases(peer: PeerInfo, bases: readonly BaseDescriptor[]): void;
}

/** Texts' first-state bytes by hash (§6.2, version 3): requests to answer, answers to take. */
export interface TextBytesHandler {
  serve(peerId: string, items: readonly TextItem[]): void;
  /** False when the answer was not asked for or does not match its hashes. */
  receive(peerId: string, items: readonly TextItem[]): boolean;
}

export class Receiver {
  private readonly partials = new Map<string, Reassembly>();
  /** Read-only guests whose refused changes were logged (once each). */
  private readonly refusedReadOnly = new Set<string>();

  constructor(
    private readonly transport: PeerTransport,
    private readonly logger: Logger,
    private readonly awareness: awarenessProtocol.Awareness,
    private readonly links: PeerLinks,
    private readonly blobs: BlobStore,
    private readonly sync: SyncHandler,
    private readonly textBytes: TextBytesHandler,
  ) {}

  receive(peer: PeerInfo, data: Uint8Array): void {
    try {
      let message: Message = decodeMessage(data);
      let partial = this.partials.get(peer.id);
      if (message.type === MessageType.Part) {
        if (!partial) this.partials.set(peer.id, (partial = new Reassembly()));
        const whole = partial.add(message);
        if (!whole) return;
        message = decodeMessage(whole);
        if (message.type === MessageType.Part) throw new ProtocolError('a part inside a part');
      } else if (partial?.inProgress) {
        throw new ProtocolError('a message arrived between the parts of another');
      }
      this.handle(peer, message);
    } catch (err) {
      this.cutOff(peer, err);
    }
  }

  /** Disconnects a peer whose message could not be taken (malformed, over a limit, refused). */
  cutOff(peer: PeerInfo, err: unknown): void {
    const reason = err instanceof ProtocolError ? err.message : `bad data: ${(err as Error).message}`;
    this.logger.warn(`sync: ${peer.name}: ${reason}`);
    this.transport.disconnect(peer.id, reason);
  }

  peerLeft(peerId: string): void {
    this.partials.delete(peerId);
  }

  close(): void {
    this.partials.clear();
  }

  private handle(peer: PeerInfo, m: Message): void {
    switch (m.type) {
      case MessageType.Sync:
        return this.handleSync(peer, m.doc, m.decoder);
      case MessageType.Awareness:
        if (m.update.byteLength > MAX_AWARENESS_UPDATE) throw new ProtocolError('awareness update over 64 KiB');
        this.links.heard(peer.id, m.update);
        awarenessProtocol.applyAwarenessUpdate(this.awareness, m.update, new RemoteOrigin(peer.id));
        // Each update is small, but a peer could invent client ids without end.
        if (this.awareness.getStates().size > MAX_AWARENESS_STATES) {
          throw new ProtocolError(`more than ${MAX_AWARENESS_STATES} awareness states`);
        }
        return;
      case MessageType.BlobGet:
        return this.blobs.serve(peer.id, m.hash);
      case MessageType.BlobData:
        if (!this.blobs.receive(peer.id, m.hash, m.data)) throw new ProtocolError('sent a chunk that was not asked for or does not match its hash');
        return;
      case MessageType.BlobMissing:
        return this.blobs.missing(peer.id, m.hash);
      case MessageType.TextsGet:
        return this.textBytes.serve(peer.id, m.items);
      case MessageType.TextsData:
        if (!this.textBytes.receive(peer.id, m.items)) throw new ProtocolError('sent texts that were not asked for or do not match their hashes');
        return;
      case MessageType.BasesGet:
        return this.sync.basesGet(peer);
      case MessageType.Bases:
        return this.sync.bases(peer, m.bases);
      case MessageType.Part:
        throw new ProtocolError('unexpected part');
    }
  }

  private handleSync(peer: PeerInfo, name: string, d: decoding.Decoder): void {
    if (!this.sync.admits(name)) throw new ProtocolError('more documents than the file cap');
    const kind = decoding.readVarUint(d);
    if (kind === STEP1) return this.sync.step1(peer, name, decoding.readVarUint8Array(d));
    if (kind !== STEP2 && kind !== UPDATE) throw new ProtocolError(`unknown sync message ${kind}`);
    if (peer.readOnly) {
      // Every member refuses a read-only guest's changes (and so never passes them on).
      if (!this.refusedReadOnly.has(peer.id)) {
        this.refusedReadOnly.add(peer.id);
        this.logger.info(`sync: refusing changes from ${peer.name}, a read-only guest`);
      }
      return;
    }
    this.sync.apply(peer, name, decoding.readVarUint8Array(d), kind === STEP2);
  }
}
