/**
 * The shared workspace: an index document (file id → path, kind, versions) and one Yjs text document
 * per text file, kept in sync with every peer over a PeerTransport, plus awareness and binary chunks.
 * Editor- and disk-agnostic: the mirror and the VS Code glue are adapters over it.
 *
 * Rules every peer applies identically (docs/PROTOCOL.md §6.4), so that no one's work disappears:
 * - Two live entries on one path: the smallest id keeps it, the others move to a conflict path.
 * - A delete records what its author had seen; edits the author had not seen restore the file.
 * - Concurrent replacements of one binary file: the last in the versions array wins; the others are
 *   kept as conflict copies with deterministic ids.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import type { Logger } from '../session/log';
import { silentLogger } from '../session/log';
import type { PeerInfo, PeerTransport } from '../session/transport';
import type { ChangeOrigin, FileEntry, FileKind, SyncProgress, Workspace, WorkspaceEvents } from './api';
export type { SyncProgress } from './api';
import { MAX_AWARENESS_STATES, relayable } from './awareness';
import { ChangeBatch, changedAnything } from './batch';
import { BlobStore, chunk, type ChunkedContent, type ChunkReader } from './blobs';
import { MAX_TEXT_BYTES } from './classify';
import { contentHash, isHash } from './hash';
import { TextFetcher } from './fetcher';
import { DEFAULT_CAPS, IndexGuard, collectChangedIds, type WorkspaceCaps } from './index-guard';
import { conflictPath, isSafeRelativePath, validateRelativePath } from './paths';
import {
  INDEX_DOC,
  MessageType,
  ProtocolError,
  Reassembly,
  decodeMessage,
  encodeAwareness,
  frames,
  syncEncoder,
  type Message,
} from './protocol';
import { PeerLinks } from './links';

const STEP1 = 0;
const STEP2 = 1;
const UPDATE = 2;

export { DEFAULT_CAPS, type WorkspaceCaps } from './index-guard';

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

/** A Yjs state vector that has seen nothing: a step 2 against it is the whole document. */
const EMPTY_STATE_VECTOR = Uint8Array.of(0);


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

/** Transaction origin of updates that came from a peer. */
export class RemoteOrigin {
  constructor(readonly peerId: string) {}
}
/** Transaction origin of the deterministic fixes every peer makes (conflicts, restores). */
const RULES = 'rules';

interface TextState {
  doc: Y.Doc;
  /** Holds the whole document: created here, or a peer that had it sent a step 2. */
  ready: boolean;
  /** Called with true once it is ready, with false when nobody could send it (or on close). */
  waiters: Array<(ready: boolean) => void>;
  /** Peers that asked for it before it was ready here. */
  wantedBy: Map<string, Uint8Array>;
}

/** Changes to one text document not yet sent, and where they came from. */
interface Outgoing {
  batch: ChangeBatch;
  /** The one peer every change came from (not sent back to it); null: from here or from several. */
  from: string | null;
}

interface Version {
  hash: string;
  size: number;
  chunks: string[];
  base: string | null;
}

