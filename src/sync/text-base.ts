/**
 * A text document's deterministic first state (docs/PROTOCOL.md §6.1, version 2): the content the
 * text was created with, inserted in one transaction by the reserved Yjs client id 0 at clock 0.
 * Every peer that builds a text's document from the same bytes therefore makes the identical update,
 * and Yjs merges identical items as one: two peers that materialise the same text at the same time
 * (both opened it, or one opened it while the other edited it on disk) converge without duplicating
 * it, and a peer that holds a text's bytes (its disk, a clone, the bytes fetched by hash) needs
 * nobody's document to start from. Peers never use client id 0 for anything else.
 */
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { FIRST_BASE_CLIENT, MAX_BASES } from './index-bases';
import { contentHash } from './hash';

/** The Yjs client id of every text's first state; no peer edits as it. */
export const BASE_CLIENT = 0;

/** Transaction origin of building a text's first state here (not an edit: nothing to send or tell). */
export const MATERIALISE = Symbol('materialise');

/** Whether a transaction changed nothing but the base client's items (a first state built here). */
export function onlyBase(tx: Y.Transaction): boolean {
  if (tx.deleteSet.clients.size > 0) return false;
  for (const [client, clock] of tx.afterState) if (client !== BASE_CLIENT && tx.beforeState.get(client) !== clock) return false;
  return true;
}

/**
 * The one update that is a text's first state: `content` inserted at 0 by BASE_CLIENT. Encoded
 * directly (Yjs v1 update encoding, the bytes docs/PROTOCOL.md §6.1 gives) rather than through a
 * scratch Y.Doc: every Y.Doc draws a random guid and client id, and that randomness, once per text,
 * was the largest single cost of a join (6 s of 10,000 files). sync-text-base.test.ts checks that
 * these bytes are the ones Yjs makes.
 */
export function baseUpdate(content: string): Uint8Array {
  const e = encoding.createEncoder();
  if (content.length > 0) {
    encoding.writeVarUint(e, 1); // one client
    encoding.writeVarUint(e, 1); // one struct
    encoding.writeVarUint(e, BASE_CLIENT);
    encoding.writeVarUint(e, 0); // clock
    encoding.writeUint8(e, 4); // an item of ContentString, no origins, no parent key
    encoding.writeVarUint(e, 1); // parent: a root type, by name
    encoding.writeVarString(e, 'content');
    encoding.writeVarString(e, content);
  } else encoding.writeVarUint(e, 0); // no clients
  encoding.writeVarUint(e, 0); // an empty delete set
  return encoding.toUint8Array(e);
}

/**
 * Gives a document its first state from `content`. Applied as an update (never as a local
 * transaction), so that updates from peers that arrived before it and wait on it (their items follow
 * the base) are integrated now; a document that already has it is unchanged.
 */
export function materialise(doc: Y.Doc, content: string, origin: unknown): void {
  Y.applyUpdate(doc, baseUpdate(content), origin);
}

/** The state vector of a text that is still exactly its first state (what a delete of it had seen). */
export function baseStateVector(content: string): Uint8Array {
  const doc = new Y.Doc({ gc: true, guid: 'base' });
  Y.applyUpdate(doc, baseUpdate(content));
  const sv = Y.encodeStateVector(doc);
  doc.destroy();
  return sv;
}

/**
 * Whether a document holds nothing but its first state (it can be dropped and built again from
 * bytes). Read from the store, not from an encoded state vector (this runs over every held document
 * every few seconds); and a deletion adds no item, it marks the base's deleted, so those count too.
 */
export function isPristine(doc: Y.Doc): boolean {
  const { store } = doc;
  if (store.pendingStructs !== null || store.pendingDs !== null) return false;
  // Another client's items first: an edited document answers without a walk over the base's items.
  for (const client of store.clients.keys()) if (client !== BASE_CLIENT) return false;
  return !(store.clients.get(BASE_CLIENT) ?? []).some((s) => s.deleted);
}

/**
 * Decodes bytes that must be a text's base: UTF-8 whose hash is the entry's. Peer-supplied or read from
 * a disk that may have changed since, so anything else is refused (undefined), never materialised.
 */
export function baseText(bytes: Uint8Array, hash: string): string | undefined {
  if (contentHash(bytes) !== hash) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** A Yjs client id for a peer's own edits: random, never BASE_CLIENT nor an index base's (index-bases.ts, version 4). */
export function ownClientId(random: number): number {
  if (random === BASE_CLIENT) return 1;
  return random >= FIRST_BASE_CLIENT ? random - MAX_BASES : random;
}
