/**
 * The sync protocol between members (docs/PROTOCOL.md §6.2): what a peer sends a new member, how it
 * answers step 1 (at once when it holds the document complete, else once it does), applies steps 2
 * and updates, relays awareness, and asks for what it may have missed when a link goes down. Owns the
 * index's readiness: a joiner's index is ready at its first step 2.
 */
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import type { PeerInfo, PeerTransport } from '../session/transport';
import { relayable } from './awareness';
import type { BlobStore } from './blobs';
import { MAX_TEXT_BYTES } from './classify';
import type { TextFetcher } from './fetcher';
import type { IndexGuard } from './index-guard';
import { IndexAsker } from './index-ask';
import { IndexIntake } from './index-intake';
import { IndexLog } from './index-log';
import type { PeerLinks } from './links';
import { Outbox, RemoteOrigin, STEP2, UPDATE } from './outbox';
import { encodeBases, frames, INDEX_DOC, ProtocolError } from './protocol';
import type { Logger } from '../session/log';
import type { Receiver } from './receiver';
import { notebookProblem } from './notebook/bounds';
import { readBases, type BaseDescriptor } from './index-bases';
import { BASE_BUILT, OwnBases, type LocalTexts } from './own-bases';
import { applyRemoteUpdate } from './remote-deletions';
import { Slicer } from './slicer';
import { isPristine } from './text-base';
import type { TextDocs } from './texts';

/**
 * A hard limit on a text document from peers. Far above the size at which a file on disk is treated
 * as text (MAX_TEXT_BYTES): a text at that size legitimately grows while people type, and cutting the
 * typist off for it would cut them off again at every reconnect.
 */
const MAX_REMOTE_TEXT_CHARS = 4 * MAX_TEXT_BYTES;

/** Awareness states per message when a member joins: a state with 256 links is about 5 KB, and a
 * message may hold 64 KiB. */
const AWARENESS_GROUP = 8;

/** How long after a link went down this peer asks a member for what it may have missed. */
const RESYNC_AFTER_MS = 1_000;

export interface DocSyncParts {
  transport: PeerTransport;
  index: Y.Doc;
  awareness: awarenessProtocol.Awareness;
  guard: IndexGuard;
  texts: TextDocs;
  outbox: Outbox;
  links: PeerLinks;
  blobs: BlobStore;
  fetcher: TextFetcher;
  receiver: Receiver;
  /** The index became ready: every entry is new to the view. */
  indexArrived(from: string): void;
  /** A text document is complete here. */
  textArrived(id: string): void;
  /** Build a text held here as bytes into its document (then answer those waiting for it). */
  build(id: string): void;
  /** Whether a text's index entry says someone edited it beyond its first state (§6.1). */
  entryEdited(id: string): boolean;
  /** A joiner's own files, to build the index's bases from before asking for the rest (own-bases.ts). */
  localTexts?: Promise<LocalTexts>;
  logger: Logger;
}

export class DocSync {
  private ready: boolean;
  private readonly waiters: Array<() => void> = [];
  /** Peers that asked for the index before this peer had it. */
  private readonly indexWantedBy = new Map<string, Uint8Array>();
  private resyncTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** The index's updates, to answer a newcomer in chunks (index-log.ts). */
  private readonly log: IndexLog;
  /** Index updates from members, applied a slice of the event loop's time at a time (index-intake.ts). */
  private readonly intake: IndexIntake;
  /** Whom this peer asks for the index, while it has none: one member first (index-ask.ts). */
  private readonly asker: IndexAsker;
  /** A joiner with files of its own: the bases it builds before asking for the rest (own-bases.ts). */
  private readonly own: OwnBases | undefined;
  /** Members are asked for the index once this joiner knows its own files (resolved at once without). */
  private readonly localKnown: Promise<unknown>;

