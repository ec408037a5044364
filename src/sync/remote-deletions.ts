/**
 * What a collaborator's update deletes, read from the update itself.
 *
 * Yjs reports only what an update newly deletes here (a transaction's delete set): a collaborator's
 * deletion of items already deleted here leaves no event. A word mend (word-mend.ts) deletes the
 * person's letters and puts them again elsewhere; a collaborator who deleted those letters before the
 * mend reached them deleted the old ones only, and without this their deletion would be lost (the
 * letters put again survive on every peer). Watchers of a document see each incremental update's
 * deletions after it is applied.
 *
 * Only incremental updates: a step 2 carries every deletion its sender knows of, those it learned
 * from others (the mend's own) included, so it says nothing of what its sender deleted.
 */
import * as Y from 'yjs';

export interface RemoteDeletion {
  /** Whether the update deletes the character `id`. */
  deletes(id: Y.ID): boolean;
  /** Whether the update carries any item of `client` with a clock in [from, to) (an echo of one's own change). */
  carries(client: number, from: number, to: number): boolean;
}

type Watcher = (d: RemoteDeletion) => void;

const watchers = new WeakMap<Y.Doc, Set<Watcher>>();

/** `w` sees every incremental remote update of `doc` that deletes anything; returns its removal. */
export function watchRemoteDeletions(doc: Y.Doc, w: Watcher): () => void {
  let set = watchers.get(doc);
  if (!set) watchers.set(doc, (set = new Set()));
  set.add(w);
  return () => {
    set.delete(w);
  };
}

/** Applies a collaborator's update to `doc`; `complete` for a step 2 (whose deletions watchers do not see). */
export function applyRemoteUpdate(doc: Y.Doc, update: Uint8Array, origin: unknown, complete = false): void {
  Y.applyUpdate(doc, update, origin);
  const set = watchers.get(doc);
  if (complete || !set?.size) return;
  const { structs, ds } = Y.decodeUpdate(update);
  const d: RemoteDeletion = {
    deletes: (id) => Y.isDeleted(ds, id),
    carries: (client, from, to) => structs.some((s) => s.id.client === client && s.id.clock < to && s.id.clock + s.length > from),
  };
  for (const w of [...set]) w(d);
}
