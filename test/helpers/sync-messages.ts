/**
 * Sync messages (docs/PROTOCOL.md §6) as a peer — honest or hostile — puts them on the wire, for
 * tests that speak to a workspace directly.
 */
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { INDEX_DOC, syncEncoder } from '../../src/sync/protocol';

/** A y-protocols sync message: kind 0 = step 1, 1 = step 2, 2 = update. */
export function syncMessage(doc: string, kind: number, payload: Uint8Array): Uint8Array {
  const e = syncEncoder(doc);
  encoding.writeVarUint(e, kind);
  encoding.writeVarUint8Array(e, payload);
  return encoding.toUint8Array(e);
}

/** A sync update of the index that lists `entries` (id → fields), each a nested Y.Map. */
export function indexUpdate(entries: Record<string, Record<string, unknown>>): Uint8Array {
  const doc = new Y.Doc();
  for (const [id, fields] of Object.entries(entries)) {
    const m = new Y.Map<unknown>();
    for (const [k, v] of Object.entries(fields)) m.set(k, v);
    doc.getMap('files').set(id, m);
  }
  return syncMessage(INDEX_DOC, 2, Y.encodeStateAsUpdate(doc));
}
