/**
 * Checks index updates before they reach the index (docs/PROTOCOL.md §6.2): an update that would
 * introduce a malformed entry, an unsafe path or go over the caps is refused whole.
 *
 * Yjs cannot un-apply an update, so the check reads the update without applying it: where each of
 * its items would land (update-places.ts), and what each writes into an entry. (It was once a
 * shadow copy of the whole index, which cost as much memory as the index: ~80 MB at 30,000 files.)
 * Caps are judged on what the update can do at most (a new key may be a live file; a touched entry
 * may come back to life, or become a binary of the largest size written), and the counts kept
 * exactly from the index after every transaction: so an update is never refused for less than it
 * could do, and far from the caps the bound and the outcome are the same.
 */
import * as Y from 'yjs';
import { BASES_MAP, MAX_BASES } from './index-bases';
import { isSafeRelativePath } from './paths';
import { ProtocolError } from './protocol';
import { type Place, UpdatePlaces } from './update-places';

export interface WorkspaceCaps {
  /** Live (not deleted) files. */
  maxFiles: number;
  maxFileBytes: number;
  /** Sum of the sizes of live binary files (a text's size is the one at its creation). */
  maxTotalBytes: number;
}

/**
 * The protocol's caps (PROTOCOL §6.2): every peer holds every other to them, so they change only
 * with the protocol's version (50,000 files until version 5: a 100,000-file repository was shared
 * by half).
 */
export const DEFAULT_CAPS: WorkspaceCaps = {
  maxFiles: 200_000,
  maxFileBytes: 512 * 1024 * 1024,
  maxTotalBytes: 8 * 1024 * 1024 * 1024,
};

/** Entries including deleted ones (which stay as tombstones), relative to the file cap. */
export const ENTRY_CAP_FACTOR = 4;

const FILE_ID = /^[0-9a-f]{32}$/;

/** Adds to `out` the ids of the index entries a transaction changed (their fields or versions). */
export function collectChangedIds(tx: Y.Transaction, files: Y.Map<unknown>, out: Set<string>): void {
  const root: unknown = files;
  for (const [type, keys] of tx.changed) {
    if (type === root) {
      for (const k of keys) if (k !== null) out.add(k);
      continue;
    }
    // A nested type: climb to the entry map that is a direct child of `files`.
    let t: typeof type | null = type;
    while (t && t._item && t._item.parent !== root) t = t._item.parent as typeof type | null;
    const key = t?._item?.parentSub;
    if (key) out.add(key);
  }
}

/**
 * Why a value written to an entry's field is malformed, or undefined when it is acceptable. Only
 * `path`, `size` and `kind` are judged. A field that is not there is no fault (§6.2): updates can
 * arrive out of order, and Yjs applies a deletion at once but the value that replaced it only once
 * everything its author did before has arrived; the view shows no entry without a path and a kind.
 */
export function fieldProblem(field: string, value: unknown, caps: WorkspaceCaps): string | undefined {
  if (field === 'path' && (typeof value !== 'string' || !isSafeRelativePath(value))) {
    return `unsafe path ${JSON.stringify(String(value).slice(0, 100))} in the index`;
  }
  if (field === 'size' && (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > caps.maxFileBytes)) {
    return `a file of ${String(value)} bytes is over the size cap`;
  }
  if (field === 'kind' && value !== 'text' && value !== 'binary' && value !== 'notebook') return 'bad file kind';
  return undefined;
}

const JUDGED = new Set(['path', 'size', 'kind']);

/** A decoded update's deletions (Yjs does not export the type by name). */
type DeleteSet = ReturnType<typeof Y.decodeUpdate>['ds'];

/** What an update does to the index, at most. */
class Effect {
  /** `files` keys the index does not hold. */
  readonly newKeys = new Set<string>();
  /** Entries the update marks deleted (what makes a new key no live file). */
  readonly bornDeleted = new Set<string>();
  /** The largest size written to each entry. */
  readonly sizes = new Map<string, number>();
  readonly madeBinary = new Set<string>();
  /** Entries that may come back to life: their `deleted` written, or their map replaced. */
  readonly revivable = new Set<string>();
  readonly newTree = new Set<string>();
  readonly newBases = new Set<string>();
}

export class IndexGuard {
  private readonly files: Y.Map<unknown>;
  /** Live entries and the bytes each counts towards the total (a binary's size, else 0). */
  private readonly live = new Map<string, number>();
  /** Every key of `files`, deleted entries included (Y.Map's size walks every entry). */
  private readonly keys = new Set<string>();
  /** Sizes of deleted binaries: what a deletion undone could add to the total. */
  private readonly dormant = new Map<string, number>();
  private total = 0;
  private dormantTotal = 0;