export class SharedWorkspace extends EventEmitter implements Workspace {
  readonly index: Y.Doc;
  readonly awareness: awarenessProtocol.Awareness;
  readonly blobs: BlobStore;
  private readonly entries: Y.Map<Y.Map<unknown>>;
  private readonly texts = new Map<string, TextState>();
  private readonly view = new Map<string, FileEntry>();
  private readonly byPathView = new Map<string, FileEntry>();
  /** Live entries by the path written in the index (several when two files claim one path). */
  private readonly claims = new Map<string, Set<string>>();
  private readonly claimed = new Map<string, string>();
  /** Live files whose content is here, with the size counted for them in progress. */
  private readonly available = new Map<string, number>();
  private availableBytes = 0;
  private totalBytes = 0;
  /** Which live binary files hold each chunk (chunk hash → ids), for serving chunks from disk. */
  private readonly chunkFiles = new Map<string, Set<string>>();
  private readonly chunksOf = new Map<string, string[]>();
  /** Binary contents fetched or created here: id → hash. */
  private readonly binaryHere = new Map<string, string>();
  private readonly completeWaiters: Array<() => void> = [];
  private readonly guard: IndexGuard;
  private readonly partials = new Map<string, Reassembly>();
  /** Read-only guests whose refused changes were logged (once each). */
  private readonly refusedReadOnly = new Set<string>();
  private indexReady: boolean;
  private readonly indexWaiters: Array<() => void> = [];
  /** Peers that asked for the index before this peer had it. */
  private readonly indexWantedBy = new Map<string, Uint8Array>();
  private readonly transport: PeerTransport;
  private readonly logger: Logger;
  private readonly caps: WorkspaceCaps;
  private readonly fetcher: TextFetcher;
  private readonly links: PeerLinks;
  /** Files reported as unavailable (each once). */
  private readonly reportedUnavailable = new Set<string>();
  private closed = false;
  private readonly detach: Array<() => void> = [];
  private readonly clientID: number;
  /**
   * Text changes waiting to be sent, in the order the documents first changed. They are sent at the
   * end of the current task (or before any other message, to keep the order): a burst of
   * transactions then costs one update, one frame and one remote transaction instead of one each.
   */
  private readonly outgoing = new Map<string, Outgoing>();
  private flushQueued = false;
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
    this.fetcher = new TextFetcher(
      {
        peers: () => this.transport.peers().map((p) => p.id),
        isReady: (id) => this.isTextReady(id),
        request: (peerId, id) => this.sendStep1(peerId, id, this.textState(id).doc),
        holdsPart: (id) => this.holdsPart(id),
        exhausted: (id) => this.noneCouldSend(id),
      },
      { window: FETCH_WINDOW, timeoutMs: options.docRequestTimeoutMs ?? 10_000 },
    );

