/**
 * Where the items of a Yjs update would land in a document, told without applying it: each item's
 * parent type and key, found as Yjs's own integration finds them (from the item's left origin, its
 * right origin, or the parent it names), against what the document holds, what waits in it for a
 * missing item (Yjs's pending structs) and the update itself.
 *
 * index-guard.ts checks an index update with it before the index takes it: Yjs cannot un-apply, and
 * the alternative, a second copy of the whole index to try each update on, cost as much memory as
 * the index itself (~80 MB at 30,000 files).
 *
 * An item whose place cannot be told (it hangs on an item neither the document nor the update holds)
 * cannot be integrated either: Yjs keeps it pending, and it is told (and checked) with the update
 * that brings what it lacks, since pending structs are read again each time.
 */
import * as Y from 'yjs';

export type Place =
  /** Directly in a root type of the document (`files`, `tree`, …), under `key` for a map. */
  | { kind: 'root'; name: string; key: string | null }
  /** In the type that is `parent`'s content, under `key` for a map. */
  | { kind: 'child'; parent: Y.Item; key: string | null }
  /** Integrated as garbage: a neighbour or its parent was collected, or its parent is no type. */
  | { kind: 'gone' };

type Struct = Y.Item | Y.GC;

/** Types nested deeper than this are refused (no index entry comes near; recursion stays bounded). */
const MAX_DEPTH = 64;

export class UpdatePlaces {
  /** Incoming structs by client, sorted by clock; an id sent twice has several (compared below). */
  private readonly incoming = new Map<number, Struct[]>();
  /** Clients some of whose clocks the update and the pending structs both hold. */
  private readonly repeats = new Set<number>();
  /** null: cannot be told now (a missing item). */
  private readonly memo = new Map<Struct, Place | null>();
  /** The structs of the update and of what the document keeps pending, Skips left out. */
  readonly structs: Struct[] = [];
  /** The update's deletions. */
  readonly deletions: ReturnType<typeof Y.decodeUpdate>['ds'];

  /** Throws when the update cannot be read, or sends one id as two items that would land apart. */
  constructor(
    private readonly doc: Y.Doc,
    update: Uint8Array,
  ) {
    const decoded = Y.decodeUpdate(update);
    this.deletions = decoded.ds;
    this.add(decoded.structs);
    const pending = doc.store.pendingStructs;
    if (pending) this.add(Y.decodeUpdateV2(pending.update).structs);
    for (const list of this.incoming.values()) list.sort((a, b) => a.id.clock - b.id.clock);
    this.checkRepeats();
  }

  /** Whether the document already holds all of `s`: Yjs skips it, so it changes nothing. */
  held(s: Struct): boolean {
    return s.id.clock + s.length <= Y.getState(this.doc.store, s.id.client);
  }

  /** Where `s` lands, or undefined when that hangs on an item nobody has sent yet. */
  placeOf(s: Struct, depth = 0): Place | undefined {
    if (depth > MAX_DEPTH) throw new Error('types nested too deep');
    const chain: Struct[] = [];
    // A set of the chain only once it is long: most chains end at once or after a step or two, and a
    // set per call was garbage made for each of an index update's items.
    let onChain: Set<Struct> | undefined;
    let at = s;
    let place: Place | null;
    for (;;) {
      const known = this.memo.get(at);
      if (known !== undefined) {
        place = known;
        break;
      }
      if (chain.length <= 8 ? chain.includes(at) : (onChain ??= new Set(chain)).has(at)) {
        place = null; // items waiting on each other: Yjs cannot integrate them either
        break;
      }
      const step = this.step(at, depth);
      if (!('via' in step)) {
        place = step.place;
        break;
      }
      chain.push(at);
      onChain?.add(at);
      at = step.via;
    }
    for (const c of chain) this.memo.set(c, place);
    if (!this.memo.has(at)) this.memo.set(at, place);
    return place ?? undefined;
  }

  /** The struct holding `id`: the document's if it has it, else the update's. */
  find(id: Y.ID): Struct | undefined {
    if (id.clock < Y.getState(this.doc.store, id.client)) {
      const structs = this.doc.store.clients.get(id.client)!;
      return structs[Y.findIndexSS(structs, id.clock)];
    }
    const list = this.incoming.get(id.client);
    if (!list) return undefined;
    // Several may hold it (an id sent twice; their places agree, checkRepeats). The one that tells
    // most is taken: a type over a value, a value over a deleted item or collected garbage, since
    // Yjs may keep any of them and what hangs on it must be judged as if it kept that one.
    let found: Struct | undefined;
    for (let i = this.lastAtOrBefore(list, id.clock); i >= 0; i--) {
      const s = list[i];
      if (s.id.clock + s.length > id.clock && (!found || rank(s) > rank(found))) found = s;
      if (!this.repeats.has(id.client)) break;
    }
    return found;
  }

