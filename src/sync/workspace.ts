/**
 * The shared workspace: an index document (file id → path, kind, versions) and one Yjs text document
 * per text file, kept in sync with every peer over a PeerTransport, plus awareness and binary chunks.
 * Editor- and disk-agnostic: the mirror and the VS Code glue are adapters over it.
 *
 * A facade over collaborators that each own their state: the text documents (texts.ts), what is sent
 * (outbox.ts) and received (receiver.ts), who is linked to whom (links.ts), fetching texts
 * (fetcher.ts; heard from the transport with the receiver and the sync protocol in text-sync.ts) and
 * chunks (blobs.ts), the index's checks (index-guard.ts), the file view and what follows a change of
 * the index (file-view.ts, index-follower.ts), what this peer writes into the index
 * (local-changes.ts), progress (progress.ts, availability.ts) and the conflict rules every peer
 * applies (rules.ts).
 */
import { randomBytes } from 'node:crypto';
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import { TypedEmitter } from '../session/events';
import type { Logger } from '../session/log';
import { silentLogger } from '../session/log';
import type { PeerTransport } from '../session/transport';
import { type ChangeOrigin, type FileEntry, type SyncProgress, type Workspace, type WorkspaceEvents } from './api';
export type { SyncProgress } from './api';
import { BinaryFiles } from './binaries';
import { BlobStore, type ChunkedContent, type ChunkReader } from './blobs';
import type { DocSync } from './doc-sync';
import { Availability } from './availability';
import { FileView } from './file-view';
import { DEFAULT_CAPS, IndexGuard, type WorkspaceCaps } from './index-guard';
import { IndexFollower } from './index-follower';
import { PeerLinks } from './links';
import { Outbox } from './outbox';
import { LocalChanges } from './local-changes';
import { ProgressTracker } from './progress';
import { originOf } from './view-changes';
export { originOf } from './view-changes';
import { INDEX_DOC } from './protocol';
import { ConflictRules } from './rules';
import { ownClientId } from './text-base';
import type { BaseFile } from './index-bases';
import type { LocalTexts } from './own-bases';
import { FirstStates } from './first-states';
import type { TextLoader, TextSource } from './text-loader';
import { TextSync } from './text-sync';
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
  /** A joiner into a folder with files: those files, to build the index's bases from (own-bases.ts). */
  localTexts?: Promise<LocalTexts>;
}