    this.index.on('update', (update: Uint8Array, origin: unknown) => {
      // Remote updates reached the guard's shadow when they were checked; our own must too.
      if (!(origin instanceof RemoteOrigin)) this.guard.track(update);
      this.broadcastUpdate(INDEX_DOC, update, origin instanceof RemoteOrigin ? origin.peerId : undefined);
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
    const onMessage = (peer: PeerInfo, data: Uint8Array) => this.onMessage(peer, data);
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
    return [...this.view.values()];
  }

  byPath(path: string): FileEntry | undefined {
    return this.byPathView.get(path);
  }

  byId(id: string): FileEntry | undefined {
    return this.view.get(id);
  }

  /** Resolves once the index is known (at once for the peer that shares). */
  whenIndexReady(): Promise<void> {
    if (this.indexReady) return Promise.resolve();
    return new Promise((resolve) => this.indexWaiters.push(resolve));
  }

  loadedText(id: string): Y.Text | undefined {
    const t = this.texts.get(id);
    return t?.ready ? t.doc.getText('content') : undefined;
  }

  isTextReady(id: string): boolean {
    return this.texts.get(id)?.ready ?? false;
  }

  text(id: string): Promise<Y.Text> {
    const t = this.textState(id);
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
    const t = this.textState(id);
    if (t.ready) return Promise.resolve(t.doc.getText('content'));
    return new Promise((resolve) => {
      t.waiters.push((ready) => resolve(ready ? t.doc.getText('content') : undefined));
      this.fetcher.want(id, true);
    });
  }

  async binary(id: string): Promise<Uint8Array> {
    const v = this.currentVersion(id);
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
    const v = this.currentVersion(id);
    if (!v) throw new Error(`no binary content for ${id}`);
    const gaveUp = Promise.race(v.chunks.map((h) => this.blobs.whenExhausted(h))).then(() => undefined);
    const bytes = await Promise.race([this.binary(id), gaveUp]);
    if (bytes === undefined) this.reportUnavailable(id);
    return bytes;
  }

  /** Whether a binary file's current content is here (fetched or made here), so binary() asks no one. */
  hasBinary(id: string): boolean {
    const e = this.view.get(id);
    return e?.kind === 'binary' && this.binaryHere.get(id) === e.hash;
  }

  /** How much of the workspace is here (cheap: kept up to date as files and contents arrive). */
  progress(): SyncProgress {
    const complete = this.indexReady && this.available.size === this.view.size;
    return {
      indexReady: this.indexReady,
      files: this.available.size,
      totalFiles: this.view.size,
      bytes: this.availableBytes,
      totalBytes: this.totalBytes,
      complete,
    };
  }

  /**
   * Resolves once the index is here and every file's content is available: texts load by themselves,
   * binaries count once `binary(id)` fetched them (the disk mirror does that for every file) or this
   * peer made them. Files that appear meanwhile are waited for too.
   */
  whenComplete(): Promise<void> {
    if (this.progress().complete) return Promise.resolve();
    return new Promise((resolve) => this.completeWaiters.push(resolve));
  }

  /** The chunk hashes of a binary file's current content (the mirror serves them from disk). */
  content(id: string): ChunkedContent | undefined {
    return this.currentVersion(id);
  }

  /** Whether a binary file's history has a version with this content hash. */
  hadVersion(id: string, hash: string): boolean {
    const versions = this.entries.get(id)?.get('versions');
    return versions instanceof Y.Array && (versions.toArray() as unknown[]).some((v) => isVersion(v) && v.hash === hash);
  }

  /**
   * The live binary files whose current content holds a chunk. Kept up to date with the view, so
   * that serving a chunk costs the files that have it, not a scan of every file.
   */
  filesWithChunk(hash: string): FileEntry[] {
    const out: FileEntry[] = [];
    for (const id of this.chunkFiles.get(hash) ?? []) {
      const e = this.view.get(id);
      if (e) out.push(e);
    }
    return out;
  }

  /** Lets the mirror serve chunks from the files on disk. */
  setChunkReader(reader: ChunkReader): void {
    this.blobs.reader = reader;
  }

  // ---------------------------------------------------------------- local changes

  createText(path: string, content: string, origin: ChangeOrigin): FileEntry {
    const p = this.assertFreePath(path);
    const id = newId();
    const t = this.textState(id);
    t.doc.transact(() => t.doc.getText('content').insert(0, content), origin);
    this.markReady(id);
    // The whole text goes to every member as a step 2 before the entry that names it (§6.1): they
    // hold it complete when they learn of the file, and write it at once.
    this.outgoing.delete(id);
    for (const p of this.transport.peers()) this.sendStep2(p.id, id, t.doc, EMPTY_STATE_VECTOR);
    const bytes = Buffer.from(content, 'utf8');
    this.index.transact(() => {
      this.entries.set(id, entryMap({ path: p, kind: 'text', size: bytes.byteLength, hash: contentHash(bytes) }));
    }, origin);
    return this.view.get(id)!;
  }

  createBinary(path: string, content: Uint8Array, origin: ChangeOrigin): FileEntry {
    const p = this.assertFreePath(path);
    const id = newId();
    const { info, parts } = chunk(content);
    this.blobs.remember(parts);
    this.binaryHere.set(id, info.hash);
    this.index.transact(() => {
      const m = entryMap({ path: p, kind: 'binary', size: info.size, hash: info.hash });
      const versions = new Y.Array<Version>();
      versions.push([{ ...info, base: null }]);
      m.set('versions', versions);
      this.entries.set(id, m);
    }, origin);
    return this.view.get(id)!;
  }

  updateBinary(id: string, content: Uint8Array, origin: ChangeOrigin): void {
    const m = this.entries.get(id);
    const current = this.currentVersion(id);
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
    if (!m || !this.view.has(id)) throw new Error(`no file ${id}`);
    const other = this.byPathView.get(p);
    if (other && other.id !== id) throw new Error(`${p} already exists`);
    this.index.transact(() => m.set('path', p), origin);
  }

  remove(id: string, origin: ChangeOrigin): void {
    const m = this.entries.get(id);
    if (!m) return;
    const entry = this.view.get(id);
    // What the deleter had seen: edits beyond it (made concurrently) bring the file back.
    // A text this peer never loaded cannot say what it saw: then the delete simply wins ('*').
    const seen =
      entry?.kind === 'text'
        ? this.isTextReady(id)
          ? Buffer.from(Y.encodeStateVector(this.textState(id).doc)).toString('base64')
          : '*'
        : String((m.get('versions') as Y.Array<Version> | undefined)?.length ?? 0);
    this.index.transact(() => m.set('deleted', seen), origin);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.detach.forEach((off) => off());
    this.awareness.off('update', this.onAwarenessUpdate);
    this.awareness.destroy();
    this.blobs.close();
    this.guard.destroy();
    this.links.close();
    clearTimeout(this.resyncTimer);
    this.partials.clear();
    this.fetcher.close();
    for (const t of this.texts.values()) {
      for (const w of t.waiters.splice(0)) w(false);
      t.doc.destroy();
    }
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

  private textState(id: string): TextState {
    let t = this.texts.get(id);
    if (t) return t;
    const doc = this.newDoc(id);
    t = { doc, ready: false, waiters: [], wantedBy: new Map() };
    this.texts.set(id, t);
    doc.on('afterTransaction', (tx: Y.Transaction) => this.queueTextChange(id, tx));
    doc.getText('content').observe((_e, tx) => {
      const entry = this.view.get(id);
      if (entry) this.emit('text-changed', entry, originOf(tx.origin));
      this.checkRestore(id);
    });
    return t;
  }

  private markReady(id: string): void {
    const t = this.textState(id);
    if (t.ready) return;
    t.ready = true;
    this.fetcher.done(id);
    for (const w of t.waiters.splice(0)) w(true);
    this.updateAvailability(id);
    // Answer the peers that asked before we had it.
    for (const [peer, sv] of t.wantedBy) this.sendStep2(peer, id, t.doc, sv);
    t.wantedBy.clear();
  }

  private doc(name: string): Y.Doc {
    return name === INDEX_DOC ? this.index : this.textState(name).doc;
  }

  private isReady(name: string): boolean {
    return name === INDEX_DOC ? this.indexReady : (this.texts.get(name)?.ready ?? false);
  }

  // ---------------------------------------------------------------- fetching text documents

  /**
   * Every member was asked for a text and none sent it complete. A copy made of the updates that
   * reached this peer is as complete as anyone's: take it (and answer those waiting on us with it),
   * so that peers holding the same partial copies never wait on each other. With nothing here, say so.
   */
  private noneCouldSend(id: string): void {
    const t = this.textState(id);
    const path = this.view.get(id)?.path ?? id;
    if (this.holdsPart(id)) {
      this.logger.info(`sync: nobody sent ${JSON.stringify(path)} complete; using the copy held here`);
      this.markReady(id);
      // Whoever holds more of it (a member that was slow, not empty) sends the rest, which then
      // reaches those this copy was just sent to.
      for (const p of this.transport.peers()) this.sendStep1(p.id, id, t.doc);
      return;
    }
    for (const w of t.waiters.splice(0)) w(false);
    this.reportUnavailable(id);
  }

  private holdsPart(id: string): boolean {
    const t = this.texts.get(id);
    return t !== undefined && Y.encodeStateVector(t.doc).byteLength > 1;
  }

  /** Says once per file that no member could send its content. */
  private reportUnavailable(id: string): void {
    const entry = this.view.get(id);
    if (!entry || this.reportedUnavailable.has(id)) return;
    this.reportedUnavailable.add(id);
    this.logger.warn(`sync: no member could send ${JSON.stringify(entry.path)}; asking again when someone joins`);
    this.emit('unavailable', entry);
  }

  // ---------------------------------------------------------------- wire

  private onPeerJoin(peer: PeerInfo): void {
    this.sendStep1(peer.id, INDEX_DOC, this.index);
    for (const [id, t] of this.texts) if (t.ready) this.sendStep1(peer.id, id, t.doc);
    const states = [...this.awareness.getStates().keys()].filter((c) => relayable(this.awareness, c, this.transport.self.id));
    // In groups: the states of a session of dozens, with their links, would outgrow one 64 KiB update.
    for (let i = 0; i < states.length; i += AWARENESS_GROUP) {
      this.send(peer.id, encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, states.slice(i, i + AWARENESS_GROUP))));
    }
    this.blobs.peerJoined();
    this.fetcher.peerJoined(peer.id);
    this.links.publish();
  }

