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
import type { ChangeOrigin, FileEntry, FileKind, Workspace, WorkspaceEvents } from './api';
import { BlobStore, chunk, type ChunkedContent, type ChunkReader } from './blobs';
import { MAX_TEXT_BYTES } from './classify';
import { contentHash, isHash } from './hash';
import { conflictPath, isSafeRelativePath, validateRelativePath } from './paths';
import {
  INDEX_DOC,
  MessageType,
  ProtocolError,
  decodeMessage,
  encodeAwareness,
  syncEncoder,
  type Message,
} from './protocol';
import { diffEdits } from './textdiff';

const STEP1 = 0;
const STEP2 = 1;
const UPDATE = 2;

export interface WorkspaceCaps {
  maxFiles: number;
  maxFileBytes: number;
  maxTotalBytes: number;
}

export const DEFAULT_CAPS: WorkspaceCaps = {
  maxFiles: 50_000,
  maxFileBytes: 512 * 1024 * 1024,
  maxTotalBytes: 8 * 1024 * 1024 * 1024,
};

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
  /** Holds the whole document: created here, or a peer that had it answered our step 1. */
  ready: boolean;
  waiters: Array<() => void>;
  /** Peers that asked for it before it was ready here. */
  wantedBy: Map<string, Uint8Array>;
  requestedFrom?: string;
  requestTimer?: NodeJS.Timeout;
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
  private view = new Map<string, FileEntry>();
  private byPathView = new Map<string, FileEntry>();
  private indexReady: boolean;
  private readonly indexWaiters: Array<() => void> = [];
  /** Peers that asked for the index before this peer had it. */
  private readonly indexWantedBy = new Map<string, Uint8Array>();
  private readonly transport: PeerTransport;
  private readonly logger: Logger;
  private readonly caps: WorkspaceCaps;
  private readonly fetchQueue: string[] = [];
  private readonly priority = new Set<string>();
  private fetching = 0;
  private closed = false;
  private readonly peerClients = new Map<string, Set<number>>();
  private readonly detach: Array<() => void> = [];

  constructor(private readonly options: WorkspaceOptions) {
    super();
    this.transport = options.transport;
    this.logger = options.logger ?? silentLogger;
    this.caps = { ...DEFAULT_CAPS, ...options.caps };
    this.index = this.newDoc();
    this.entries = this.index.getMap('files');
    this.indexReady = options.mode === 'share';
    this.awareness = new awarenessProtocol.Awareness(this.index);
    this.blobs = new BlobStore(this.transport, this.logger);

    this.index.on('update', (update: Uint8Array, origin: unknown) => this.broadcastUpdate(INDEX_DOC, update, origin));
    this.index.on('afterTransaction', (tx: Y.Transaction) => {
      if (tx.changed.size > 0 || tx.changedParentTypes.size > 0) this.refreshView(originOf(tx.origin));
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

  get isIndexReady(): boolean {
    return this.indexReady;
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
    this.priority.add(id);
    this.enqueueFetch(id, true);
    return new Promise((resolve) => t.waiters.push(() => resolve(t.doc.getText('content'))));
  }

  async binary(id: string): Promise<Uint8Array> {
    const v = this.currentVersion(id);
    if (!v) throw new Error(`no binary content for ${id}`);
    return this.blobs.assemble(v);
  }

  /** The chunk hashes of a binary file's current content (the mirror serves them from disk). */
  content(id: string): ChunkedContent | undefined {
    return this.currentVersion(id);
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
    this.index.transact(() => {
      const m = entryMap({ path: p, kind: 'binary', size: info.size, hash: info.hash });
      const versions = new Y.Array<Version>();
      versions.push([{ ...info, base: null }]);
      m.set('versions', versions);
      this.entries.set(id, m);
    }, origin);
    return this.view.get(id)!;
  }

  updateText(id: string, content: string, origin: ChangeOrigin): void {
    const ytext = this.loadedText(id);
    if (!ytext) throw new Error(`text of ${this.byId(id)?.path ?? id} is not loaded`);
    const edits = diffEdits(ytext.toString(), content);
    if (edits.length === 0) return;
    ytext.doc!.transact(() => {
      for (const e of [...edits].sort((a, b) => b.offset - a.offset)) {
        if (e.deleteCount) ytext.delete(e.offset, e.deleteCount);
        if (e.insert) ytext.insert(e.offset, e.insert);
      }
    }, origin);
    if (origin === 'disk') {
      const bytes = Buffer.from(content, 'utf8');
      this.index.transact(() => {
        const m = this.entries.get(id);
        m?.set('size', bytes.byteLength);
        m?.set('hash', contentHash(bytes));
      }, origin);
    }
  }

  updateBinary(id: string, content: Uint8Array, origin: ChangeOrigin): void {
    const m = this.entries.get(id);
    const current = this.currentVersion(id);
    if (!m || !current) throw new Error(`no binary file ${id}`);
    const { info, parts } = chunk(content);
    if (info.hash === current.hash) return;
    this.blobs.remember(parts);
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
    for (const t of this.texts.values()) {
      clearTimeout(t.requestTimer);
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

  private newDoc(): Y.Doc {
    const doc = new Y.Doc({ gc: true });
    if (this.options.clientID !== undefined) doc.clientID = this.options.clientID;
    return doc;
  }

  private textState(id: string): TextState {
    let t = this.texts.get(id);
    if (t) return t;
    const doc = this.newDoc();
    t = { doc, ready: false, waiters: [], wantedBy: new Map() };
    this.texts.set(id, t);
    doc.on('update', (update: Uint8Array, origin: unknown) => this.broadcastUpdate(id, update, origin));
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
    clearTimeout(t.requestTimer);
    t.requestedFrom = undefined;
    for (const w of t.waiters.splice(0)) w();
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

  private enqueueFetch(id: string, front = false): void {
    const t = this.textState(id);
    if (t.ready || t.requestedFrom) return;
    const at = this.fetchQueue.indexOf(id);
    if (at >= 0) {
      if (!front) return;
      this.fetchQueue.splice(at, 1);
    }
    if (front) this.fetchQueue.unshift(id);
    else this.fetchQueue.push(id);
    this.pumpFetch();
  }

  /** Asks peers for documents we lack, open files first, a bounded number at a time. */
  private pumpFetch(): void {
    const peers = this.transport.peers();
    if (peers.length === 0 || this.closed) return;
    while (this.fetching < 16 && this.fetchQueue.length) {
      const id = this.fetchQueue.shift()!;
      const t = this.textState(id);
      if (t.ready || t.requestedFrom) continue;
      const peer = peers[Math.floor(Math.random() * peers.length)].id;
      t.requestedFrom = peer;
      this.fetching++;
      this.sendStep1(peer, id, t.doc);
      t.requestTimer = setTimeout(() => {
        // That peer did not answer in time (it may not have the document): ask again.
        t.requestedFrom = undefined;
        this.fetching--;
        this.enqueueFetch(id, this.priority.has(id));
      }, this.options.docRequestTimeoutMs ?? 10_000);
    }
  }

  private fetchDone(id: string): void {
    const t = this.texts.get(id);
    if (t?.requestedFrom) this.fetching--;
    this.pumpFetch();
  }

  // ---------------------------------------------------------------- wire

  private onPeerJoin(peer: PeerInfo): void {
    this.sendStep1(peer.id, INDEX_DOC, this.index);
    for (const [id, t] of this.texts) if (t.ready) this.sendStep1(peer.id, id, t.doc);
    const states = [...this.awareness.getStates().keys()];
    if (states.length) this.transport.send(peer.id, encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, states)));
    this.blobs.peerJoined();
    this.pumpFetch();
  }

  private onPeerLeave(peer: PeerInfo): void {
    this.blobs.peerLeft(peer.id);
    this.indexWantedBy.delete(peer.id);
    for (const [id, t] of this.texts) {
      t.wantedBy.delete(peer.id);
      if (t.requestedFrom === peer.id) {
        clearTimeout(t.requestTimer);
        t.requestedFrom = undefined;
        this.fetching--;
        this.enqueueFetch(id, this.priority.has(id));
      }
    }
    const gone = [...this.awareness.getStates()]
      .filter(([, s]) => (s as { user?: { id?: string } }).user?.id === peer.id)
      .map(([client]) => client);
    if (gone.length) awarenessProtocol.removeAwarenessStates(this.awareness, gone, new RemoteOrigin(peer.id));
    this.peerClients.delete(peer.id);
  }

  private onMessage(peer: PeerInfo, data: Uint8Array): void {
    if (this.closed) return;
    let message: Message;
    try {
      message = decodeMessage(data);
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
        awarenessProtocol.applyAwarenessUpdate(this.awareness, m.update, new RemoteOrigin(peer.id));
        return;
      case MessageType.BlobGet:
        return this.blobs.serve(peer.id, m.hash);
      case MessageType.BlobData:
        if (!this.blobs.receive(peer.id, m.hash, m.data)) throw new ProtocolError('sent a chunk that was not asked for or does not match its hash');
        return;
      case MessageType.BlobMissing:
        return this.blobs.missing(peer.id, m.hash);
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
        else this.textState(name).wantedBy.set(peer.id, sv);
        return;
      }
      this.sendStep2(peer.id, name, this.doc(name), sv);
      return;
    }
    if (kind !== STEP2 && kind !== UPDATE) throw new ProtocolError(`unknown sync message ${kind}`);
    const update = decoding.readVarUint8Array(d);
    const origin = new RemoteOrigin(peer.id);
    if (name === INDEX_DOC) {
      this.checkIndexUpdate(update);
      Y.applyUpdate(this.index, update, origin);
      if (kind === STEP2 && !this.indexReady) {
        this.indexReady = true;
        this.refreshView('remote');
        for (const w of this.indexWaiters.splice(0)) w();
        for (const [p, sv] of this.indexWantedBy) this.sendStep2(p, INDEX_DOC, this.index, sv);
        this.indexWantedBy.clear();
      }
      return;
    }
    const t = this.textState(name);
    Y.applyUpdate(t.doc, update, origin);
    if (t.doc.getText('content').length > MAX_TEXT_BYTES) {
      throw new ProtocolError(`text document over ${MAX_TEXT_BYTES} characters`);
    }
    if (kind === STEP2 && !t.ready) {
      this.fetchDone(name);
      this.markReady(name);
    }
  }

  /**
   * Applies an index update to a copy first: a peer that would introduce an unsafe path or exceed the
   * caps is refused before anything reaches this peer's index (and so its disk).
   */
  private checkIndexUpdate(update: Uint8Array): void {
    const probe = new Y.Doc();
    try {
      Y.applyUpdate(probe, Y.encodeStateAsUpdate(this.index));
      Y.applyUpdate(probe, update);
      const files = probe.getMap<Y.Map<unknown>>('files');
      if (files.size > this.caps.maxFiles) throw new ProtocolError(`index lists ${files.size} files (max ${this.caps.maxFiles})`);
      let total = 0;
      files.forEach((m, id) => {
        if (!/^[0-9a-f]{32}$/.test(id) || !(m instanceof Y.Map)) throw new ProtocolError('malformed index entry');
        const path = m.get('path');
        if (typeof path !== 'string' || !isSafeRelativePath(path)) {
          throw new ProtocolError(`unsafe path ${JSON.stringify(String(path).slice(0, 100))} in the index`);
        }
        const size = m.get('size');
        if (typeof size !== 'number' || size < 0 || size > this.caps.maxFileBytes) {
          throw new ProtocolError(`file ${JSON.stringify(path)} of ${String(size)} bytes is over the size cap`);
        }
        if (m.get('kind') !== 'text' && m.get('kind') !== 'binary') throw new ProtocolError('bad file kind');
        if (!m.get('deleted')) total += size;
      });
      if (total > this.caps.maxTotalBytes) throw new ProtocolError(`workspace of ${total} bytes is over the total cap`);
    } finally {
      probe.destroy();
    }
  }

  private sendStep1(peerId: string, name: string, doc: Y.Doc): void {
    const e = syncEncoder(name);
    encoding.writeVarUint(e, STEP1);
    encoding.writeVarUint8Array(e, Y.encodeStateVector(doc));
    this.transport.send(peerId, encoding.toUint8Array(e));
  }

  private sendStep2(peerId: string, name: string, doc: Y.Doc, sv: Uint8Array): void {
    const e = syncEncoder(name);
    encoding.writeVarUint(e, STEP2);
    encoding.writeVarUint8Array(e, Y.encodeStateAsUpdate(doc, sv));
    this.transport.send(peerId, encoding.toUint8Array(e));
  }

  /** Every change reaches every connected peer but the one it came from; peers forward in turn. */
  private broadcastUpdate(name: string, update: Uint8Array, origin: unknown): void {
    if (this.closed) return;
    const from = origin instanceof RemoteOrigin ? origin.peerId : undefined;
    const e = syncEncoder(name);
    encoding.writeVarUint(e, UPDATE);
    encoding.writeVarUint8Array(e, update);
    const bytes = encoding.toUint8Array(e);
    for (const p of this.transport.peers()) if (p.id !== from) this.transport.send(p.id, bytes);
  }

  private readonly onAwarenessUpdate = (
    changes: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    const clients = [...changes.added, ...changes.updated, ...changes.removed];
    if (clients.length === 0 || this.closed) return;
    const from = origin instanceof RemoteOrigin ? origin.peerId : undefined;
    const bytes = encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, clients));
    for (const p of this.transport.peers()) if (p.id !== from) this.transport.send(p.id, bytes);
  };

  // ---------------------------------------------------------------- the view and its rules

  private refreshView(origin: ChangeOrigin): void {
    if (!this.indexReady) return;
    const live: Array<{ id: string; m: Y.Map<unknown>; path: string }> = [];
    this.entries.forEach((m, id) => {
      const path = m.get('path');
      if (!m.get('deleted') && typeof path === 'string' && isSafeRelativePath(path)) live.push({ id, m, path });
    });
    // Two live files on one path: the smallest id keeps it.
    live.sort((a, b) => (a.id < b.id ? -1 : 1));
    const taken = new Map<string, string>();
    const fixes: Array<{ m: Y.Map<unknown>; path: string }> = [];
    const next = new Map<string, FileEntry>();
    for (const { id, m, path } of live) {
      let p = path;
      if (taken.has(p)) {
        p = conflictPath(path, id.slice(0, 6));
        fixes.push({ m, path: p });
        this.emit('notice', `${path} was created by two people at once; one copy is now ${p}`);
      }
      taken.set(p, id);
      const kind = m.get('kind') as FileKind;
      const v = kind === 'binary' ? this.currentVersion(id, m) : undefined;
      next.set(id, {
        id,
        path: p,
        kind,
        size: v ? v.size : Number(m.get('size') ?? 0),
        hash: v ? v.hash : String(m.get('hash') ?? ''),
      });
      if (kind === 'binary') this.keepConflictingVersions(id, m, p);
      if (kind === 'text' && !this.isTextReady(id)) this.enqueueFetch(id);
    }

    const previous = this.view;
    this.view = next;
    this.byPathView = new Map([...next.values()].map((e) => [e.path, e]));
    for (const [id, e] of next) {
      const old = previous.get(id);
      if (!old) this.emit('file-added', e, origin);
      else {
        if (old.path !== e.path) this.emit('file-renamed', e, old.path, origin);
        if (e.kind === 'binary' && old.hash !== e.hash) this.emit('binary-changed', e, origin);
      }
    }
    for (const [id, e] of previous) if (!next.has(id)) this.emit('file-removed', e, origin);

    if (fixes.length) {
      // Idempotent: every peer writes the same path.
      queueMicrotask(() => this.index.transact(() => fixes.forEach((f) => f.m.get('path') !== f.path && f.m.set('path', f.path)), RULES));
    }
    this.entries.forEach((m, id) => m.get('deleted') && this.checkRestore(id));
  }

  private currentVersion(id: string, m = this.entries.get(id)): Version | undefined {
    const versions = m?.get('versions');
    if (!(versions instanceof Y.Array) || versions.length === 0) return undefined;
    const v = versions.get(versions.length - 1) as Version;
    if (!v || !isHash(v.hash) || !Array.isArray(v.chunks) || !v.chunks.every(isHash)) return undefined;
    return v;
  }

  /** Concurrent replacements of one binary: every version that lost is kept as a conflict copy. */
  private keepConflictingVersions(id: string, m: Y.Map<unknown>, path: string): void {
    const versions = (m.get('versions') as Y.Array<Version>).toArray();
    const winner = versions[versions.length - 1];
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

function newId(): string {
  return randomBytes(16).toString('hex');
}

export function originOf(origin: unknown): ChangeOrigin {
  if (origin === 'disk' || origin === 'editor') return origin;
  if (origin instanceof Y.UndoManager) return 'editor';
  return 'remote';
}
