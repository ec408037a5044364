/**
 * A peer's "disk" for tests of texts held as bytes (sync-lazy-texts, sync-text-bytes): path → bytes,
 * read by the workspace's text source, and sharing every file of it as a text with no document.
 */
import { contentHash } from '../../src/sync/hash';
import type { SharedWorkspace } from '../../src/sync/workspace';

export interface DiskPeer {
  ws: SharedWorkspace;
  disk: Map<string, Uint8Array>;
}

/** A disk of these texts, read through the workspace's text source (`writesFirstStates` as the mirror does, when asked). */
export function useDisk(ws: SharedWorkspace, texts: Record<string, string>, writesFirstStates = false): Map<string, Uint8Array> {
  const disk = new Map(Object.entries(texts).map(([p, t]) => [p, Buffer.from(t, 'utf8') as Uint8Array]));
  ws.setTextSource(async (id) => {
    const e = ws.byId(id);
    return e ? disk.get(e.path) : undefined;
  }, { writesFirstStates });
  return disk;
}

/** Shares every file of the peer's disk as a text held as bytes; returns path → file id. */
export function shareLazily(p: DiskPeer): Map<string, string> {
  const ids = new Map<string, string>();
  for (const [path, bytes] of p.disk) ids.set(path, p.ws.createLazyText(path, bytes.byteLength, contentHash(bytes), 'disk').id);
  return ids;
}
