/**
 * The shared workspace: an index document (file id → path, kind, versions) and one Yjs text document
 * per text file, kept in sync with every peer over a PeerTransport, plus awareness and binary chunks.
 * Editor- and disk-agnostic: the mirror and the VS Code glue are adapters over it.
 *
 * A facade over collaborators that each own their state: the text documents (texts.ts), what is sent
 * (outbox.ts) and received (receiver.ts), who is linked to whom (links.ts), fetching texts
 * (fetcher.ts) and chunks (blobs.ts), the index's checks (index-guard.ts), the file view
 * (file-view.ts), progress (progress.ts) and the conflict rules every peer applies (rules.ts).
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import type { Logger } from '../session/log';
import { silentLogger } from '../session/log';
import type { PeerInfo, PeerTransport } from '../session/transport';
import type { ChangeOrigin, FileEntry, SyncProgress, Workspace, WorkspaceEvents } from './api';
export type { SyncProgress } from './api';
import { relayable } from './awareness';
import { BlobStore, chunk, type ChunkedContent, type ChunkReader } from './blobs';
import { MAX_TEXT_BYTES } from './classify';
import { binaryEntry, currentVersion, entryMap, isVersion, newId, versionCount, type Version } from './entries';
import { TextFetcher } from './fetcher';
import { FileView } from './file-view';
import { contentHash } from './hash';
import { DEFAULT_CAPS, IndexGuard, collectChangedIds, type WorkspaceCaps } from './index-guard';
import { PeerLinks } from './links';
import { Outbox, RemoteOrigin } from './outbox';
import { validateRelativePath } from './paths';
import { ProgressTracker } from './progress';
import { INDEX_DOC, ProtocolError } from './protocol';
import { Receiver } from './receiver';
import { ConflictRules } from './rules';
import { TextDocs } from './texts';

export { DEFAULT_CAPS, type WorkspaceCaps } from './index-guard';
export { RemoteOrigin } from './outbox';

/**
 * A hard limit on a text document from peers. Far above the size at which a file on disk is treated
 * as text (MAX_TEXT_BYTES): a text at that size legitimately grows while people type, and cutting the
 * typist off for it would cut them off again at every reconnect.
 */
const MAX_REMOTE_TEXT_CHARS = 4 * MAX_TEXT_BYTES;

/** Text documents requested from peers at a time (open files jump the queue); 16 left a joiner of
 * thousands of small files waiting on round trips. */
const FETCH_WINDOW = 64;

/** Awareness states per message when a member joins: a state with 256 links is about 5 KB, and a
 * message may hold 64 KiB. */
const AWARENESS_GROUP = 8;

/** How long after a link went down this peer asks a member for what it may have missed. */
const RESYNC_AFTER_MS = 1_000;

export interface WorkspaceOptions {
  transport: PeerTransport;
  logger?: Logger;
  /** 'share': this peer's index is the first (ready at once). 'join': wait for a peer's index. */
  mode: 'share' | 'join';
  /** Yjs client id of every document of this peer (tests that replay traces pin it). */
  clientID?: number;
  caps?: Partial<WorkspaceCaps>;
  /** How long a text document request waits for one peer before asking another. */
  docRequestTimeoutMs?: number;
}

