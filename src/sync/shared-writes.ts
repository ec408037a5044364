/**
 * How a binding writes edits into its shared text: one transaction, from the highest offset down (so
 * that earlier offsets stay valid), each replacement inserting before it deletes: inserted after the
 * deletion, Yjs would attach the new text to the right of the deleted text, where a peer's concurrent
 * insertion after it competes (typing over an auto-closed bracket let a collaborator's word in
 * before the bracket).
 */
import type * as Y from 'yjs';
import { wellFormed } from './code-unit-diff';
import type { TextEdit } from './textdiff';

/**
 * Writes `edits` (relative to the text before them) into `ytext` as `origin`. Returns whether a
 * lone surrogate was replaced: it goes to peers as U+FFFD (Yjs writes strings as UTF-8), so kept
 * here, this shared text would differ from theirs at the same state, unseen; it is U+FFFD here too.
 */
export function writeToShared(ytext: Y.Text, edits: readonly TextEdit[], origin: unknown): boolean {
  let replaced = false;
  ytext.doc!.transact(() => {
    for (const e of [...edits].sort((a, b) => b.offset - a.offset)) {
      const insert = wellFormed(e.insert);
      replaced ||= insert !== e.insert;
      if (insert) ytext.insert(e.offset, insert);
      if (e.deleteCount) ytext.delete(e.offset + insert.length, e.deleteCount);
    }
  }, origin);
  return replaced;
}
