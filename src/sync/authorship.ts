/**
 * Who last wrote a field of a file's index entry: the Yjs client id of that write. A peer's
 * awareness shares its index document's client id (docs/PROTOCOL.md §6.1), so the id names the
 * person in presence — how "Alice renamed notes.txt" knows it was Alice.
 */
import * as Y from 'yjs';

/** The client id that last wrote `field` of a file's index entry, if the entry exists. */
export function lastWriterOf(index: Y.Doc, fileId: string, field: 'path' | 'deleted'): number | undefined {
  const entry = index.getMap<unknown>('files').get(fileId);
  if (!(entry instanceof Y.Map)) return undefined;
  // Y.Map keeps the winning item of each key in `_map`; its id carries the writer's client id.
  const item = (entry as unknown as { _map: Map<string, { id: { client: number } } | undefined> })._map.get(field);
  return item?.id.client;
}