export class SharedWorkspace extends EventEmitter implements Workspace {
  readonly index: Y.Doc;
  readonly awareness: awarenessProtocol.Awareness;
  readonly blobs: BlobStore;
  private readonly entries: Y.Map<Y.Map<unknown>>;
  private readonly texts: TextDocs;
  private readonly view: FileView;
  private readonly tracker: ProgressTracker;
  private readonly rules: ConflictRules;
  private readonly guard: IndexGuard;
  private readonly links: PeerLinks;
  private readonly outbox: Outbox;
  private readonly receiver: Receiver;
  private readonly fetcher: TextFetcher;
  /** Binary contents fetched or created here: id → hash. */
  private readonly binaryHere = new Map<string, string>();
  private indexReady: boolean;
  private readonly indexWaiters: Array<() => void> = [];
  /** Peers that asked for the index before this peer had it. */
  private readonly indexWantedBy = new Map<string, Uint8Array>();
  private readonly transport: PeerTransport;
  private readonly logger: Logger;
  private readonly caps: WorkspaceCaps;
  /** Files reported as unavailable (each once). */
  private readonly reportedUnavailable = new Set<string>();
  private closed = false;
  private readonly detach: Array<() => void> = [];
  private readonly clientID: number;
  private resyncTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: WorkspaceOptions) {
    super();
    this.transport = options.transport;
    this.logger = options.logger ?? silentLogger;
    this.caps = { ...DEFAULT_CAPS, ...options.caps };
    this.clientID = options.clientID ?? randomBytes(4).readUInt32LE(0);
    this.index = this.newDoc(INDEX_DOC);
    this.entries = this.index.getMap('files');
    this.indexReady = options.mode === 'share';
    this.awareness = new awarenessProtocol.Awareness(this.index);
    this.blobs = new BlobStore(this.transport, this.logger);
    this.guard = new IndexGuard(this.index, this.caps);
    this.links = new PeerLinks(this.awareness, this.transport);
    this.outbox = new Outbox(this.transport, this.links);
    this.view = new FileView(this.entries, this.logger);
    this.tracker = new ProgressTracker(
      { indexReady: () => this.indexReady, fileCount: () => this.view.size },
      (p) => this.emit('progress', p),
    );
    this.rules = new ConflictRules({
      index: this.index,
      entries: this.entries,
      isClosed: () => this.closed,
      textDoc: (id) => this.texts.get(id)?.doc,
      notice: (message) => this.emit('notice', message),
    });
    this.texts = new TextDocs({
      newDoc: (name) => this.newDoc(name),
      transaction: (id, tx) => this.outbox.queue(id, tx),
      changed: (id, tx) => {
        const entry = this.view.byId(id);
        if (entry) this.emit('text-changed', entry, originOf(tx.origin));
        this.rules.checkRestore(id);
      },
    });
    this.receiver = new Receiver(this.transport, this.logger, this.awareness, this.links, this.blobs, {
      admits: (name) => name === INDEX_DOC || this.entries.has(name) || this.texts.has(name) || this.texts.size < this.caps.maxFiles,
      step1: (peer, name, sv) => this.onStep1(peer, name, sv),
      apply: (peer, name, update, complete) => this.onUpdate(peer, name, update, complete),
    });
    this.fetcher = new TextFetcher(
      {
        peers: () => this.transport.peers().map((p) => p.id),
        isReady: (id) => this.texts.isReady(id),
        request: (peerId, id) => this.outbox.step1(peerId, id, this.texts.state(id).doc),
        holdsPart: (id) => this.texts.holdsPart(id),
        exhausted: (id) => this.noneCouldSend(id),
      },
      { window: FETCH_WINDOW, timeoutMs: options.docRequestTimeoutMs ?? 10_000 },
    );

    this.index.on('update', (update: Uint8Array, origin: unknown) => {
      // Remote updates reached the guard's shadow when they were checked; our own must too.
      if (!(origin instanceof RemoteOrigin)) this.guard.track(update);
      if (!this.closed) this.outbox.update(INDEX_DOC, update, origin instanceof RemoteOrigin ? origin.peerId : undefined);
    });
    this.index.on('afterTransaction', (tx: Y.Transaction) => {
      if (!this.indexReady || this.closed) return;
      const ids = new Set<string>();
      collectChangedIds(tx, this.entries as Y.Map<unknown>, ids);
      if (ids.size) this.refresh(ids, originOf(tx.origin), tx.origin instanceof RemoteOrigin ? tx.origin.peerId : undefined);
    });
    this.awareness.on('update', this.onAwarenessUpdate);

    const onJoin = (peer: PeerInfo) => this.onPeerJoin(peer);
    const onLeave = (peer: PeerInfo) => this.onPeerLeave(peer);
    const onMessage = (peer: PeerInfo, data: Uint8Array) => !this.closed && this.receiver.receive(peer, data);
    this.transport.on('peer-join', onJoin);
    this.transport.on('peer-leave', onLeave);
    this.transport.on('message', onMessage);
    this.detach.push(() => {
      this.transport.off('peer-join', onJoin);
      this.transport.off('peer-leave', onLeave);
      this.transport.off('message', onMessage);
    });
    for (const peer of this.transport.peers()) this.onPeerJoin(peer);
  }

  // ---------------------------------------------------------------- reading

  files(): FileEntry[] {
    return this.view.files();
  }

  byPath(path: string): FileEntry | undefined {
    return this.view.byPath(path);
  }

  byId(id: string): FileEntry | undefined {
    return this.view.byId(id);
  }

  /** Resolves once the index is known (at once for the peer that shares). */
  whenIndexReady(): Promise<void> {
    if (this.indexReady) return Promise.resolve();
    return new Promise((resolve) => this.indexWaiters.push(resolve));
  }

  loadedText(id: string): Y.Text | undefined {
    return this.texts.loaded(id);
  }

  isTextReady(id: string): boolean {
    return this.texts.isReady(id);
  }

  text(id: string): Promise<Y.Text> {
    const t = this.texts.state(id);
    if (t.ready) return Promise.resolve(t.doc.getText('content'));
    this.fetcher.want(id, true);
    return new Promise((resolve) => {
      const wait = (ready: boolean) => (ready ? resolve(t.doc.getText('content')) : !this.closed && t.waiters.push(wait));
      t.waiters.push(wait);
    });
  }

  /**
   * Like text(), but gives up: undefined once every member was asked and none could send it (the
   * file is then reported, and fetched when someone who has it arrives), or when the workspace closes.
   */
  loadText(id: string): Promise<Y.Text | undefined> {
    const t = this.texts.state(id);
    if (t.ready) return Promise.resolve(t.doc.getText('content'));
    return new Promise((resolve) => {
      t.waiters.push((ready) => resolve(ready ? t.doc.getText('content') : undefined));
      this.fetcher.want(id, true);
    });
  }

  async binary(id: string): Promise<Uint8Array> {
    const v = currentVersion(this.entries.get(id));
    if (!v) throw new Error(`no binary content for ${id}`);
    const bytes = await this.blobs.assemble(v);
    if (!this.closed) {
      this.binaryHere.set(id, v.hash);
      this.updateAvailability(id);
    }
    return bytes;
  }

  /**
   * Like binary(), but gives up: undefined once every member was asked for one of its chunks and none
   * had it (the file is then reported, and the fetch goes on when someone joins).
   */
  async loadBinary(id: string): Promise<Uint8Array | undefined> {
    const v = currentVersion(this.entries.get(id));
    if (!v) throw new Error(`no binary content for ${id}`);
    const gaveUp = Promise.race(v.chunks.map((h) => this.blobs.whenExhausted(h))).then(() => undefined);
    const bytes = await Promise.race([this.binary(id), gaveUp]);
    if (bytes === undefined) this.reportUnavailable(id);
    return bytes;
  }

  /** Whether a binary file's current content is here (fetched or made here), so binary() asks no one. */
  hasBinary(id: string): boolean {
    const e = this.view.byId(id);
    return e?.kind === 'binary' && this.binaryHere.get(id) === e.hash;
  }

  /** How much of the workspace is here (cheap: kept up to date as files and contents arrive). */
  progress(): SyncProgress {
    return this.tracker.progress();
  }

  /**
   * Resolves once the index is here and every file's content is available: texts load by themselves,
   * binaries count once `binary(id)` fetched them (the disk mirror does that for every file) or this
   * peer made them. Files that appear meanwhile are waited for too.
   */
  whenComplete(): Promise<void> {
    return this.tracker.whenComplete();
  }

  /** The chunk hashes of a binary file's current content (the mirror serves them from disk). */
  content(id: string): ChunkedContent | undefined {
    return currentVersion(this.entries.get(id));
  }

  /** Whether a binary file's history has a version with this content hash. */
  hadVersion(id: string, hash: string): boolean {
    const versions = this.entries.get(id)?.get('versions');
    return versions instanceof Y.Array && (versions.toArray() as unknown[]).some((v) => isVersion(v) && v.hash === hash);
  }

  /** The live binary files whose current content holds a chunk (kept up to date with the view). */
  filesWithChunk(hash: string): FileEntry[] {
    return this.view.filesWithChunk(hash);
  }

  /** Lets the mirror serve chunks from the files on disk. */
  setChunkReader(reader: ChunkReader): void {
    this.blobs.reader = reader;
  }

  // ---------------------------------------------------------------- local changes

  /**
   * A new text file (§6.1): the text document first, sent whole to every member as a step 2, then the
   * index transaction that names it, so that they hold the text complete when they learn of the file.
   * The entry's `size` and `hash` are those of the content at creation; nobody updates them.
   */
  createText(path: string, content: string, origin: ChangeOrigin): FileEntry {
    const p = this.assertFreePath(path);
    const id = newId();
    const t = this.texts.state(id);
    t.doc.transact(() => t.doc.getText('content').insert(0, content), origin);
    this.markReady(id);
    this.outbox.sendWhole(id, t.doc);
    const bytes = Buffer.from(content, 'utf8');
    this.index.transact(() => {
      this.entries.set(id, entryMap({ path: p, kind: 'text', size: bytes.byteLength, hash: contentHash(bytes) }));
    }, origin);
    return this.view.byId(id)!;
  }

  createBinary(path: string, content: Uint8Array, origin: ChangeOrigin): FileEntry {
    const p = this.assertFreePath(path);
    const id = newId();
    const { info, parts } = chunk(content);
    this.blobs.remember(parts);
    this.binaryHere.set(id, info.hash);
    this.index.transact(() => this.entries.set(id, binaryEntry(p, { ...info, base: null })), origin);
    return this.view.byId(id)!;
  }

  /** A new version of a binary file; the entry's `size` and `hash` follow its current version. */
  updateBinary(id: string, content: Uint8Array, origin: ChangeOrigin): void {
    const m = this.entries.get(id);
    const current = currentVersion(m);
    if (!m || !current) throw new Error(`no binary file ${id}`);
    const { info, parts } = chunk(content);
    if (info.hash === current.hash) return;
    this.blobs.remember(parts);
    this.binaryHere.set(id, info.hash);
    this.index.transact(() => {
      (m.get('versions') as Y.Array<Version>).push([{ ...info, base: current.hash }]);
      m.set('size', info.size);
      m.set('hash', info.hash);
    }, origin);
  }

  rename(id: string, newPath: string, origin: ChangeOrigin): void {
    const p = validateRelativePath(newPath);
    const m = this.entries.get(id);
    if (!m || !this.view.byId(id)) throw new Error(`no file ${id}`);
    const other = this.view.byPath(p);
    if (other && other.id !== id) throw new Error(`${p} already exists`);
    this.index.transact(() => m.set('path', p), origin);
  }

  remove(id: string, origin: ChangeOrigin): void {
    const m = this.entries.get(id);
    if (!m) return;
    const entry = this.view.byId(id);
    // What the deleter had seen: edits beyond it (made concurrently) bring the file back.
    // A text this peer never loaded cannot say what it saw: then the delete simply wins ('*').
    const text = entry?.kind === 'text' ? this.texts.get(id) : undefined;
    const seen =
      entry?.kind === 'text'
        ? text?.ready
          ? Buffer.from(Y.encodeStateVector(text.doc)).toString('base64')
          : '*'
        : String(versionCount(m));
    this.index.transact(() => m.set('deleted', seen), origin);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.detach.forEach((off) => off());
    clearTimeout(this.resyncTimer);
    this.awareness.off('update', this.onAwarenessUpdate);
    this.awareness.destroy();
    this.outbox.close();
    this.receiver.close();
    this.links.close();
    this.blobs.close();
    this.guard.destroy();
    this.fetcher.close();
    this.texts.close();
    this.index.destroy();
    this.removeAllListeners();
  }

  override on<K extends keyof WorkspaceEvents>(event: K, listener: (...args: WorkspaceEvents[K]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override off<K extends keyof WorkspaceEvents>(event: K, listener: (...args: WorkspaceEvents[K]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }

  override emit<K extends keyof WorkspaceEvents>(event: K, ...args: WorkspaceEvents[K]): boolean {
    return super.emit(event, ...args);
  }

  // ---------------------------------------------------------------- documents

  /**
   * One client id for all of this peer's documents (ids only need to be unique per document), and the
   * document's name as its guid: Yjs would otherwise draw fresh randomness for both per document,
   * which dominated the cost of creating thousands of files.
   */
  private newDoc(name: string): Y.Doc {
    const doc = new Y.Doc({ gc: true, guid: name });
    doc.clientID = this.clientID;
    return doc;
  }

  private markReady(id: string): void {
    if (!this.texts.markReady(id)) return;
    this.fetcher.done(id);
    this.updateAvailability(id);
    // Answer the peers that asked before we had it.
    const t = this.texts.state(id);
    for (const [peer, sv] of t.wantedBy) this.outbox.step2(peer, id, t.doc, sv);
    t.wantedBy.clear();
  }

  /**
   * Every member was asked for a text and none sent it complete. A copy made of the updates that
   * reached this peer is as complete as anyone's: take it (and answer those waiting on us with it),
   * so that peers holding the same partial copies never wait on each other. With nothing here, say so.
   */
  private noneCouldSend(id: string): void {
    const path = this.view.byId(id)?.path ?? id;
    if (this.texts.holdsPart(id)) {
      this.logger.info(`sync: nobody sent ${JSON.stringify(path)} complete; using the copy held here`);
      this.markReady(id);
      // Whoever holds more of it (a member that was slow, not empty) sends the rest, which then
      // reaches those this copy was just sent to.
      const doc = this.texts.state(id).doc;
      for (const p of this.transport.peers()) this.outbox.step1(p.id, id, doc);
      return;
    }
    this.texts.giveUp(id);
    this.reportUnavailable(id);
  }

  /** Says once per file that no member could send its content. */
  private reportUnavailable(id: string): void {
    const entry = this.view.byId(id);
    if (!entry || this.reportedUnavailable.has(id)) return;
    this.reportedUnavailable.add(id);
    this.logger.warn(`sync: no member could send ${JSON.stringify(entry.path)}; asking again when someone joins`);
    this.emit('unavailable', entry);
  }

  // ---------------------------------------------------------------- members and messages

  private onPeerJoin(peer: PeerInfo): void {
    this.outbox.step1(peer.id, INDEX_DOC, this.index);
    for (const [id, doc] of this.texts.ready()) this.outbox.step1(peer.id, id, doc);
    const states = [...this.awareness.getStates().keys()].filter((c) => relayable(this.awareness, c, this.transport.self.id));
    // In groups: the states of a session of dozens, with their links, would outgrow one 64 KiB update.
    for (let i = 0; i < states.length; i += AWARENESS_GROUP) {
      this.outbox.awarenessTo(peer.id, awarenessProtocol.encodeAwarenessUpdate(this.awareness, states.slice(i, i + AWARENESS_GROUP)));
    }
    this.blobs.peerJoined();
    this.fetcher.peerJoined(peer.id);
    this.links.publish();
  }

  private onPeerLeave(peer: PeerInfo): void {
    this.blobs.peerLeft(peer.id);
    this.indexWantedBy.delete(peer.id);
    this.receiver.peerLeft(peer.id);
    this.texts.peerLeft(peer.id);
    this.fetcher.peerLeft(peer.id);
    this.links.forget(peer.id);
    this.links.publish();
    this.resyncSoon();
    const gone = [...this.awareness.getStates()]
      .filter(([, s]) => (s as { user?: { id?: string } }).user?.id === peer.id)
      .map(([client]) => client);
    if (gone.length) awarenessProtocol.removeAwarenessStates(this.awareness, gone, new RemoteOrigin(peer.id));
  }

  /**
   * A link went down. Until the others learn of it (its two ends publish their links again), they do
   * not forward across it what one end sends: a change can miss this peer in that moment. So, once
   * they know, ask one member for everything this peer lacks (§6.2).
   */
  private resyncSoon(): void {
    if (this.resyncTimer || this.closed) return;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = undefined;
      const peers = this.transport.peers();
      if (this.closed || peers.length === 0) return;
      const to = peers[Math.floor(Math.random() * peers.length)].id;
      if (this.indexReady) this.outbox.step1(to, INDEX_DOC, this.index);
      for (const [id, doc] of this.texts.ready()) this.outbox.step1(to, id, doc);
    }, RESYNC_AFTER_MS);
    this.resyncTimer.unref?.();
  }

  private onStep1(peer: PeerInfo, name: string, sv: Uint8Array): void {
    if (name === INDEX_DOC) {
      if (this.indexReady) this.outbox.step2(peer.id, name, this.index, sv);
      else this.indexWantedBy.set(peer.id, sv);
      return;
    }
    // A well-formed id in no index is held like any other (§6.2): a step 2 for it may precede its entry.
    const t = this.texts.state(name);
    if (t.ready) return this.outbox.step2(peer.id, name, t.doc, sv);
    t.wantedBy.set(peer.id, sv);
    this.fetcher.askedBy(peer.id, name);
  }

  private onUpdate(peer: PeerInfo, name: string, update: Uint8Array, complete: boolean): void {
    const origin = new RemoteOrigin(peer.id);
    if (name === INDEX_DOC) {
      this.guard.check(update);
      Y.applyUpdate(this.index, update, origin);
      if (complete && !this.indexReady) {
        this.indexReady = true;
        this.refresh(new Set(this.entries.keys()), 'remote', peer.id);
        for (const w of this.indexWaiters.splice(0)) w();
        this.tracker.check();
        for (const [p, sv] of this.indexWantedBy) this.outbox.step2(p, INDEX_DOC, this.index, sv);
        this.indexWantedBy.clear();
      }
      return;
    }
    const t = this.texts.state(name);
    Y.applyUpdate(t.doc, update, origin);
    if (t.doc.getText('content').length > MAX_REMOTE_TEXT_CHARS) {
      throw new ProtocolError(`text document over ${MAX_REMOTE_TEXT_CHARS} characters`);
    }
    if (complete) this.markReady(name);
  }

  private readonly onAwarenessUpdate = (
    changes: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    const clients = [...changes.added, ...changes.updated, ...changes.removed].filter((c) =>
      relayable(this.awareness, c, this.transport.self.id),
    );
    if (clients.length === 0 || this.closed) return;
    const from = origin instanceof RemoteOrigin ? origin.peerId : undefined;
    this.outbox.awareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, clients), from);
  };

  // ---------------------------------------------------------------- the view and its consequences

  /** Brings the view up to date for the entries a transaction touched, and tells (§6.4). */
  private refresh(ids: Set<string>, origin: ChangeOrigin, source?: string): void {
    const { next, changes, fixes } = this.view.update(ids);
    this.tracker.viewChanged(changes);

    // Tell, in an order a disk can follow: files leave, then move, then arrive, then change.
    for (const { old, now } of changes) if (old && !now) this.emit('file-removed', old, origin);
    for (const { old, now } of changes) if (old && now && old.path !== now.path) this.emit('file-renamed', now, old.path, origin);
    for (const { old, now } of changes) if (!old && now) this.emit('file-added', now, origin);
    for (const { old, now } of changes) {
      if (old && now && now.kind === 'binary' && old.hash !== now.hash) this.emit('binary-changed', now, origin);
    }

    // Consequences: fetch texts, keep lost binary versions, undo deletes that lost to edits.
    for (const [id, now] of next) {
      this.updateAvailability(id);
      if (!now) continue;
      if (now.kind === 'text' && !this.texts.isReady(id)) this.fetcher.want(id, false, source);
      if (now.kind === 'binary') this.rules.keepConflictingVersions(id, this.entries.get(id)!, now.path);
    }
    for (const id of ids) if (this.entries.get(id)?.get('deleted')) this.rules.checkRestore(id);
    this.rules.fixPaths(fixes);
    this.tracker.check();
  }

  /** Counts a file's content as here or not, for progress(). */
  private updateAvailability(id: string): void {
    const entry = this.view.byId(id);
    const here = entry !== undefined && (entry.kind === 'text' ? this.texts.isReady(id) : this.binaryHere.get(id) === entry.hash);
    this.tracker.set(id, entry, here);
  }

  private assertFreePath(path: string): string {
    const p = validateRelativePath(path);
    if (this.view.byPath(p)) throw new Error(`${p} already exists in the shared workspace`);
    return p;
  }
}

export function originOf(origin: unknown): ChangeOrigin {
  if (origin === 'disk' || origin === 'editor') return origin;
  if (origin instanceof Y.UndoManager) return 'editor';
  return 'remote';
}