export class SharedWorkspace extends TypedEmitter<WorkspaceEvents> implements Workspace {
  readonly index: Y.Doc;
  readonly awareness: awarenessProtocol.Awareness;
  readonly blobs: BlobStore;
  private readonly texts: TextDocs;
  private readonly view: FileView;
  private readonly tracker: ProgressTracker;
  private readonly guard: IndexGuard;
  private readonly links: PeerLinks;
  private readonly transport: PeerTransport;
  private readonly outbox: Outbox;
  private readonly binaries: BinaryFiles;
  /** Texts nobody edited, written from their bytes: fetched from members in batches, and served to them. */
  private readonly firstStates: FirstStates;
  private readonly local: LocalChanges;
  /** The receiver, the loader and the sync protocol, hearing the transport (text-sync.ts). */
  private readonly textSync: TextSync;
  private readonly loader: TextLoader;
  private readonly sync: DocSync;
  /** Keeps the view with the index and acts on what changed (index-follower.ts). */
  private readonly follower: IndexFollower;
  private closed = false;
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
    const { transport } = options;
    this.transport = transport;
    const logger = options.logger ?? silentLogger;
    const caps = { ...DEFAULT_CAPS, ...options.caps };
    this.clientID = options.clientID ?? ownClientId(randomBytes(4).readUInt32LE(0));
    const index = (this.index = this.newDoc(INDEX_DOC));
    const entries = index.getMap<Y.Map<unknown>>('files');
    this.awareness = new awarenessProtocol.Awareness(index);
    this.blobs = new BlobStore(transport, logger);
    this.guard = new IndexGuard(index, caps);
    this.links = new PeerLinks(this.awareness, transport);
    this.outbox = new Outbox(transport, this.links);
    this.view = new FileView(entries, logger);
    this.texts = new TextDocs({
      newDoc: (name) => this.newDoc(name),
      transaction: (id, tx) => this.outbox.queue(id, tx),
      changed: (id, tx) => {
        this.local.markEdited(id, tx.origin);
        const entry = this.view.byId(id);
        if (entry) this.emit('text-changed', entry, originOf(tx.origin), tx.beforeState);
        rules.checkRestore(id);
      },
    });
    // What the collaborators below are made over: each takes the ones its parts name.
    const parts = {
      transport, logger, index, entries, awareness: this.awareness, blobs: this.blobs, guard: this.guard,
      links: this.links, outbox: this.outbox, view: this.view, texts: this.texts,
      isClosed: () => this.closed,
      indexReady: () => this.sync.indexReady,
      /** A file's content became available here. */
      arrived: (id: string) => availability.update(id),
      /** No member could send a file's content. */
      unavailable: (id: string) => availability.report(id),
    };
    this.binaries = new BinaryFiles({
      ...parts,
      shownHash: (id) => {
        const e = this.view.byId(id);
        return e?.kind === 'binary' ? e.hash : undefined;
      },
    });
    this.tracker = new ProgressTracker({ indexReady: () => parts.indexReady() && !this.follower.catchingUp, fileCount: () => this.view.size }, (p) => this.emit('progress', p));
    const availability = new Availability({
      byId: (id) => this.view.byId(id),
      textReady: (id) => this.texts.isReady(id),
      binaryHeld: (id, hash) => this.binaries.holds(id, hash),
      tracker: this.tracker,
      logger,
      unavailable: (entry) => this.emit('unavailable', entry),
    });
    const rules = new ConflictRules({ ...parts, textDoc: (id) => this.texts.get(id)?.doc, notice: (message) => this.emit('notice', message) });
    this.firstStates = new FirstStates({ ...parts, loader: () => this.loader });
    this.textSync = new TextSync({
      ...parts,
      caps,
      mode: options.mode,
      docRequestTimeoutMs: options.docRequestTimeoutMs ?? 10_000,
      localTexts: options.localTexts,
      pathOf: (id) => this.view.byId(id)?.path ?? id,
      indexArrived: (from) => this.follower.catchUp(entries.keys(), 'remote', from),
      textBytes: this.firstStates,
      peerJoined: (peerId) => this.firstStates.peerJoined(peerId),
      peerLeft: (peerId) => this.firstStates.peerLeft(peerId),
    });
    ({ loader: this.loader, sync: this.sync } = this.textSync);
    this.local = new LocalChanges({
      ...parts,
      textReady: (id) => this.loader.markReady(id),
      sendWhole: (id, doc) => this.outbox.sendWhole(id, doc),
    });
    this.follower = new IndexFollower({
      ...parts,
      tracker: this.tracker,
      send: (update, from) => this.outbox.update(INDEX_DOC, update, from),
      emit: (event, ...args) => this.emit(event, ...args),
      availability,
      leftToWriter: (id) => this.firstStates.leftToWriter(id),
      fetchText: (id, from) => void this.loader.buildOrFetch(id, false, from),
      askEdits: (peerId, id, doc) => this.outbox.step1(peerId, id, doc),
      markEdited: (id) => this.local.markEdited(id, 'editor'),
      rules,
      binaries: this.binaries,
      preferChunks: (chunks, peerId) => this.blobs.prefer(chunks, peerId),
    });
    this.textSync.start();
  }

  // ---------------------------------------------------------------- reading

  files(): FileEntry[] {
    return this.view.files();
  }

  byPath(path: string): FileEntry | undefined {
    return this.view.byPath(path);
  }

  /** Whether any file of the session lies inside the folder `folder` (at any depth). */
  hasFilesIn(folder: string): boolean {
    return this.view.hasFilesIn(folder);
  }

  byId(id: string): FileEntry | undefined {
    return this.view.byId(id);
  }

  /** Resolves once the index is known (at once for the peer that shares). */
  whenIndexReady(): Promise<void> {
    return this.sync.whenIndexReady().then(() => this.follower.whenCaughtUp());
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

  /** Like loadedText(), but a text nobody edited is built from this peer's own copy first (asks nobody). */
  textHere(id: string): Promise<Y.Text | undefined> {
    return this.loader.buildHere(id);
  }

  /** Whether any member is connected now (someone who may send what this peer lacks). */
  hasMembers(): boolean {
    return this.transport.peers().length > 0;
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

  /**
   * Texts held as bytes, made as one index base (index-bases.ts, version 4) that a joiner with the
   * same files builds itself; undefined (nothing made) when the index can take no further base there.
   */
  createLazyTextsAsBase(files: readonly BaseFile[], origin: ChangeOrigin): FileEntry[] | undefined {
    return this.local.createBase(files, origin);
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
    this.follower.dispose();
    this.firstStates.close();
    this.textSync.dispose();
    this.awareness.destroy();
    this.outbox.close();
    this.links.close();
    this.blobs.close();
    this.guard.destroy();
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
}
