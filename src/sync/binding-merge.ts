/**
 * The buffer binding's merges: of a buffer handed a shared text it did not follow all along (a document
 * VS Code opened from a snapshot of another that was bound), and of a buffer found to disagree with
 * its shared text; and its log form of edits.
 */
import { rebase } from './edit-algebra';
import { diffEdits, unionEdits, withCommonChanges, type TextEdit } from './textdiff';

export interface HandOver {
  /** What the buffer changed since the base, for the shared text (after what reached it meanwhile). */
  toShared: TextEdit[];
  /** What the buffer then lacks of the shared text. */
  pending: TextEdit[];
  typedHere: TextEdit[];
  sinceBase: TextEdit[];
}

/**
 * A three-way merge from `base`: what reached the shared text since (the previous buffer's last
 * keystrokes, collaborators' edits) comes first at a common spot, as it was typed first; what this
 * buffer changed since goes into the shared text after it. Undefined when the buffer holds the shared
 * text already: it was filled from it after `base` was read (VS Code can report a moved document
 * before it gives it the old one's text). Merged, the same changes from both sides would be in the
 * text twice (the two-editor folder rename: '// B ' doubled).
 */
export function handOver(base: string, text: string, shared: string): HandOver | undefined {
  if (text === shared) return undefined;
  const from = withCommonChanges(base, shared, text);
  const sinceBase = diffEdits(from, shared);
  const typedHere = diffEdits(from, text);
  const r = rebase(sinceBase, typedHere);
  return { toShared: r.pending, pending: r.local, typedHere, sinceBase };
}

/**
 * A buffer (`text`) that disagrees with its shared text while nothing is pending (a bug, see
 * BufferBinding.verify) is merged, never overwritten: what the buffer has that the shared text lacks
 * goes into the shared text (`write` applies it there and returns the shared text after), and what
 * the shared text has stays. Returns what the buffer then lacks of the result, and a log line.
 */
export function mergeDisagreement(text: string, shared: string, write: (additions: TextEdit[]) => string): { pending: TextEdit[]; told: string } {
  const additions = unionEdits(shared, text);
  const merged = write(additions);
  const kept = additions.reduce((n, e) => n + e.insert.length, 0);
  return {
    pending: diffEdits(text, merged),
    told: `merged ${kept} characters only the buffer had into the shared text and ${merged.length - text.length} only the shared text had into the buffer`,
  };
}

/** Edits in a log line, cut short. */
export function brief(edits: readonly TextEdit[]): string {
  const text = JSON.stringify(edits.map((e) => [e.offset, e.deleteCount, e.insert]));
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
