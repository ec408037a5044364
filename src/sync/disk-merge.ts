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
import { notebookText } from './notebook/first-state';
import type { Known } from './disk-state';
import { conflictPath, isSafeRelativePath } from './paths';
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
  if (entry?.kind === 'text' || entry?.kind === 'notebook') {
    const model = entry.kind === 'notebook' ? ws.loadedNotebook(entry.id) : undefined;
    const shared = model ? notebookText(model) : ws.loadedText(entry.id)?.toString();
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

/** How many earlier texts of a file are kept as candidate merge bases, and their total size. */
const EARLIER_TEXTS = 8;
const EARLIER_CHARS = 4 * 1024 * 1024;

/**
 * The earlier texts to remember once a file moves on from `known` (its text becomes one of them).
 * Bounded by count and by size: a huge file keeps few.
 */
export function earlierTexts(known: Known | undefined): string[] | undefined {
  if (known?.text === undefined) return undefined;
  const out: string[] = [];
  let chars = 0;
  for (const t of [known.text, ...(known.earlier ?? [])]) {
    if (out.length >= EARLIER_TEXTS || chars + t.length > EARLIER_CHARS) break;
    if (out.includes(t)) continue;
    out.push(t);
    chars += t.length;
  }
  return out;
}

/**
 * The base for merging a text read from disk. Normally the text last read or written. But a tool that
 * read the file some writes ago and wrote it back whole later (read, modify, write: a formatter, a
 * script, `sed -i`, an editor whose rename raced the mirror's) derived its text from an earlier
 * version: diffed against the last one, it would delete what the writes since brought (measured: the
 * chaos suite's rewriters, delayed between their check and their rename on a loaded machine, lost
 * lines this way when only one earlier text was kept). So an earlier version is the base when the disk
 * deletes less from it, and the disk has none of the lines that came after it (a tool that read it
 * cannot have them; a person who deleted a line from the current text has them, and the delete goes
 * through). Among those, the least deleted from, then the most recent. A person who deliberately
 * removed exactly what just arrived sees it stay: nothing is lost.
 */
export function mergeBase(known: Known | undefined, disk: string): string | undefined {
  if (known?.text === undefined || !known.earlier?.length) return known?.text;
  let best = known.text;
  let least = deletedChars(best, disk);
  if (least === 0) return best;
  const diskLines = countLines(disk);
  const latestLines = countLines(known.text);
  for (const t of known.earlier) {
    const d = deletedChars(t, disk);
    if (d >= least) continue;
    const lines = countLines(t);
    // A line the disk has more of than this version, which also came after it: read later than this.
    const later = [...diskLines].some(([l, n]) => n > (lines.get(l) ?? 0) && (latestLines.get(l) ?? 0) > (lines.get(l) ?? 0));
    if (!later) [best, least] = [t, d];
  }
  return best;
}

function countLines(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const l of text.split('\n')) counts.set(l, (counts.get(l) ?? 0) + 1);
  return counts;
}

/**
 * How much of `from` is not in `to`, counted in whole lines: a line that is gone counts whole even
 * when a character diff would call it edited (`a-1` becoming `a-10` is `a-1` deleted and `a-10`
 * written, not a `0` typed: counted as a typed character, a version holding `a-1` looked like the
 * disk's base and the merge turned a peer's line into the disk's).
 */
function deletedChars(from: string, to: string): number {
  const kept = countLines(to);
  let n = 0;
  for (const [line, count] of countLines(from)) n += Math.max(0, count - (kept.get(line) ?? 0)) * (line.length + 1);
  return n;
}
