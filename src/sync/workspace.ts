/**
 * The shared workspace: an index document (file id → path, kind, versions) and one Yjs text document
 * per text file, kept in sync with every peer over a PeerTransport, plus awareness and binary chunks.
 * Editor- and disk-agnostic: the mirror and the VS Code glue are adapters over it.
 *
 * A facade over collaborators that each own their state: the text documents (texts.ts), what is sent
 * (outbox.ts) and received (receiver.ts), who is linked to whom (links.ts), fetching texts
 * (fetcher.ts; wired with the receiver and the sync protocol in text-sync.ts) and chunks (blobs.ts),
 * the index's checks (index-guard.ts), the file view (file-view.ts), what this peer writes into the
 * index (local-changes.ts), progress (progress.ts, availability.ts) and the conflict rules every
 * peer applies (rules.ts).
 */
import { randomBytes } from 'node:crypto';
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import { DisposableStore, toDisposable } from '../session/disposable';
import { TypedEmitter } from '../session/events';
import type { Logger } from '../session/log';
import { silentLogger } from '../session/log';
import type { PeerInfo, PeerTransport } from '../session/transport';
import { hasDocument, type ChangeOrigin, type FileEntry, type SyncProgress, type Workspace, type WorkspaceEvents } from './api';
export type { SyncProgress } from './api';
import { BinaryFiles } from './binaries';
import { BlobStore, type ChunkedContent, type ChunkReader } from './blobs';
import type { DocSync } from './doc-sync';
import { Availability } from './availability';
import { FileView } from './file-view';
import { DEFAULT_CAPS, IndexGuard, collectChangedIds, type WorkspaceCaps } from './index-guard';
import { PeerLinks } from './links';
import { Outbox, RemoteOrigin } from './outbox';
import { LocalChanges } from './local-changes';
import { ProgressTracker } from './progress';
import { announceChanges, originOf } from './view-changes';
export { originOf } from './view-changes';
import { INDEX_DOC } from './protocol';
import type { Receiver } from './receiver';
import { ConflictRules } from './rules';
import { isPristine, ownClientId } from './text-base';
import { FirstStates } from './first-states';
import type { TextLoader, TextSource } from './text-loader';
import { wireTextSync } from './text-sync';
import { TextDocs } from './texts';
import type { NotebookModel } from './notebook/model';
import { NotebookModels } from './notebook/models';
import type { Notebook } from './notebook/ipynb';

export { DEFAULT_CAPS, type WorkspaceCaps } from './index-guard';
export { RemoteOrigin } from './outbox';

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

export class SharedWorkspace extends TypedEmitter<WorkspaceEvents> implements Workspace {
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
  private readonly loader: TextLoader;
  private readonly binaries: BinaryFiles;
  /** Texts nobody edited, written from their bytes: fetched from members in batches, and served to them. */
  private readonly firstStates: FirstStates;
  private readonly availability: Availability;
  private readonly local: LocalChanges;
  private readonly sync: DocSync;
  private readonly transport: PeerTransport;
  private readonly logger: Logger;
  private readonly caps: WorkspaceCaps;
  private closed = false;
  /** Listeners on the transport, removed on close. */
  private readonly subscriptions = new DisposableStore();
  private readonly clientID: number;
  private readonly notebooks = new NotebookModels({
    docOf: (id) => (!this.closed && this.view.byId(id)?.kind === 'notebook' ? this.texts.get(id)?.doc : undefined),
    restored: (id, cell) => {
      const e = this.view.byId(id);
      if (e) this.emit('notice', `A cell of ${e.path} was deleted while someone typed in it; it was brought back with their text (${cell})`);
    },
  });