  constructor(
    private readonly real: Y.Doc,
    private readonly caps: WorkspaceCaps,
  ) {
    this.files = real.getMap<unknown>('files');
    for (const id of this.files.keys()) this.account(id);
    real.on('afterTransaction', this.onTransaction);
  }

  /**
   * Applies a member's update if it passes (throwing a ProtocolError, with the index untouched, if
   * not). This peer's own updates (`own`) pass the caps: they are judged for what Yjs kept pending
   * from members, which they may complete; with nothing pending they complete nothing, and are not
   * read (a 100,000-file start's bases spent 1.3 s of CPU in a reading that could find nothing).
   */
  apply(update: Uint8Array, origin: unknown, own = false): void {
    const { store } = this.real;
    if (!own || store.pendingStructs !== null || store.pendingDs !== null) this.check(update, own);
    try {
      Y.applyUpdate(this.real, update, origin);
    } catch (err) {
      throw new ProtocolError(`malformed index update: ${(err as Error).message}`);
    }
  }

  /** Throws a ProtocolError if `update` must be refused. */
  check(update: Uint8Array, own = false): void {
    let problem: string | undefined;
    try {
      problem = this.inspect(update, own);
    } catch (err) {
      problem = `malformed index update: ${(err as Error).message}`;
    }
    if (problem) throw new ProtocolError(problem);
  }

  /** Live files, entries (deleted ones included) and the bytes of live binaries, as the caps count them. */
  counts(): { files: number; entries: number; binaryBytes: number } {
    return { files: this.live.size, entries: this.keys.size, binaryBytes: this.total };
  }

  destroy(): void {
    this.real.off('afterTransaction', this.onTransaction);
  }

  private readonly onTransaction = (tx: Y.Transaction): void => {
    const ids = new Set<string>();
    collectChangedIds(tx, this.files, ids);
    for (const id of ids) this.account(id);
  };

  private inspect(update: Uint8Array, own: boolean): string | undefined {
    const places = new UpdatePlaces(this.real, update);
    const effect = new Effect();
    const ds = places.deletions;
    for (const s of places.structs) {
      if (!(s instanceof Y.Item) || places.held(s) || s.content instanceof Y.ContentDeleted) continue;
      const place = places.placeOf(s);
      if (!place || place.kind === 'gone') continue;
      const problem = this.itemProblem(s, place, places, effect, ds);
      if (problem) return problem;
    }
    return own ? undefined : this.capsProblem(effect, places, ds);
  }

  private itemProblem(s: Y.Item, place: Exclude<Place, { kind: 'gone' }>, places: UpdatePlaces, effect: Effect, ds: DeleteSet): string | undefined {
    if (place.key === null) return undefined; // not a map key: nothing reads it
    if (place.kind === 'root') {
      if (place.name === 'tree' && !this.real.getMap('tree').has(place.key)) effect.newTree.add(place.key);
      if (place.name === BASES_MAP && !this.real.getMap(BASES_MAP).has(place.key)) effect.newBases.add(place.key);
      if (place.name !== 'files') return undefined;
      if (!FILE_ID.test(place.key) || !(s.content instanceof Y.ContentType) || !(s.content.type instanceof Y.Map)) {
        return 'malformed index entry';
      }
      if (!this.keys.has(place.key)) effect.newKeys.add(place.key);
      else effect.revivable.add(place.key);
      return undefined;
    }
    const id = this.entryOf(place.parent, places);
    if (id === undefined) return undefined;
    const value = s.content instanceof Y.ContentAny && s.content.arr.length === 1 ? s.content.arr[0] : NOT_A_VALUE;
    if (JUDGED.has(place.key)) {
      const problem = fieldProblem(place.key, value, this.caps);
      if (problem) return problem;
    }
    if (place.key === 'size') effect.sizes.set(id, Math.max(effect.sizes.get(id) ?? 0, value as number));
    if (place.key === 'kind' && value === 'binary') effect.madeBinary.add(id);
    if (place.key === 'deleted') {
      effect.revivable.add(id);
      if (value && value !== NOT_A_VALUE && !Y.isDeleted(ds, s.id)) effect.bornDeleted.add(id);
    }
    return undefined;
  }

  /** The file id of the entry whose map is `parent`'s content, if it is one. */
  private entryOf(parent: Y.Item, places: UpdatePlaces): string | undefined {
    if (!(parent.content instanceof Y.ContentType) || !(parent.content.type instanceof Y.Map)) return undefined;
    const place = places.placeOf(parent);
    return place?.kind === 'root' && place.name === 'files' && place.key !== null ? place.key : undefined;
  }

