/**
 * What carries documents between peers, one for a SharedWorkspace: the receiver of messages
 * (receiver.ts), the loader of texts (text-loader.ts, asking with fetcher.ts) and the sync protocol
 * (doc-sync.ts). They need each other (the receiver hands step 1s and updates to the sync, which
 * wakes the loader), so they are made together here, each over the parts it uses; and they hear the
 * transport together (members joining and leaving, messages), through listeners this object owns.
 */
import type * as Y from 'yjs';
import { Disposable, toDisposable } from '../session/disposable';
import type { Logger } from '../session/log';
import type { PeerInfo } from '../session/transport';
import { DocSync, type DocSyncParts } from './doc-sync';
import type { WorkspaceCaps } from './index-guard';
import { INDEX_DOC } from './protocol';
import { Receiver, type TextBytesHandler } from './receiver';
import { TextLoader } from './text-loader';

export interface TextSyncParts extends Pick<DocSyncParts, 'transport' | 'index' | 'awareness' | 'guard' | 'texts' | 'outbox' | 'links' | 'blobs' | 'indexArrived' | 'localTexts'> {
  logger: Logger;
  entries: Y.Map<Y.Map<unknown>>;
  caps: WorkspaceCaps;
  mode: 'share' | 'join';
  docRequestTimeoutMs: number;
  isClosed(): boolean;
  pathOf(id: string): string;
  /** A file's content became available here. */
  arrived(id: string): void;
  /** No member could send a file's content. */
  unavailable(id: string): void;
  /** Texts' first-state bytes asked for and answered in batches (text-bytes.ts, text-serve.ts). */
  textBytes: TextBytesHandler;
  /** A member joined or left (told after the sync protocol heard it). */
  peerJoined(peerId: string): void;
  peerLeft(peerId: string): void;
}

export class TextSync extends Disposable {
  readonly receiver: Receiver;
  readonly loader: TextLoader;
  readonly sync: DocSync;

  constructor(private readonly p: TextSyncParts) {
    super();
    const loader = new TextLoader(
      {
        transport: p.transport,
        logger: p.logger,
        texts: p.texts,
        outbox: p.outbox,
        isClosed: p.isClosed,
        pathOf: p.pathOf,
        arrived: p.arrived,
        unavailable: p.unavailable,
        // A text's first state is built from bytes of this hash; `edited` says whether more must come.
        base: (id) => {
          const m = p.entries.get(id);
          const hash = m?.get('hash');
          const kind = m?.get('kind');
          return (kind === 'text' || kind === 'notebook') && typeof hash === 'string' ? { hash, edited: m!.get('edited') === true, notebook: kind === 'notebook' } : undefined;
        },
      },
      p.docRequestTimeoutMs,
    );
    const receiver = new Receiver(p.transport, p.logger, p.awareness, p.links, p.blobs, {
      admits: (name) => name === INDEX_DOC || p.entries.has(name) || p.texts.has(name) || p.texts.size < p.caps.maxFiles,
      step1: (peer, name, sv) => sync.step1(peer, name, sv),
      apply: (peer, name, update, complete) => sync.apply(peer, name, update, complete),
      basesGet: (peer) => sync.basesGet(peer),
      bases: (peer, bases) => sync.bases(peer, bases),
    }, p.textBytes);
    const sync: DocSync = new DocSync(
      {
        transport: p.transport,
        index: p.index,
        awareness: p.awareness,
        guard: p.guard,
        texts: p.texts,
        outbox: p.outbox,
        links: p.links,
        blobs: p.blobs,
        fetcher: loader.fetcher,
        receiver,
        indexArrived: p.indexArrived,
        textArrived: (id) => loader.markReady(id),
        build: (id) => void loader.buildOrFetch(id),
        entryEdited: (id) => p.entries.get(id)?.get('edited') === true,
        localTexts: p.localTexts,
        logger: p.logger,
      },
      p.mode === 'share',
    );
    this.receiver = receiver;
    this.loader = loader;
    this.sync = sync;
  }

  /** Hears the transport from now on, and greets the members already here (once the workspace is built). */
  start(): void {
    const { transport } = this.p;
    const onJoin = (peer: PeerInfo) => {
      this.sync.peerJoined(peer);
      this.p.peerJoined(peer.id);
    };
    const onLeave = (peer: PeerInfo) => {
      this.sync.peerLeft(peer);
      this.p.peerLeft(peer.id);
    };
    // A connection replaced under a member may have lost messages both ways: asked again, as after
    // a leave and a join (the other side may well have seen just that).
    const onRenew = (peer: PeerInfo) => {
      onLeave(peer);
      onJoin(peer);
    };
    const onMessage = (peer: PeerInfo, data: Uint8Array) => !this.p.isClosed() && this.receiver.receive(peer, data);
    transport.on('peer-join', onJoin).on('peer-leave', onLeave).on('peer-renewed', onRenew).on('message', onMessage);
    this.register(toDisposable(() => transport.off('peer-join', onJoin).off('peer-leave', onLeave).off('peer-renewed', onRenew).off('message', onMessage)));
    for (const peer of transport.peers()) onJoin(peer);
  }

  /** Stops hearing the transport, then closes the sync protocol, the receiver and the loader. */
  override dispose(): void {
    if (this.disposed) return;
    super.dispose();
    this.sync.close();
    this.receiver.close();
    this.loader.close();
  }
}