  /** The items in the document that `ds` deletes (walking only what the document holds). */
  *deletedIn(ds: { clients: Map<number, Array<{ clock: number; len: number }>> }): Generator<Y.Item> {
    for (const [client, ranges] of ds.clients) {
      const structs = this.doc.store.clients.get(client);
      if (!structs) continue;
      const state = Y.getState(this.doc.store, client);
      for (const { clock, len } of ranges) {
        if (clock >= state) continue;
        for (let i = Y.findIndexSS(structs, clock); i < structs.length && structs[i].id.clock < clock + len; i++) {
          const s = structs[i];
          if (s instanceof Y.Item) yield s;
        }
      }
    }
  }

  private add(structs: Array<Y.Item | Y.GC | Y.Skip>): void {
    for (const s of structs) {
      if (s instanceof Y.Skip) continue;
      this.structs.push(s);
      let list = this.incoming.get(s.id.client);
      if (!list) this.incoming.set(s.id.client, (list = []));
      list.push(s);
    }
  }

  /** Index of the last struct in `list` starting at or before `clock`. */
  private lastAtOrBefore(list: Struct[], clock: number): number {
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].id.clock <= clock) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi;
  }

  /**
   * An id sent twice (the update repeats what waits pending, or two members' answers overlap) must be
   * the same item each time: if its copies would land apart, which one Yjs keeps decides where the
   * items hanging on it land, so the update is refused.
   */
  private checkRepeats(): void {
    const pairs: Array<[Y.Item, Y.Item]> = [];
    for (const list of this.incoming.values()) {
      // Each struct is compared with the one before and with the one reaching furthest so far.
      let cover = list[0];
      for (let i = 1; i < list.length; i++) {
        const b = list[i];
        const prev = list[i - 1];
        for (const a of cover === prev ? [prev] : [prev, cover]) {
          if (b.id.clock >= a.id.clock + a.length) continue;
          this.repeats.add(b.id.client);
          if (a instanceof Y.Item && b instanceof Y.Item) pairs.push([a, b]);
        }
        if (b.id.clock + b.length > cover.id.clock + cover.length) cover = b;
      }
    }
    for (const [a, b] of pairs) {
      const deleted = a.content instanceof Y.ContentDeleted || b.content instanceof Y.ContentDeleted;
      if (!samePlace(this.placeOf(a), this.placeOf(b)) || (!deleted && typeRef(a) !== typeRef(b))) {
        throw new Error(`item ${b.id.client}:${b.id.clock} sent twice, differently`);
      }
    }
  }

  /** One step of working out where `s` lands: the answer, or the struct it takes its place from. */
  private step(s: Struct, depth: number): { place: Place | null } | { via: Struct } {
    if (s instanceof Y.GC) return { place: GONE };
    // (One the document holds in part is placed by its own fields, as Yjs does: its parent is found
    // before the part it holds is cut off.)
    if (s.parent instanceof Y.AbstractType) return { place: heldPlace(s) };
    const left = s.origin ? this.find(s.origin) : undefined;
    const right = s.rightOrigin ? this.find(s.rightOrigin) : undefined;
    if ((s.origin && !left) || (s.rightOrigin && !right)) return { place: null };
    if (left instanceof Y.GC || right instanceof Y.GC) return { place: GONE };
    if (s.parent === null) {
      // Yjs takes parent and key from the left neighbour, else the right one.
      const via = left ?? right;
      return via ? { via } : { place: GONE };
    }
    if (typeof s.parent === 'string') return { place: { kind: 'root', name: s.parent, key: s.parentSub } };
    const parent = this.find(s.parent);
    if (!parent) return { place: null };
    if (parent instanceof Y.GC || !(parent.content instanceof Y.ContentType)) return { place: GONE };
    const above = this.placeOf(parent, depth + 1);
    if (above === undefined) return { place: null };
    if (above.kind === 'gone') return { place: GONE };
    return { place: { kind: 'child', parent, key: s.parentSub } };
  }
}

const GONE: Place = { kind: 'gone' };

/** The place of an item the document already integrated. */
function heldPlace(s: Y.Item): Place {
  const type = s.parent;
  if (!(type instanceof Y.AbstractType)) return GONE;
  if (type._item === null) return { kind: 'root', name: Y.findRootTypeKey(type), key: s.parentSub };
  return { kind: 'child', parent: type._item, key: s.parentSub };
}

function rank(s: Struct): number {
  if (!(s instanceof Y.Item)) return 0;
  if (s.content instanceof Y.ContentType) return 3;
  return s.content instanceof Y.ContentDeleted ? 1 : 2;
}

function typeRef(s: Y.Item): string {
  if (!(s.content instanceof Y.ContentType)) return 'value';
  return s.content.type instanceof Y.Map ? 'map' : 'type';
}

function samePlace(a: Place | undefined, b: Place | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.kind !== b.kind) return false;
  if (a.kind === 'gone' || b.kind === 'gone') return true;
  if (a.kind === 'root' && b.kind === 'root') return a.name === b.name && a.key === b.key;
  if (a.kind === 'child' && b.kind === 'child') return a.key === b.key && Y.compareIDs(a.parent.id, b.parent.id);
  return false;
}
