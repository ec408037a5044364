/**
 * Everything the workspace sends: sync steps, updates and awareness, in order, split into parts when
 * large (§6), forwarded only where needed (links.ts). Text changes wait until the end of the current
 * task (or until any other message is sent, to keep the order): a burst of transactions then costs
 * one update, one frame and one remote transaction instead of one each.
 */
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import type { PeerTransport } from '../session/transport';
import { ChangeBatch, changedAnything } from './batch';
import type { PeerLinks } from './links';
import { encodeAwareness, frames, syncEncoder } from './protocol';
import { endOfTask, OnceSoon } from '../session/once-soon';

export const STEP1 = 0;
export const STEP2 = 1;
export const UPDATE = 2;

/** A Yjs state vector that has seen nothing: a step 2 against it is the whole document. */
export const EMPTY_STATE_VECTOR = Uint8Array.of(0);

/** Transaction origin of updates that came from a peer. */
export class RemoteOrigin {
  constructor(readonly peerId: string) {}
}

/** Changes to one text document not yet sent, and where they came from. */
interface Outgoing {
  batch: ChangeBatch;
  /** The one peer every change came from (not sent back to it); null: from here or from several. */
  from: string | null;
}

export class Outbox {
  /** In the order the documents first changed. */
  private readonly outgoing = new Map<string, Outgoing>();
  /** Text changes of one task go out as one update per document, at its end. */
  private readonly flushSoon = new OnceSoon(() => this.flush(), endOfTask);
  private closed = false;

  constructor(
    private readonly transport: PeerTransport,
    private readonly links: PeerLinks,
  ) {}

  step1(peerId: string, name: string, doc: Y.Doc): void {
    const e = syncEncoder(name);
    encoding.writeVarUint(e, STEP1);
    encoding.writeVarUint8Array(e, Y.encodeStateVector(doc));
    this.send(peerId, encoding.toUint8Array(e));
  }

  step2(peerId: string, name: string, doc: Y.Doc, sv: Uint8Array): void {
    this.syncTo(peerId, name, STEP2, Y.encodeStateAsUpdate(doc, sv));
  }

  /** One sync message (a step 2 or an update) to one member. */
  syncTo(peerId: string, name: string, kind: typeof STEP2 | typeof UPDATE, update: Uint8Array): void {
    const e = syncEncoder(name);
    encoding.writeVarUint(e, kind);
    encoding.writeVarUint8Array(e, update);
    this.send(peerId, encoding.toUint8Array(e));
  }

  /** A new text goes whole to every member, instead of as the changes waiting for it. */
  sendWhole(name: string, doc: Y.Doc): void {
    this.outgoing.delete(name);
    for (const p of this.transport.peers()) this.step2(p.id, name, doc, EMPTY_STATE_VECTOR);
  }

  /** An awareness update to every member that needs it (`from`: the peer it came from). */
  awareness(update: Uint8Array, from: string | undefined): void {
    this.forward(encodeAwareness(update), from);
  }

  awarenessTo(peerId: string, update: Uint8Array): void {
    this.send(peerId, encodeAwareness(update));
  }

  /** A change to a document, to every member but the one it came from and those linked to it. */
  update(name: string, update: Uint8Array, from: string | undefined): void {
    const e = syncEncoder(name);
    encoding.writeVarUint(e, UPDATE);
    encoding.writeVarUint8Array(e, update);
    this.forward(encoding.toUint8Array(e), from);
  }

  /** Queues a text document's transaction, to be sent with the others of this task. */
  queue(name: string, tx: Y.Transaction): void {
    if (this.closed || !changedAnything(tx)) return;
    const from = tx.origin instanceof RemoteOrigin ? tx.origin.peerId : null;
    const pending = this.outgoing.get(name);
    if (pending) {
      pending.batch.add(tx);
      if (pending.from !== from) pending.from = null;
    } else {
      this.outgoing.set(name, { batch: new ChangeBatch(tx.doc, tx), from });
    }
    this.flushSoon.request();
  }

  /** Sends the changes still waiting (a peer that leaves right after typing keeps its last edit). */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
  }

  /** Sends one message, in parts when too large for one frame; the text changes waiting go first. */
  private send(peerId: string, message: Uint8Array): void {
    if (this.closed) return;
    if (this.outgoing.size) this.flush();
    for (const frame of frames(message)) this.transport.send(peerId, frame);
  }

  private forward(message: Uint8Array, from: string | undefined): void {
    if (this.closed) return;
    for (const p of this.transport.peers()) if (p.id !== from && !this.links.covers(from, p.id)) this.send(p.id, message);
  }

  /** Sends every waiting text change: one update per document. */
  private flush(): void {
    if (this.outgoing.size === 0) return;
    const pending = [...this.outgoing];
    this.outgoing.clear();
    if (this.closed) return;
    const peers = this.transport.peers();
    for (const [name, { batch, from }] of pending) {
      // Changes from the only peer there is go nowhere: do not even encode them.
      if (!peers.some((p) => p.id !== from)) continue;
      const update = batch.encode();
      if (update) this.update(name, update, from ?? undefined);
    }
  }
}