  private onPeerLeave(peer: PeerInfo): void {
    this.blobs.peerLeft(peer.id);
    this.indexWantedBy.delete(peer.id);
    this.partials.delete(peer.id);
    for (const t of this.texts.values()) t.wantedBy.delete(peer.id);
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
      if (this.indexReady) this.sendStep1(to, INDEX_DOC, this.index);
      for (const [id, t] of this.texts) if (t.ready) this.sendStep1(to, id, t.doc);
    }, RESYNC_AFTER_MS);
    this.resyncTimer.unref?.();
  }

  private onMessage(peer: PeerInfo, data: Uint8Array): void {
    if (this.closed) return;
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
      const reason = err instanceof ProtocolError ? err.message : `bad data: ${(err as Error).message}`;
      this.logger.warn(`sync: ${peer.name}: ${reason}`);
      this.transport.disconnect(peer.id, reason);
    }
  }

  private handle(peer: PeerInfo, m: Message): void {
    switch (m.type) {
      case MessageType.Sync:
        return this.handleSync(peer, m.doc, m.decoder);
      case MessageType.Awareness:
        if (m.update.byteLength > 64 * 1024) throw new ProtocolError('awareness update over 64 KiB');
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
      case MessageType.Part:
        throw new ProtocolError('unexpected part');
    }
  }

  private handleSync(peer: PeerInfo, name: string, d: decoding.Decoder): void {
    if (name !== INDEX_DOC && !this.entries.has(name) && this.texts.size >= this.caps.maxFiles) {
      throw new ProtocolError('more documents than the file cap');
    }
    const kind = decoding.readVarUint(d);
    if (kind === STEP1) {
      const sv = decoding.readVarUint8Array(d);
      if (!this.isReady(name)) {
        if (name === INDEX_DOC) this.indexWantedBy.set(peer.id, sv);
        else {
          this.textState(name).wantedBy.set(peer.id, sv);
          this.fetcher.askedBy(peer.id, name);
        }
        return;
      }
      this.sendStep2(peer.id, name, this.doc(name), sv);
      return;
    }
    if (kind !== STEP2 && kind !== UPDATE) throw new ProtocolError(`unknown sync message ${kind}`);
    if (peer.readOnly) {
      // A read-only guest may read everything and edit nothing: every member refuses its changes
      // (and so never passes them on). Not a protocol error: its editor may simply lag its role.
      if (!this.refusedReadOnly.has(peer.id)) {
        this.refusedReadOnly.add(peer.id);
        this.logger.info(`sync: refusing changes from ${peer.name}, a read-only guest`);
      }
      return;
    }
    const update = decoding.readVarUint8Array(d);
    const origin = new RemoteOrigin(peer.id);
    if (name === INDEX_DOC) {
      this.guard.check(update);
      Y.applyUpdate(this.index, update, origin);
      if (kind === STEP2 && !this.indexReady) {
        this.indexReady = true;
        this.refresh(new Set(this.entries.keys()), 'remote', peer.id);
        for (const w of this.indexWaiters.splice(0)) w();
        this.checkComplete();
        for (const [p, sv] of this.indexWantedBy) this.sendStep2(p, INDEX_DOC, this.index, sv);
        this.indexWantedBy.clear();
      }
      return;
    }
    const t = this.textState(name);
    Y.applyUpdate(t.doc, update, origin);
    if (t.doc.getText('content').length > MAX_REMOTE_TEXT_CHARS) {
      throw new ProtocolError(`text document over ${MAX_REMOTE_TEXT_CHARS} characters`);
    }
    if (kind === STEP2) this.markReady(name);
  }

  private sendStep1(peerId: string, name: string, doc: Y.Doc): void {
    const e = syncEncoder(name);
    encoding.writeVarUint(e, STEP1);
    encoding.writeVarUint8Array(e, Y.encodeStateVector(doc));
    this.send(peerId, encoding.toUint8Array(e));
  }

  private sendStep2(peerId: string, name: string, doc: Y.Doc, sv: Uint8Array): void {
    const e = syncEncoder(name);
    encoding.writeVarUint(e, STEP2);
    encoding.writeVarUint8Array(e, Y.encodeStateAsUpdate(doc, sv));
    this.send(peerId, encoding.toUint8Array(e));
  }

  /**
   * Sends one message, in parts when it is too large for one frame (back to back, so never mixed).
   * Text changes still waiting go first, so that peers see every change in the order it was made.
   */
  private send(peerId: string, message: Uint8Array): void {
    if (this.outgoing.size) this.flushText();
    for (const frame of frames(message)) this.transport.send(peerId, frame);
  }

  private queueTextChange(id: string, tx: Y.Transaction): void {
    if (this.closed || !changedAnything(tx)) return;
    const from = tx.origin instanceof RemoteOrigin ? tx.origin.peerId : null;
    const pending = this.outgoing.get(id);
    if (pending) {
      pending.batch.add(tx);
      if (pending.from !== from) pending.from = null;
    } else {
      this.outgoing.set(id, { batch: new ChangeBatch(tx.doc, tx), from });
    }
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flushText());
    }
  }

  /** Sends every waiting text change: one update per document. */
  private flushText(): void {
    this.flushQueued = false;
    if (this.outgoing.size === 0) return;
    const pending = [...this.outgoing];
    this.outgoing.clear();
    if (this.closed) return;
    const peers = this.transport.peers();
    for (const [id, { batch, from }] of pending) {
      // Changes from the only peer there is go nowhere: do not even encode them.
      if (!peers.some((p) => p.id !== from)) continue;
      const update = batch.encode();
      if (update) this.broadcastUpdate(id, update, from ?? undefined);
    }
  }

  /** Every change reaches every connected peer but the one it came from; peers forward in turn. */
  private broadcastUpdate(name: string, update: Uint8Array, from: string | undefined): void {
    if (this.closed) return;
    const e = syncEncoder(name);
    encoding.writeVarUint(e, UPDATE);
    encoding.writeVarUint8Array(e, update);
    const bytes = encoding.toUint8Array(e);
    for (const p of this.transport.peers()) if (p.id !== from && !this.links.covers(from, p.id)) this.send(p.id, bytes);
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
    const bytes = encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, clients));
    for (const p of this.transport.peers()) if (p.id !== from && !this.links.covers(from, p.id)) this.send(p.id, bytes);
  };

  // ---------------------------------------------------------------- the view and its rules

  /**
   * Brings the view up to date for the index entries a transaction touched, and for the entries that
   * share a path with them (the same-path rule, §6.4). Incremental: its cost is what changed, so that
   * creating the thousands of files of a shared folder one by one stays linear.
   */
  private refresh(ids: Set<string>, origin: ChangeOrigin, source?: string): void {
    // 1. Which path each touched entry claims now (live entries with a valid path only).
    const paths = new Set<string>();
    for (const id of ids) {
      const before = this.claimed.get(id);
      if (before !== undefined) {
        paths.add(before);
        this.claimed.delete(id);
        const set = this.claims.get(before)!;
        set.delete(id);
        if (set.size === 0) this.claims.delete(before);
      }
      const m = this.entries.get(id);
      const path = m instanceof Y.Map ? m.get('path') : undefined;
      const kind = m?.get('kind');
      if (!m || m.get('deleted') || typeof path !== 'string' || (kind !== 'text' && kind !== 'binary')) continue;
      if (!isSafeRelativePath(path)) continue; // never exposed (remote ones were refused already)
      this.claimed.set(id, path);
      let set = this.claims.get(path);
      if (!set) this.claims.set(path, (set = new Set()));
      set.add(id);
      paths.add(path);
    }
    // 2. Everyone whose exposed path may change: the touched and those sharing a path with them.
    const affected = new Set(ids);
    for (const p of paths) for (const id of this.claims.get(p) ?? []) affected.add(id);

    const next = new Map<string, FileEntry | undefined>();
    const chunkLists = new Map<string, string[]>();
    const fixes: Array<{ m: Y.Map<unknown>; path: string; original: string }> = [];
    for (const id of affected) {
      const path = this.claimed.get(id);
      const m = this.entries.get(id);
      if (path === undefined || !m) {
        next.set(id, undefined);
        continue;
      }
      let exposed = path;
      if (smallest(this.claims.get(path)!) !== id) {
        // Two live files on one path: the smallest id keeps it, this one moves aside.
        exposed = conflictPath(path, id.slice(0, 6));
        const holder = this.claims.get(exposed);
        if ((holder && !holder.has(id)) || !isSafeRelativePath(exposed)) exposed = conflictPath(path, id);
        if (!isSafeRelativePath(exposed)) {
          this.logger.warn(`sync: ${path} is claimed twice and no conflict name fits; one copy is not shown`);
          next.set(id, undefined);
          continue;
        }
        fixes.push({ m, path: exposed, original: path });
      }
      const kind = m.get('kind') as FileKind;
      const v = kind === 'binary' ? this.currentVersion(id, m) : undefined;
      if (v) chunkLists.set(id, v.chunks);
      next.set(id, {
        id,
        path: exposed,
        kind,
        size: v ? v.size : Number(m.get('size') ?? 0),
        hash: v ? v.hash : String(m.get('hash') ?? ''),
      });
    }

    // 3. Swap the new entries in (all old paths out first, so that exchanged paths stay consistent).
    const changes: Array<{ old?: FileEntry; now?: FileEntry }> = [];
    for (const [id, now] of next) {
      const old = this.view.get(id);
      if (old && this.byPathView.get(old.path)?.id === id) this.byPathView.delete(old.path);
      if (old) this.totalBytes -= old.size;
      if (now) {
        this.view.set(id, now);
        this.totalBytes += now.size;
      } else this.view.delete(id);
      if (old !== now) changes.push({ old, now });
      this.setChunks(id, chunkLists.get(id) ?? []);
    }
    for (const now of next.values()) if (now) this.byPathView.set(now.path, now);

    // 4. Tell, in an order a disk can follow: files leave, then move, then arrive, then change.
    for (const { old, now } of changes) if (old && !now) this.emit('file-removed', old, origin);
    for (const { old, now } of changes) if (old && now && old.path !== now.path) this.emit('file-renamed', now, old.path, origin);
    for (const { old, now } of changes) if (!old && now) this.emit('file-added', now, origin);
    for (const { old, now } of changes) {
      if (old && now && now.kind === 'binary' && old.hash !== now.hash) this.emit('binary-changed', now, origin);
    }

    // 5. Consequences: fetch texts, keep lost binary versions, undo deletes that lost to edits.
    for (const [id, now] of next) {
      this.updateAvailability(id);
      if (!now) continue;
      if (now.kind === 'text' && !this.isTextReady(id)) this.fetcher.want(id, false, source);
      if (now.kind === 'binary') this.keepConflictingVersions(id, this.entries.get(id)!, now.path);
    }
    for (const id of ids) if (this.entries.get(id)?.get('deleted')) this.checkRestore(id);

    const needed = fixes.filter((f) => f.m.get('path') !== f.path);
    if (needed.length) {
      for (const f of needed) this.emit('notice', `${f.original} was created by two people at once; one copy is now ${f.path}`);
      // Idempotent: every peer writes the same path.
      queueMicrotask(() => {
        if (this.closed) return;
        this.index.transact(() => needed.forEach((f) => f.m.get('path') === f.original && f.m.set('path', f.path)), RULES);
      });
    }
    this.checkComplete();
  }

  private setChunks(id: string, chunks: string[]): void {
    for (const h of this.chunksOf.get(id) ?? []) {
      const ids = this.chunkFiles.get(h);
      ids?.delete(id);
      if (ids?.size === 0) this.chunkFiles.delete(h);
    }
    if (chunks.length === 0) {
      this.chunksOf.delete(id);
      return;
    }
    this.chunksOf.set(id, chunks);
    for (const h of chunks) {
      let ids = this.chunkFiles.get(h);
      if (!ids) this.chunkFiles.set(h, (ids = new Set()));
      ids.add(id);
    }
  }

  /** Counts a file's content as here or not, for progress(). */
  private updateAvailability(id: string): void {
    const entry = this.view.get(id);
    const here =
      entry !== undefined &&
      (entry.kind === 'text' ? this.isTextReady(id) : this.binaryHere.get(id) === entry.hash);
    const before = this.available.get(id);
    if (before !== undefined) {
      this.availableBytes -= before;
      this.available.delete(id);
    }
    if (here) {
      this.available.set(id, entry.size);
      this.availableBytes += entry.size;
    }
    if (before === undefined && here) this.emit('progress', this.progress());
    this.checkComplete();
  }

  private checkComplete(): void {
    if (this.completeWaiters.length === 0 || !this.progress().complete) return;
    for (const w of this.completeWaiters.splice(0)) w();
  }

  private currentVersion(id: string, m = this.entries.get(id)): Version | undefined {
    const versions = m?.get('versions');
    if (!(versions instanceof Y.Array) || versions.length === 0) return undefined;
    const v: unknown = versions.get(versions.length - 1);
    return isVersion(v) ? v : undefined;
  }

  /** Concurrent replacements of one binary: every version that lost is kept as a conflict copy. */
  private keepConflictingVersions(id: string, m: Y.Map<unknown>, path: string): void {
    const array = m.get('versions');
    if (!(array instanceof Y.Array) || array.length < 2) return;
    // Versions are peer data: anything malformed is ignored, never trusted.
    const versions = (array.toArray() as unknown[]).filter(isVersion);
    const winner = versions[versions.length - 1];
    if (!winner) return;
    for (const v of versions.slice(0, -1)) {
      if (v.base !== winner.base || v.hash === winner.hash) continue;
      const copyId = contentHash(Buffer.from(id + v.hash)).slice(0, 32);
      if (this.entries.has(copyId)) continue;
      const copyPath = conflictPath(path, v.hash.slice(0, 6));
      if (!isSafeRelativePath(copyPath)) continue;
      queueMicrotask(() => {
        if (this.entries.has(copyId)) return;
        this.index.transact(() => {
          const copy = entryMap({ path: copyPath, kind: 'binary', size: v.size, hash: v.hash });
          const vs = new Y.Array<Version>();
          vs.push([{ ...v, base: null }]);
          copy.set('versions', vs);
          this.entries.set(copyId, copy);
        }, RULES);
        this.emit('notice', `${path} was replaced by two people at once; the other version is kept as ${copyPath}`);
      });
    }
  }

  /** Edits the deleter had not seen bring a deleted file back. */
  private checkRestore(id: string): void {
    const m = this.entries.get(id);
    const seen = m?.get('deleted');
    if (!m || typeof seen !== 'string' || seen === '*') return;
    let newer = false;
    if (m.get('kind') === 'text') {
      const t = this.texts.get(id);
      if (!t) return;
      const seenSV = Y.decodeStateVector(Buffer.from(seen, 'base64'));
      for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(t.doc))) {
        if (clock > (seenSV.get(client) ?? 0)) newer = true;
      }
    } else {
      newer = ((m.get('versions') as Y.Array<Version> | undefined)?.length ?? 0) > Number(seen);
    }
    if (!newer) return;
    queueMicrotask(() => {
      if (!m.get('deleted')) return;
      this.index.transact(() => m.delete('deleted'), RULES);
      this.emit('notice', `${String(m.get('path'))} was deleted while someone edited it; it was restored with their edits`);
    });
  }

  private assertFreePath(path: string): string {
    const p = validateRelativePath(path);
    if (this.byPathView.has(p)) throw new Error(`${p} already exists in the shared workspace`);
    return p;
  }
}

function entryMap(fields: { path: string; kind: FileKind; size: number; hash: string }): Y.Map<unknown> {
  const m = new Y.Map<unknown>();
  for (const [k, v] of Object.entries(fields)) m.set(k, v);
  return m;
}

function isVersion(v: unknown): v is Version {
  if (typeof v !== 'object' || v === null) return false;
  const x = v as Partial<Record<keyof Version, unknown>>;
  return (
    isHash(x.hash) &&
    typeof x.size === 'number' &&
    Number.isSafeInteger(x.size) &&
    x.size >= 0 &&
    Array.isArray(x.chunks) &&
    x.chunks.every(isHash) &&
    (x.base === null || isHash(x.base))
  );
}

function smallest(ids: Set<string>): string {
  let min: string | undefined;
  for (const id of ids) if (min === undefined || id < min) min = id;
  return min!;
}

function newId(): string {
  return randomBytes(16).toString('hex');
}

export function originOf(origin: unknown): ChangeOrigin {
  if (origin === 'disk' || origin === 'editor') return origin;
  if (origin instanceof Y.UndoManager) return 'editor';
  return 'remote';
}
