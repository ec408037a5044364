/**
 * Keeping both sides when a file on disk and the session disagree and no merge is possible: bytes
 * the mirror never saw, or a binary replaced here and remotely. The kept side becomes a new file of
 * the session beside the original (`name (conflict XXXXXX).ext`), so every peer gets it and the person
 * is told. Nothing here writes to disk: the caller writes the returned entry.
 */
import type { Logger } from '../session/log';
import type { FileEntry } from './api';
import { asText, MAX_TEXT_BYTES } from './classify';
import { contentHash } from './hash';
import type { Known } from './disk-state';
import { conflictPath, isSafeRelativePath } from './paths';
import { diffEdits } from './textdiff';
import type { SharedWorkspace } from './workspace';

/** A free conflict path for content with this hash, beside `rel`. */
function freeConflictPath(ws: SharedWorkspace, rel: string, hash: string): string | undefined {
  for (const tag of [hash.slice(0, 6), hash]) {
    const p = conflictPath(rel, tag);
    if (isSafeRelativePath(p) && !ws.byPath(p)) return p;
  }
  return undefined;
}

/**
 * Bytes found on disk at a session path that this peer never saw: they join the session as a new
 * file beside it (unless the session holds the same content). Returns the new entry.
 */
export function keepBesideAsNew(ws: SharedWorkspace, rel: string, bytes: Uint8Array, logger: Logger): FileEntry | undefined {
  const hash = contentHash(bytes);
  const entry = ws.byPath(rel);
  if (entry?.kind === 'text') {
    const shared = ws.loadedText(entry.id)?.toString();
    if (shared !== undefined && contentHash(Buffer.from(shared, 'utf8')) === hash) return undefined;
  } else if (entry?.hash === hash) return undefined;
  const copyPath = freeConflictPath(ws, rel, hash);
  if (!copyPath) {
    logger.error(`${rel} differs here from the session and no conflict name is free; the session's version is not written`);
    throw new Error(`no free conflict name beside ${rel}`);
  }
  const text = asText(Buffer.from(bytes), MAX_TEXT_BYTES);
  const copy = text !== undefined ? ws.createText(copyPath, text, 'disk') : ws.createBinary(copyPath, bytes, 'disk');
  ws.emit('notice', `${rel} on this disk differed from the session's; this disk's version is kept as ${copyPath}`);
  return copy;
}

/**
 * A binary replaced here while another version arrived: before the local version becomes the
 * current one, the arrived (remote) version is kept as a new file. Returns the new entry.
 */
export async function keepRemoteBinary(ws: SharedWorkspace, entry: FileEntry, logger: Logger): Promise<FileEntry | undefined> {
  const remote = await ws.binary(entry.id);
  const copyPath = freeConflictPath(ws, entry.path, entry.hash);
  if (!copyPath) {
    logger.warn(`${entry.path}: no conflict name is free for the version that arrived; it stays in the file's versions`);
    return undefined;
  }
  const copy = ws.createBinary(copyPath, remote, 'disk');
  ws.emit('notice', `${entry.path} was replaced here and by someone else at once; this disk's version is kept, the other as ${copyPath}`);
  return copy;
}

/**
 * The base for merging a text read from disk. Normally the text last read or written. But a tool that
 * read the file just before the mirror's last write and wrote it back whole just after (read, modify,
 * write: a formatter, a script, `sed -i`) derived its text from the one before that write: diffed
 * against the last one, it would delete what the write brought. When the disk deletes less of the
 * text before the write than of the write, that earlier text is the base, and what arrived is kept.
 * (A person who deliberately removed exactly what just arrived sees it stay: nothing is lost.)
 */
export function mergeBase(known: Known | undefined, disk: string): string | undefined {
  if (known?.text === undefined || known.before === undefined) return known?.text;
  // Deleted characters tell: from the earlier text the stale writer only added its change.
  const deleted = (from: string) => diffEdits(from, disk).reduce((n, e) => n + e.deleteCount, 0);
  return deleted(known.before) < deleted(known.text) ? known.before : known.text;
}
