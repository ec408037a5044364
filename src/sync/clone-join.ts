/**
 * Joining into a folder that already holds the session's files (a clone of the same repository):
 * a file here whose bytes are a version the session has had is not the joiner's own work, so it is
 * adopted as in sync (the session's current version then replaces it by compare-and-swap, and a
 * binary with the same hash is not fetched at all) rather than kept beside as a conflict copy.
 * So is a file exactly as the joiner's git last committed it (git keeps that version). Files that
 * differ from all of that are the joiner's own work: they are kept as conflict copies (disk-merge.ts),
 * and the join says so.
 */
import type { FileEntry } from './api';
import { asText, MAX_TEXT_BYTES } from './classify';
import type { Known } from './disk-state';
import { contentHash } from './hash';
import { notebookText } from './notebook/first-state';
import type { SharedWorkspace } from './workspace';

/**
 * What to record as known for bytes found at `entry`'s path before this peer ever synced there, when
 * they are nobody's unsaved work: a version the session has had (its index hash: the content when
 * last updated from a disk, or the binary's current version; a version in a binary's history; the
 * text as loaded here now), or, `committed`, exactly what this folder's git last committed (git keeps
 * it, and the replaced bytes also go to the file history). `hash`: the bytes' own, if worked out already.
 */
export function adoptIfSessions(ws: SharedWorkspace, entry: FileEntry, bytes: Uint8Array, committed: boolean, hash = contentHash(bytes)): Known | undefined {
  if (!isSessionsVersion(ws, entry, hash, committed)) return undefined;
  const text = entry.kind !== 'binary' ? asText(bytes, MAX_TEXT_BYTES) : undefined;
  return text === undefined ? { hash, size: bytes.byteLength } : { hash, size: bytes.byteLength, text };
}

/** Whether content of `hash` at `entry`'s path is nobody's unsaved work (see adoptIfSessions). */
export function isSessionsVersion(ws: SharedWorkspace, entry: FileEntry, hash: string, committed: boolean): boolean {
  return (
    committed ||
    entry.hash === hash ||
    (entry.kind === 'binary' && ws.hadVersion(entry.id, hash)) ||
    (entry.kind !== 'binary' && loadedTextHash(ws, entry) === hash)
  );
}

/**
 * Whether the session never received the version of a binary this folder recorded (replaced here
 * just before the peer stopped): then this folder's version wins on a restart.
 */
export function sessionLacksRecorded(ws: SharedWorkspace, entry: FileEntry | undefined, recorded: string): boolean {
  return entry?.kind === 'binary' && entry.hash !== recorded && !ws.hadVersion(entry.id, recorded);
}

function loadedTextHash(ws: SharedWorkspace, entry: FileEntry): string | undefined {
  const model = entry.kind === 'notebook' ? ws.loadedNotebook(entry.id) : undefined;
  const t = model ? notebookText(model) : entry.kind === 'text' ? ws.loadedText(entry.id)?.toString() : undefined;
  return t === undefined ? undefined : contentHash(Buffer.from(t, 'utf8'));
}
