/**
 * What the disk mirror serves from the folder to the workspace: a binary's chunk that a peer asks for,
 * and the bytes a text's document is built from (texts are held as bytes until needed, texts.ts).
 */
import * as fs from 'node:fs/promises';
import type { KnownFiles } from './disk-state';
import { ColdKnown } from './record-texts';
import { readIfFile } from './fsutil';
import { contentHash } from './hash';
import { resolveInside } from './paths';
import { CHUNK_SIZE } from './protocol';
import type { SharedWorkspace } from './workspace';

/**
 * A text's (or a notebook's) bytes for the workspace to build its document from (it checks them against the entry's
 * hash): the file on disk, or, when it changed there since, the text last synced (the record's).
 */
export async function readText(root: string, ws: SharedWorkspace, known: KnownFiles, id: string): Promise<Uint8Array | undefined> {
  const e = ws.byId(id);
  if (!e || e.kind === 'binary') return undefined;
  const seen = known.get(e.path);
  // A cold text (record-texts.ts) is read from the record without blocking; its bytes are the entry's.
  const text = seen instanceof ColdKnown ? (seen.hash === e.hash ? await seen.load() : undefined) : seen?.text;
  if (seen?.hash === e.hash && text !== undefined) return Buffer.from(text, 'utf8');
  // A file this mirror never read or wrote is nobody's copy of the text (and a joiner's empty
  // folder has none: no look at the disk per file fetched). resume() knows every file of a clone.
  if (!seen) return undefined;
  return (await readIfFile(resolveInside(root, e.path))) ?? undefined;
}

/** A peer's chunk request, served from a file on disk that still has that content. */
export async function readChunk(root: string, ws: SharedWorkspace, hash: string): Promise<Uint8Array | undefined> {
  for (const e of ws.filesWithChunk(hash)) {
    const content = ws.content(e.id);
    const i = content?.chunks.indexOf(hash) ?? -1;
    if (i < 0) continue;
    const handle = await fs.open(resolveInside(root, e.path), 'r').catch(() => undefined);
    if (!handle) continue;
    try {
      const buf = Buffer.alloc(Math.max(0, Math.min(CHUNK_SIZE, e.size - i * CHUNK_SIZE)));
      await handle.read(buf, 0, buf.length, i * CHUNK_SIZE);
      if (contentHash(buf) === hash) return buf;
    } finally {
      await handle.close();
    }
  }
  return undefined;
}
