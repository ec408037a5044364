/**
 * One Yjs update (v1 encoding, the format of `doc.on('update')`) for everything a run of transactions
 * changed, encoded once when the run is sent instead of once per transaction.
 *
 * Why: with an 'update' listener Yjs encodes every transaction, and every update then costs a frame,
 * a decode and a transaction of its own on each peer; a burst of typing, a paste of many edits or a
 * replayed trace paid that hundreds of thousands of times. `Y.mergeUpdates` can combine them, but it
 * grows faster than linearly with the number of updates. Here the structs are read from the store
 * from the state before the first transaction (as `encodeStateAsUpdate` does) and the deletions are
 * exactly those of the run (`encodeStateAsUpdate` would send the document's whole delete set).
 *
 * This writes the same bytes as Yjs' own `writeUpdateMessageFromTransaction` does for one
 * transaction, through the classes and methods Yjs exports (UpdateEncoderV1, findIndexSS,
 * mergeDeleteSets, Item/GC.write); test/unit/sync-batch.test.ts pins it against Yjs' own updates.
 */
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';

export class ChangeBatch {
  private readonly before: Map<number, number>;
  private readonly deleteSets: Array<Y.Transaction['deleteSet']> = [];

  constructor(
    readonly doc: Y.Doc,
    first: Y.Transaction,
  ) {
    // A fresh map per transaction (Yjs computes it at the start and never changes it).
    this.before = first.beforeState;
    this.add(first);
  }

  add(tx: Y.Transaction): void {
    if (tx.deleteSet.clients.size) this.deleteSets.push(tx.deleteSet);
  }

  /** The update, or undefined when the run changed nothing. */
  encode(): Uint8Array | undefined {
    const store = this.doc.store;
    const clients: Array<[client: number, since: number]> = [];
    for (const [client, structs] of store.clients) {
      const since = this.before.get(client) ?? 0;
      const last = structs[structs.length - 1];
      if (last && last.id.clock + last.length > since) clients.push([client, since]);
    }
    if (clients.length === 0 && this.deleteSets.length === 0) return undefined;
    const encoder = new Y.UpdateEncoderV1();
    // Structs: per client (highest id first, as Yjs writes them), from its clock before the run.
    clients.sort((a, b) => b[0] - a[0]);
    encoding.writeVarUint(encoder.restEncoder, clients.length);
    for (const [client, since] of clients) {
      const structs = store.clients.get(client)!;
      const clock = Math.max(since, structs[0].id.clock);
      const start = Y.findIndexSS(structs, clock);
      encoding.writeVarUint(encoder.restEncoder, structs.length - start);
      encoder.writeClient(client);
      encoding.writeVarUint(encoder.restEncoder, clock);
      structs[start].write(encoder, clock - structs[start].id.clock);
      for (let i = start + 1; i < structs.length; i++) structs[i].write(encoder, 0);
    }
    // Deletions of the run, sorted and merged (what Yjs' writeDeleteSet expects).
    const ds = Y.mergeDeleteSets(this.deleteSets);
    const entries = [...ds.clients.entries()].sort((a, b) => b[0] - a[0]);
    encoding.writeVarUint(encoder.restEncoder, entries.length);
    for (const [client, items] of entries) {
      encoder.resetDsCurVal();
      encoding.writeVarUint(encoder.restEncoder, client);
      encoding.writeVarUint(encoder.restEncoder, items.length);
      for (const item of items) {
        encoder.writeDsClock(item.clock);
        encoder.writeDsLen(item.len);
      }
    }
    return encoder.toUint8Array();
  }
}

/** Whether a transaction changed the document (Yjs emits no update for one that did not). */
export function changedAnything(tx: Y.Transaction): boolean {
  if (tx.deleteSet.clients.size) return true;
  for (const [client, clock] of tx.afterState) if (tx.beforeState.get(client) !== clock) return true;
  return false;
}
