/**
 * The person's letters a word mend put again (word-mend.ts), and a collaborator's deletion of them.
 *
 * A mend deletes the person's letters after a collaborator's text and puts the same letters again
 * before it. A collaborator who deleted those letters before the mend reached them (a line deleted,
 * a paste over a selection holding them) deleted the old ones, already deleted here: Yjs reports
 * nothing, and the letters put again would stay on every peer, the collaborator's deletion lost. So
 * the mending peer, which alone knows which letters it put again for which, watches collaborators'
 * updates (remote-deletions.ts) and deletes the letters put again for any old one a collaborator
 * deleted; every peer gets that deletion as an edit of this one.
 *
 * An update deleting an old letter comes from a peer that had not seen the mend (after it the old
 * letters are already deleted there), or is this peer's own mend coming back through another: that
 * one carries the letters put again, and is ignored.
 */
import * as Y from 'yjs';
import { watchRemoteDeletions, type RemoteDeletion } from './remote-deletions';

/** The origin of the deletions this makes: a collaborator's, to the binding (the buffer gets them). */
export const MOVED_LETTERS_DELETED = 'hyperpair:moved-letters-deleted';
/** How long a mend's letters are watched: a collaborator's update that has not seen it arrives within this (later ones come as a step 2, see remote-deletions.ts). */
const WATCH_MS = 60_000;
/** How many mends are watched at once. */
const MAX_WATCHED = 16;

interface Moved {
  /** The old letters, in order. */
  old: Y.ID[];
  /** The clock of the first letter put again (they are consecutive). */
  from: number;
  at: number;
}

export class MovedLetters {
  private moved: Moved[] = [];
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly ytext: Y.Text,
    private readonly onDeleted: (count: number) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** A mend put the letters `old` again, with consecutive clocks from `from`. */
  record(old: Y.ID[], from: number): void {
    if (!old.length) return;
    this.moved = [...this.moved.slice(1 - MAX_WATCHED), { old, from, at: this.now() }];
    this.unwatch ??= watchRemoteDeletions(this.ytext.doc!, (d) => this.collaboratorDeleted(d));
  }

  dispose(): void {
    this.unwatch?.();
    this.unwatch = undefined;
    this.moved = [];
  }

  private collaboratorDeleted(d: RemoteDeletion): void {
    const t = this.now();
    this.moved = this.moved.filter((m) => t - m.at < WATCH_MS);
    if (!this.moved.length) return this.dispose();
    const doc = this.ytext.doc!;
    const own = doc.clientID;
    const again: Y.ID[] = [];
    for (const m of this.moved) {
      if (d.carries(own, m.from, m.from + m.old.length)) continue;
      m.old.forEach((id, i) => {
        if (d.deletes(id)) again.push(Y.createID(own, m.from + i));
      });
    }
    const at = again.map((id) => shownAt(doc, id)).filter((i): i is number => i !== undefined);
    if (!at.length) return;
    // From the end, so each index holds while the ones before are deleted.
    doc.transact(() => {
      for (const i of at.sort((a, b) => b - a)) this.ytext.delete(i, 1);
    }, MOVED_LETTERS_DELETED);
    this.onDeleted(at.length);
  }
}

/** Where the character `id` is shown in its text, or undefined when it is deleted. */
function shownAt(doc: Y.Doc, id: Y.ID): number | undefined {
  const item = Y.getItem(doc.store, id);
  if (item.deleted) return undefined;
  const pos = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON({ item: id, assoc: 0 }), doc);
  return pos?.index;
}