  constructor(options: WorkspaceOptions) {
    super();
    this.transport = options.transport;
    this.logger = options.logger ?? silentLogger;
    this.caps = { ...DEFAULT_CAPS, ...options.caps };
    this.clientID = options.clientID ?? ownClientId(randomBytes(4).readUInt32LE(0));
    this.index = this.newDoc(INDEX_DOC);
    this.entries = this.index.getMap('files');
    this.awareness = new awarenessProtocol.Awareness(this.index);
    this.blobs = new BlobStore(this.transport, this.logger);
    this.guard = new IndexGuard(this.index, this.caps);
    this.links = new PeerLinks(this.awareness, this.transport);
    this.outbox = new Outbox(this.transport, this.links);
    this.view = new FileView(this.entries, this.logger);
    this.binaries = new BinaryFiles({
      index: this.index,
      entries: this.entries,
      blobs: this.blobs,
      isClosed: () => this.closed,
      shownHash: (id) => {
        const e = this.view.byId(id);
        return e?.kind === 'binary' ? e.hash : undefined;
      },
      arrived: (id) => this.availability.update(id),
      unavailable: (id) => this.availability.report(id),
    });
    this.tracker = new ProgressTracker(
      { indexReady: () => this.sync.indexReady, fileCount: () => this.view.size },
      (p) => this.emit('progress', p),
    );
    this.availability = new Availability({
      byId: (id) => this.view.byId(id),
      textReady: (id) => this.texts.isReady(id),
      binaryHeld: (id, hash) => this.binaries.holds(id, hash),
      tracker: this.tracker,
      logger: this.logger,
      unavailable: (entry) => this.emit('unavailable', entry),
    });
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
        this.local.markEdited(id, tx.origin);
        const entry = this.view.byId(id);
        if (entry) this.emit('text-changed', entry, originOf(tx.origin), tx.beforeState);
        this.rules.checkRestore(id);
      },
    });
    this.firstStates = new FirstStates({
      transport: this.transport,
      entries: this.entries,
      texts: this.texts,
      loader: () => this.loader,
      isClosed: () => this.closed,
      arrived: (id) => this.availability.update(id),
    });
    ({ receiver: this.receiver, loader: this.loader, sync: this.sync } = wireTextSync({
      transport: this.transport,
      logger: this.logger,
      index: this.index,
      entries: this.entries,
      awareness: this.awareness,
      guard: this.guard,
      texts: this.texts,
      outbox: this.outbox,
      links: this.links,
      blobs: this.blobs,
      caps: this.caps,
      mode: options.mode,
      docRequestTimeoutMs: options.docRequestTimeoutMs ?? 10_000,
      isClosed: () => this.closed,
      pathOf: (id) => this.view.byId(id)?.path ?? id,
      arrived: (id) => this.availability.update(id),
      unavailable: (id) => this.availability.report(id),
      indexArrived: (from) => this.refresh(new Set(this.entries.keys()), 'remote', from),
      textBytes: this.firstStates,
    }));

    this.local = new LocalChanges({
      index: this.index,
      entries: this.entries,
      view: this.view,
      texts: this.texts,
      indexReady: () => this.sync.indexReady,
      textReady: (id) => this.loader.markReady(id),
      sendWhole: (id, doc) => this.outbox.sendWhole(id, doc),
    });

    this.index.on('update', (update: Uint8Array, origin: unknown) => {
      // Remote updates reached the guard's shadow when they were checked; our own must too.
      if (!(origin instanceof RemoteOrigin)) this.guard.track(update);
      if (!this.closed) this.outbox.update(INDEX_DOC, update, origin instanceof RemoteOrigin ? origin.peerId : undefined);
    });
    this.index.on('afterTransaction', (tx: Y.Transaction) => {
      if (!this.sync.indexReady || this.closed) return;
      const ids = new Set<string>();
      collectChangedIds(tx, this.entries as Y.Map<unknown>, ids);
      if (ids.size) this.refresh(ids, originOf(tx.origin), tx.origin instanceof RemoteOrigin ? tx.origin.peerId : undefined);
    });

    const onJoin = (peer: PeerInfo) => {
      this.sync.peerJoined(peer);
      this.firstStates.peerJoined(peer.id);
    };
    const onLeave = (peer: PeerInfo) => {
      this.sync.peerLeft(peer);
      this.firstStates.peerLeft(peer.id);
    };
    const onMessage = (peer: PeerInfo, data: Uint8Array) => !this.closed && this.receiver.receive(peer, data);
    this.transport.on('peer-join', onJoin).on('peer-leave', onLeave).on('message', onMessage);
    this.subscriptions.add(toDisposable(() => this.transport.off('peer-join', onJoin).off('peer-leave', onLeave).off('message', onMessage)));
    for (const peer of this.transport.peers()) onJoin(peer);
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
    return this.sync.whenIndexReady();
  }

  loadedText(id: string): Y.Text | undefined {
    return this.texts.loaded(id);
  }

  isTextReady(id: string): boolean {
    return this.texts.isReady(id);
  }

  text(id: string): Promise<Y.Text> {
    return this.loader.text(id);
  }

  /**
   * Like text(), but gives up: undefined once every member was asked and none could send it (the
   * file is then reported, and fetched when someone who has it arrives), or when the workspace closes.
   */
  loadText(id: string): Promise<Y.Text | undefined> {
    return this.loader.load(id);
  }

  /** A notebook's model once its document is complete here (fetched from peers if needed). */
  async notebook(id: string): Promise<NotebookModel> {
    await this.loader.text(id);
    const model = this.notebooks.of(id);
    if (!model) throw new Error(`${this.view.byId(id)?.path ?? id} is not a notebook of this workspace (any more)`);
    return model;
  }

  /** Like notebook(), but undefined once no member could send it (or on close). */
  async loadNotebook(id: string): Promise<NotebookModel | undefined> {
    return (await this.loader.load(id)) ? this.notebooks.of(id) : undefined;
  }

  /** The notebook's model if its document is complete here, else undefined. */
  loadedNotebook(id: string): NotebookModel | undefined {
    return this.texts.loaded(id) ? this.notebooks.of(id) : undefined;
  }

  /** A text's hash while it is still its first state (nobody edited it; first-states.ts), else undefined. */
  firstStateHash(id: string): string | undefined {
    return this.firstStates.hash(id);
  }

  /**
   * A text's first-state bytes, verified: from this peer's own disk (a clone, a rejoin) or from
   * members, many texts per message (§6.2, version 3). Undefined when the text is edited now or no
   * member had them: then its document is what to load (loadText).
   */
  loadTextBytes(id: string): Promise<Uint8Array | undefined> {
    return this.firstStates.load(id);
  }

  /** Texts loadTextBytes is asked for next, in that order: fetched ahead, so the link stays busy while files are written. */
  prefetchTextBytes(ids: readonly string[]): void {
    this.firstStates.prefetch(ids);
  }

  /** First-state bytes that arrived and wait to be written (undefined when not here now). */
  heldTextBytes(id: string): Uint8Array | undefined {
    return this.firstStates.held(id);
  }

  /** The disk mirror wrote a text's first-state bytes: they leave memory, the text is held as bytes. */
  textWritten(id: string, hash: string): void {
    this.firstStates.written(id, hash);
  }

  binary(id: string): Promise<Uint8Array> {
    return this.binaries.fetch(id);
  }

  /**
   * Like binary(), but gives up: undefined once every member was asked for one of its chunks and none
   * had it (the file is then reported, and the fetch goes on when someone joins).
   */
  loadBinary(id: string): Promise<Uint8Array | undefined> {
    return this.binaries.load(id);
  }

  /** Whether a binary file's current content is here (fetched or made here), so binary() asks no one. */
  hasBinary(id: string): boolean {
    return this.binaries.has(id);
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
    return this.binaries.content(id);
  }

  /** Whether a binary file's history has a version with this content hash. */
  hadVersion(id: string, hash: string): boolean {
    return this.binaries.hadVersion(id, hash);
  }

  /** The live binary files whose current content holds a chunk (kept up to date with the view). */
  filesWithChunk(hash: string): FileEntry[] {
    return this.view.filesWithChunk(hash);
  }

  /**
   * Lets the mirror give texts' bytes from the files on disk (checked against the entry's hash): texts
   * then need no document until someone opens or edits them, and documents unused for a while that
   * are still their first state are released (docs/PROTOCOL.md §6.2, version 2). `writesFirstStates`:
   * the caller writes every text nobody edited from its bytes (loadTextBytes, textWritten), so no
   * document is fetched for those (version 3).
   */
  setTextSource(source: TextSource, options: { writesFirstStates?: boolean } = {}): void {
    this.loader.source = source;
    this.firstStates.writer = options.writesFirstStates ?? false;
    this.loader.startReleasing();
  }

  /** Documents held in memory now (for measurements and tests). */
  get textDocuments(): number {
    return this.texts.held().length;
  }

  /** Releases the documents unused since the last call (what the timer does every few seconds). */
  releaseIdleTexts(): number {
    return this.loader.releaseIdle();
  }

  /** Lets the mirror serve chunks from the files on disk. */
  setChunkReader(reader: ChunkReader): void {
    this.blobs.reader = reader;
  }

  // ---------------------------------------------------------------- local changes

  createText(path: string, content: string, origin: ChangeOrigin): FileEntry {
    return this.local.createText(path, content, origin);
  }

  createLazyText(path: string, size: number, hash: string, origin: ChangeOrigin): FileEntry {
    return this.local.createLazyText(path, size, hash, origin);
  }

  /** A new notebook file (version 3): shared cell by cell, sent whole to the members like a new text. */
  createNotebook(path: string, nb: Notebook, size: number, hash: string, origin: ChangeOrigin): FileEntry {
    return this.local.createNotebook(path, nb, size, hash, origin);
  }

  /** A notebook held as bytes here (the file on disk) until someone needs its document (like createLazyText). */
  createLazyNotebook(path: string, size: number, hash: string, origin: ChangeOrigin): FileEntry {
    return this.local.createLazyText(path, size, hash, origin, 'notebook');
  }

  createBinary(path: string, content: Uint8Array, origin: ChangeOrigin): FileEntry {
    return this.view.byId(this.binaries.create(this.local.freePath(path), content, origin))!;
  }

  /** A new version of a binary file; the entry's `size` and `hash` follow its current version. */
  updateBinary(id: string, content: Uint8Array, origin: ChangeOrigin): void {
    this.binaries.update(id, content, origin);
  }

  rename(id: string, newPath: string, origin: ChangeOrigin): void {
    this.local.rename(id, newPath, origin);
  }

  remove(id: string, origin: ChangeOrigin): void {
    this.local.remove(id, origin);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.subscriptions.dispose();
    this.firstStates.close();
    this.sync.close();
    this.awareness.destroy();
    this.outbox.close();
    this.receiver.close();
    this.links.close();
    this.blobs.close();
    this.guard.destroy();
    this.loader.close();
    this.notebooks.dispose();
    this.texts.close();
    this.index.destroy();
    this.removeAllListeners();
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

  // ---------------------------------------------------------------- the view and its consequences

  /** Brings the view up to date for the entries a transaction touched, and tells (§6.4). */
  private refresh(ids: Set<string>, origin: ChangeOrigin, source?: string): void {
    const { next, changes, fixes } = this.view.update(ids);
    this.tracker.viewChanged(changes);

    announceChanges(changes, origin, (event, ...args) => this.emit(event, ...args));

    // Consequences: fetch texts, keep lost binary versions, undo deletes that lost to edits.
    for (const [id, now] of next) {
      this.availability.update(id);
      if (!now) continue;
      // With a disk (the mirror writes every file), a text nobody edited waits for its bytes to be
      // written (loadTextBytes): no document is fetched for it.
      if (hasDocument(now.kind) && !this.texts.isReady(id) && !(now.kind === 'text' && this.firstStates.leftToWriter(id))) {
        void this.loader.buildOrFetch(id, false, source);
      }
      // Edited elsewhere while this peer held the text's first state only: ask for the edits.
      const t = now.kind === 'text' && source ? this.texts.get(id) : undefined;
      if (t?.ready && this.entries.get(id)?.get('edited') === true && isPristine(t.doc)) this.outbox.step1(source!, id, t.doc);
      // Edited here before its entry arrived (a new text's step 2 precedes it): say so now.
      if (hasDocument(now.kind) && this.texts.edited(id)) this.local.markEdited(id, 'editor');
      if (now.kind === 'binary') {
        this.rules.keepConflictingVersions(id, this.entries.get(id)!, now.path);
        // Its chunks are asked of the member that sent this version first (§6.3).
        const chunks = source && !this.binaries.has(id) ? this.binaries.content(id)?.chunks : undefined;
        if (chunks) this.blobs.prefer(chunks, source!);
      }
    }
    for (const id of ids) if (this.entries.get(id)?.get('deleted')) this.rules.checkRestore(id);
    this.rules.fixPaths(fixes);
    this.tracker.check();
  }
}
