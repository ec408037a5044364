/**
 * Index entries as an older peer, or one that crashed while creating a file, leaves them behind:
 * sent as updates only, perhaps with no text anyone holds. For tests of files nobody can send.
 */
import { randomBytes } from 'node:crypto';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { contentHash } from '../../src/sync/hash';
import { INDEX_DOC, syncEncoder } from '../../src/sync/protocol';

/**
 * An index entry and, optionally, its text, as an older peer sends them: updates only, no step 2.
 * `binary`: a binary entry instead, whose one chunk nobody has.
 */
export function legacyCreate(index: Y.Doc, path: string, content?: string, binary = false): { id: string; messages: Uint8Array[]; indexUpdate: Uint8Array } {
  const id = randomBytes(16).toString('hex');
  const messages: Uint8Array[] = [];
  const sync = (doc: string, update: Uint8Array) => {
    const e = syncEncoder(doc);
    encoding.writeVarUint(e, 2); // update
    encoding.writeVarUint8Array(e, update);
    messages.push(encoding.toUint8Array(e));
  };
  if (content !== undefined) {
    const text = new Y.Doc();
    text.getText('content').insert(0, content);
    sync(id, Y.encodeStateAsUpdate(text));
  }
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(index));
  const sv = Y.encodeStateVector(copy);
  const m = new Y.Map<unknown>();
  const hash = contentHash(Buffer.from(content ?? ''));
  for (const [k, v] of Object.entries({ path, kind: binary ? 'binary' : 'text', size: Buffer.byteLength(content ?? ''), hash })) m.set(k, v);
  if (binary) {
    const versions = new Y.Array<unknown>();
    versions.push([{ hash: contentHash(Buffer.from(id)), size: 10, chunks: [contentHash(Buffer.from(path))], base: null }]);
    m.set('versions', versions);
  }
  copy.getMap('files').set(id, m);
  const indexUpdate = Y.encodeStateAsUpdate(copy, sv);
  sync(INDEX_DOC, indexUpdate);
  return { id, messages, indexUpdate };
}