  constructor(
    private readonly p: DocSyncParts,
    indexReady: boolean,
  ) {
    this.ready = indexReady;
    this.log = new IndexLog(p.index);
    const step1 = (peer: string) => p.outbox.step1(peer, INDEX_DOC, p.index);
    this.own = p.localTexts && !indexReady
      ? new OwnBases({
          index: p.index,
          local: p.localTexts,
          askBases: (peer) => this.sendTo(peer, encodeBases()),
          step1,
          apply: (update) => p.guard.apply(update, BASE_BUILT, true),
          working: (peer) => this.asker.heard(peer),
          log: (message) => p.logger.info(message),
        })
      : undefined;
    this.localKnown = this.own ? p.localTexts!.catch(() => undefined) : Promise.resolve();
    this.asker = new IndexAsker((peer) => (this.own ? this.own.ask(peer) : step1(peer)), indexReady);
    this.intake = new IndexIntake(
      (peer, update, complete) => this.applyIndex(peer, update, complete),
      (peer, err) => p.receiver.cutOff(peer, err),
    );
    p.awareness.on('update', this.onAwarenessUpdate);
  }

  get indexReady(): boolean {
    return this.ready;
  }

  whenIndexReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  peerJoined(peer: PeerInfo): void {
    const { outbox, awareness } = this.p;
    if (this.own) {
      // Asked once this peer knows its own files: the member's bases are built from them first.
      void this.localKnown.then(() => !this.closed && this.p.transport.peers().some((q) => q.id === peer.id) && this.asker.joined(peer.id));
    } else {
      this.asker.joined(peer.id);
    }
    void this.askForEdits(peer.id);
    const states = [...awareness.getStates().keys()].filter((c) => relayable(awareness, c, this.p.transport.self.id));
    // In groups: the states of a session of dozens, with their links, would outgrow one 64 KiB update.
    for (let i = 0; i < states.length; i += AWARENESS_GROUP) {
      outbox.awarenessTo(peer.id, awarenessProtocol.encodeAwarenessUpdate(awareness, states.slice(i, i + AWARENESS_GROUP)));
    }
    this.p.blobs.peerJoined();
    this.p.fetcher.peerJoined(peer.id);
    this.p.links.publish();
  }

  peerLeft(peer: PeerInfo): void {
    this.p.blobs.peerLeft(peer.id);
    this.indexWantedBy.delete(peer.id);
    this.own?.left(peer.id);
    this.asker.left(peer.id);
    this.p.receiver.peerLeft(peer.id);
    this.p.texts.peerLeft(peer.id);
    this.p.fetcher.peerLeft(peer.id);
    this.p.links.forget(peer.id);
    this.p.links.publish();
    this.resyncSoon();
    const gone = [...this.p.awareness.getStates()]
      .filter(([, s]) => (s as { user?: { id?: string } }).user?.id === peer.id)
      .map(([client]) => client);
    if (gone.length) awarenessProtocol.removeAwarenessStates(this.p.awareness, gone, new RemoteOrigin(peer.id));
  }

  step1(peer: PeerInfo, name: string, sv: Uint8Array): void {
    if (name === INDEX_DOC) {
      if (this.ready) this.answerIndex(peer.id, sv);
      else this.indexWantedBy.set(peer.id, sv);
      return;
    }
    // A well-formed id in no index is held like any other (§6.2): a step 2 for it may precede its entry.
    const t = this.p.texts.state(name);
    if (t.ready) return this.p.outbox.step2(peer.id, name, t.doc, sv);
    t.wantedBy.set(peer.id, sv);
    if (this.p.texts.isBytes(name)) return this.p.build(name);
    this.p.fetcher.askedBy(peer.id, name);
  }

  /** A step 2 (`complete`) or an update from a member allowed to edit. */
  apply(peer: PeerInfo, name: string, update: Uint8Array, complete: boolean): void {
    if (name === INDEX_DOC) {
      this.asker.heard(peer.id);
      return this.intake.take(peer, update, complete);
    }
    const origin = new RemoteOrigin(peer.id);
    const t = this.p.texts.state(name);
    applyRemoteUpdate(t.doc, update, origin, complete);
    if (t.doc.getText('content').length > MAX_REMOTE_TEXT_CHARS) {
      throw new ProtocolError(`text document over ${MAX_REMOTE_TEXT_CHARS} characters`);
    }
    const overNotebook = notebookProblem(t.doc, MAX_REMOTE_TEXT_CHARS);
    if (overNotebook) throw new ProtocolError(overNotebook);
    if (complete) this.p.textArrived(name);
    // An edit to a text held as bytes waits on its first state: build it from them.
    else if (this.p.texts.isBytes(name)) this.p.build(name);
  }