  private capsProblem(effect: Effect, places: UpdatePlaces, ds: DeleteSet): string | undefined {
    const { maxFiles, maxTotalBytes } = this.caps;
    let newLive = 0;
    for (const k of effect.newKeys) if (!effect.bornDeleted.has(k)) newLive++;
    const dead = this.keys.size - this.live.size;
    // Entries the deletions touch are looked up only when the rough bound says they could matter.
    let revived: Set<string> | undefined;
    const deletedTouched = (): Set<string> => (revived ??= this.touchedByDeletions(places, ds, effect));
    let lives = this.live.size + newLive;
    if (lives + dead > maxFiles) for (const id of deletedTouched()) if (this.keys.has(id) && !this.live.has(id)) lives++;
    if (lives > maxFiles) return `index lists ${lives} files (max ${maxFiles})`;
    const entries = this.keys.size + effect.newKeys.size;
    if (entries > maxFiles * ENTRY_CAP_FACTOR) {
      return `index holds ${entries} entries including deleted ones (max ${maxFiles * ENTRY_CAP_FACTOR})`;
    }
    // An entry adds to the total only if it gets a size, becomes a binary or comes back to life.
    const growing = new Set([...effect.sizes.keys(), ...effect.madeBinary, ...effect.revivable]);
    let total = this.total;
    for (const id of growing) total += this.growth(id, effect);
    if (total + this.dormantTotal > maxTotalBytes) {
      for (const id of deletedTouched()) if (!growing.has(id)) total += this.growth(id, effect);
      if (total > maxTotalBytes) return `workspace of ${total} bytes is over the total cap`;
    }
    if (effect.newTree.size) {
      const tree = this.real.getMap('tree').size + effect.newTree.size;
      if (tree > maxFiles) return `index lists ${tree} links and folders (max ${maxFiles})`;
    }
    if (effect.newBases.size) {
      const bases = this.real.getMap(BASES_MAP).size + effect.newBases.size;
      if (bases > MAX_BASES) return `index describes ${bases} bases (max ${MAX_BASES})`;
    }
    return undefined;
  }

  /** How much `id` could add to the total after the update: as a binary, of the largest size it may have. */
  private growth(id: string, effect: Effect): number {
    if (effect.newKeys.has(id) && effect.bornDeleted.has(id)) return 0;
    const m = this.files.get(id);
    const current = m instanceof Y.Map ? m.get('size') : undefined;
    const binary = effect.madeBinary.has(id) || (m instanceof Y.Map && m.get('kind') === 'binary');
    if (!binary) return 0;
    const largest = Math.max(typeof current === 'number' && current > 0 ? current : 0, effect.sizes.get(id) ?? 0);
    return Math.max(0, largest - (this.live.get(id) ?? 0));
  }

  /** Entries holding an item the update's deletions remove (a `deleted` removed brings one back). */
  private touchedByDeletions(places: UpdatePlaces, ds: DeleteSet, effect: Effect): Set<string> {
    const ids = new Set<string>();
    for (const item of places.deletedIn(ds)) {
      const place = places.placeOf(item);
      if (place?.kind !== 'child') continue;
      const id = this.entryOf(place.parent, places);
      if (id !== undefined && !effect.newKeys.has(id)) ids.add(id);
    }
    return ids;
  }

  /** Brings the counts of entry `id` up to date with the index. */
  private account(id: string): void {
    if (this.files.has(id)) this.keys.add(id);
    else this.keys.delete(id);
    this.total -= this.live.get(id) ?? 0;
    this.dormantTotal -= this.dormant.get(id) ?? 0;
    this.live.delete(id);
    this.dormant.delete(id);
    const m = this.files.get(id);
    if (!(m instanceof Y.Map)) return;
    // A text's size is the one at its creation (§6.1), no measure of what it holds now: texts are
    // bounded by their own limit (§6.2), and only binaries count towards the total.
    const size = m.get('kind') === 'binary' ? m.get('size') : 0;
    const n = typeof size === 'number' && size > 0 ? size : 0;
    if (m.get('deleted')) {
      this.dormant.set(id, n);
      this.dormantTotal += n;
      return;
    }
    this.live.set(id, n);
    this.total += n;
  }
}

/** Stands for a field's content that is not one plain value (a type, several values, a string run). */
const NOT_A_VALUE: unknown = Symbol('not a value');