  /** A member asks for the index's bases: those of this peer's index, none while it has no index. */
  basesGet(peer: PeerInfo): void {
    this.sendTo(peer.id, encodeBases(this.ready ? readBases(this.p.index) : []));
  }

  /** The bases this joiner asked a member for. */
  bases(peer: PeerInfo, bases: readonly BaseDescriptor[]): void {
    if (!this.own?.expects(peer.id)) throw new ProtocolError('sent bases that were not asked for');
    this.asker.heard(peer.id);
    void this.own.received(peer.id, bases);
  }

  private sendTo(peer: string, message: Uint8Array): void {
    for (const frame of frames(message)) this.p.transport.send(peer, frame);
  }

  close(): void {
    this.closed = true;
    this.intake.close();
    this.asker.close();
    this.own?.close();
    this.log.dispose();
    clearTimeout(this.resyncTimer);
    this.p.awareness.off('update', this.onAwarenessUpdate);
  }

  /** An index update (a step 2 when `complete`) from a member, in its turn (index-intake.ts). */
  private applyIndex(peer: PeerInfo, update: Uint8Array, complete: boolean): void {
    this.p.guard.apply(update, new RemoteOrigin(peer.id));
    if (complete && !this.ready) {
      this.ready = true;
      this.p.indexArrived(peer.id);
      for (const w of this.waiters.splice(0)) w();
      this.asker.indexReady();
      for (const [to, sv] of this.indexWantedBy) this.answerIndex(to, sv);
      this.indexWantedBy.clear();
    }
  }

  /**
   * Answers a step 1 for the index: a large index as the updates that made it, those the requester
   * lacks, then a step 2 (§6.2, index-log.ts), so that the requester applies it a slice at a time.
   */
  private answerIndex(to: string, sv: Uint8Array): void {
    void this.log.sinceSliced(sv).then(
      (answer) => {
        if (!answer) return this.p.outbox.step2(to, INDEX_DOC, this.p.index, sv);
        for (const update of answer.updates) this.p.outbox.syncTo(to, INDEX_DOC, UPDATE, update);
        this.p.outbox.syncTo(to, INDEX_DOC, STEP2, answer.step2);
      },
      (err: Error) => this.p.logger.warn(`could not answer a member's request for the index: ${err.message}`),
    );
  }

  /**
   * A link went down. Until the others learn of it (its two ends publish their links again), they do
   * not forward across it what one end sends: a change can miss this peer in that moment. So, once
   * they know, ask one member for everything this peer lacks.
   */
  private resyncSoon(): void {
    if (this.resyncTimer || this.closed) return;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = undefined;
      const peers = this.p.transport.peers();
      if (this.closed || peers.length === 0) return;
      const to = peers[Math.floor(Math.random() * peers.length)].id;
      if (this.ready) this.p.outbox.step1(to, INDEX_DOC, this.p.index);
      void this.askForEdits(to);
    }, RESYNC_AFTER_MS);
    this.resyncTimer.unref?.();
  }

  /**
   * `step 1` to a member for every text held here that has edits, or whose entry says it has (§6.2):
   * a text that is still its first state on both sides has nothing to sync, and every peer can build
   * it from bytes, so it costs nothing however many documents are held. In slices of the event loop.
   */
  private async askForEdits(peerId: string): Promise<void> {
    const slicer = new Slicer();
    for (const [id, doc] of [...this.p.texts.ready()]) {
      if (this.closed || !this.p.transport.peers().some((p) => p.id === peerId)) return;
      if (!isPristine(doc) || this.p.entryEdited(id)) this.p.outbox.step1(peerId, id, doc);
      await slicer.maybeYield();
    }
  }

  /** Every awareness change (ours, or relayed) goes on to the members that need it. */
  private readonly onAwarenessUpdate = (
    changes: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    const { awareness } = this.p;
    const clients = [...changes.added, ...changes.updated, ...changes.removed].filter((c) =>
      relayable(awareness, c, this.p.transport.self.id),
    );
    if (clients.length === 0 || this.closed) return;
    const from = origin instanceof RemoteOrigin ? origin.peerId : undefined;
    this.p.outbox.awareness(awarenessProtocol.encodeAwarenessUpdate(awareness, clients), from);
  };
}
