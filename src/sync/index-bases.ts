/**
 * Index bases (docs/PROTOCOL.md §6.1, version 4): the entries of a sharer's start made so that a
 * peer holding the same files can build them itself, byte for byte, instead of receiving them.
 *
 * Two people with clones of one repository: the joiner already has nearly every file, and texts
 * nobody edited travel by hash (a clone's file is used as it is), yet the index alone was ~200 bytes
 * a file on the wire (6 MB at 30,000 files). A base is one Yjs update made by a client id of its own
 * (FIRST_BASE_CLIENT + k), from nothing but a list of text files (path, size, hash) in path order,
 * with file ids derived from the paths: anyone with that list makes the same bytes. The sharer
 * describes each base in the index's `bases` map (its path range, file count and the update's hash);
 * a joiner asks a member for those descriptions first (`bases-get`), builds every base whose range
 * its own files fill to the same hash, and then asks for the index with a state vector that already
 * holds those clients: the member's answer is only what the bases lack (renames, deletions, other
 * files, later changes). The hash is of the update itself, so a base built here is exactly the one
 * the sharer applied, or it is not used.
 */
import * as encoding from 'lib0/encoding';
import sodium from 'sodium-universal';
import * as Y from 'yjs';
import { contentHash, isHash } from './hash';
import { isSafeRelativePath } from './paths';
import { forEachSliced, sortSliced } from './slicer';

/** Bases in one index at most; each has a client id of its own. */
export const MAX_BASES = 1024;
/** Base k is made by client id FIRST_BASE_CLIENT + k: the top of Yjs's 32-bit range, which no peer takes for itself (ownClientId). */
export const FIRST_BASE_CLIENT = 2 ** 32 - MAX_BASES;
/** Files in one base at most (the protocol's bound; what a sharer puts in one is baseCapacity()). */
export const MAX_BASE_FILES = 1024;
/**
 * A sharer's first SMALL_BASES bases take the texts it gathers in half a slice of the event loop
 * (share-files.ts; at most SMALL_BASE_FILES, 80–100 on the bench's machine), so that a clone that
 * differs in one file receives only a small base's entries. Later ones take up to LARGE_BASE_FILES,
 * gathered over several slices, so that MAX_BASES cover a folder of 200,000 texts (256 × ~80 +
 * 768 × 256), and fewer clients make each index transaction cheaper (Yjs reads every client's clock
 * at each one's start and end). A sharer's policy, not the protocol's: any base of up to
 * MAX_BASE_FILES is valid.
 */
export const SMALL_BASES = 256;
export const SMALL_BASE_FILES = 100;
export const LARGE_BASE_FILES = 256;

/** The most texts a sharer puts in base k; 0 when every base is taken (k undefined). */
export function baseCapacity(k: number | undefined): number {
  if (k === undefined) return 0;
  return k < SMALL_BASES ? SMALL_BASE_FILES : LARGE_BASE_FILES;
}
/** The index's map of base descriptions: String(k) → BaseDescriptor without k. */
export const BASES_MAP = 'bases';

export interface BaseFile {
  path: string;
  size: number;
  /** Hex BLAKE2b-256 of the file's bytes (its text's first state, §6.1). */
  hash: string;
}

export interface BaseDescriptor {
  k: number;
  /** The first and last path of the base, in path order (comparePaths). */
  first: string;
  last: string;
  count: number;
  /** The base's update's content hash (hex BLAKE2b-256, hash.ts). */
  update: string;
}

/**
 * Path order, the order in which a scan walks a folder: in each folder, its files by name, then its
 * subfolders by name, each with everything below it; names compared by UTF-16 code units. So
 * `a/z`, `a/b/x`, `a-b/y` (a path that is a prefix of another, by segments, comes first).
 */
export function comparePaths(a: string, b: string): number {
  return compareSegments(a.split('/'), b.split('/'));
}

/**
 * Sorts paths into path order, splitting each path once: comparePaths splits both paths at every
 * comparison, ~900,000 splits to sort 30,000 paths (60–80 ms in one turn of the event loop). (A key
 * string per path, compared as strings, was measured slower: 37–70 ms against 14–47 ms for this.)
 */
export function sortByPath<T>(items: readonly T[], pathOf: (item: T) => string): T[] {
  const keyed = items.map((item) => ({ item, segments: pathOf(item).split('/') }));
  keyed.sort((a, b) => compareSegments(a.segments, b.segments));
  return keyed.map((k) => k.item);
}

/** sortByPath a slice of the event loop at a time (slicer.ts), for the tens of thousands of a start. */
export async function sortByPathSliced<T>(items: readonly T[], pathOf: (item: T) => string): Promise<T[]> {
  const keyed: { item: T; segments: string[] }[] = [];
  await forEachSliced(items, (item) => keyed.push({ item, segments: pathOf(item).split('/') }), 512);
  const sorted = await sortSliced(keyed, (a, b) => compareSegments(a.segments, b.segments));
  return sorted.map((k) => k.item);
}

function compareSegments(x: readonly string[], y: readonly string[]): number {
  for (let i = 0; ; i++) {
    const fileX = i === x.length - 1;
    const fileY = i === y.length - 1;
    if (x[i] !== y[i]) {
      if (fileX !== fileY) return fileX ? -1 : 1;
      return x[i] < y[i] ? -1 : 1;
    }
    if (fileX || fileY) return x.length - y.length;
  }
}

const ID_CONTEXT = Buffer.from('hyperpair/base-id\0', 'utf8');

/** A base entry's file id: 32 hex characters of BLAKE2b-128("hyperpair/base-id\0" || UTF-8 path). */
export function baseFileId(path: string): string {
  // Into one scratch buffer (a path's UTF-8 is at most three bytes a UTF-16 unit): a start derives
  // an id for every text it shares, and a clone for every base it builds.
  const input = ID_CONTEXT.length + path.length * 3 <= ID_SCRATCH.length ? ID_SCRATCH.subarray(0, ID_CONTEXT.length + ID_SCRATCH.write(path, ID_CONTEXT.length, 'utf8')) : Buffer.concat([ID_CONTEXT, Buffer.from(path, 'utf8')]);
  sodium.crypto_generichash(ID_OUT, input);
  return ID_OUT.toString('hex');
}

const ID_SCRATCH = Buffer.alloc(4096);
ID_CONTEXT.copy(ID_SCRATCH);
const ID_OUT = Buffer.alloc(16);

/**
 * Base k's update: in a document of its own with client id FIRST_BASE_CLIENT + k, one transaction
 * that, for each file in the order given, sets `files[baseFileId(path)]` to a new Y.Map holding
 * `path`, `kind` ("text"), `size` and `hash`, set in that order; the update is that document's whole
 * state (Y.encodeStateAsUpdate). `files` must be in path order, each path once.
 *
 * Encoded directly, as text-base.ts encodes a text's first state: the bytes Yjs's v1 encoder writes
 * for that document, without making it. Through a scratch Y.Doc (256 maps, 1,280 items, then the
 * encoding) a 100,000-file start spent 1.6 s of CPU making its 562 bases, and a clone makes them all
 * again. index-bases.test.ts checks these bytes against the document Yjs makes, on random lists.
 */
export function buildBase(k: number, files: readonly BaseFile[]): Uint8Array {
  const client = FIRST_BASE_CLIENT + k;
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 1); // one client
  encoding.writeVarUint(e, files.length * ENTRY_ITEMS);
  encoding.writeVarUint(e, client);
  encoding.writeVarUint(e, 0); // from clock 0
  files.forEach((f, i) => {
    const entryClock = i * ENTRY_ITEMS;
    // The entry: a Y.Map (ContentType) under the root map `files`, at its file id.
    encoding.writeUint8(e, CONTENT_TYPE | HAS_PARENT_SUB);
    encoding.writeVarUint(e, 1); // parent: a root type, by name
    encoding.writeVarString(e, 'files');
    encoding.writeVarString(e, baseFileId(f.path));
    encoding.writeVarUint(e, Y_MAP_TYPE);
    // Its fields, each a ContentAny of one value under the entry's item (client, entryClock).
    const fields: [string, string | number][] = [['path', f.path], ['kind', 'text'], ['size', f.size], ['hash', f.hash]];
    for (const [key, value] of fields) {
      encoding.writeUint8(e, CONTENT_ANY | HAS_PARENT_SUB);
      encoding.writeVarUint(e, 0); // parent: an item, by id
      encoding.writeVarUint(e, client);
      encoding.writeVarUint(e, entryClock);
      encoding.writeVarString(e, key);
      encoding.writeVarUint(e, 1); // one value
      encoding.writeAny(e, value);
    }
  });
  encoding.writeVarUint(e, 0); // an empty delete set
  return encoding.toUint8Array(e);
}

/** Items per base entry: the entry's map, then its four fields. */
const ENTRY_ITEMS = 5;
/** Yjs's content refs and the info bit saying an item has a key in its parent map (Item.write). */
const CONTENT_TYPE = 7;
const CONTENT_ANY = 8;
const HAS_PARENT_SUB = 0x20;
/** Yjs's type ref of a Y.Map (ContentType.write). */
const Y_MAP_TYPE = 1;

export function describeBase(k: number, files: readonly BaseFile[], update: Uint8Array): BaseDescriptor {
  return { k, first: files[0].path, last: files[files.length - 1].path, count: files.length, update: contentHash(update) };
}

/** A description as peers send it (in the index or in a `bases` message), checked field by field. */
export function isDescriptor(d: unknown): d is BaseDescriptor {
  if (typeof d !== 'object' || d === null) return false;
  const x = d as Partial<Record<keyof BaseDescriptor, unknown>>;
  return (
    typeof x.k === 'number' && Number.isInteger(x.k) && x.k >= 0 && x.k < MAX_BASES &&
    typeof x.first === 'string' && isSafeRelativePath(x.first) &&
    typeof x.last === 'string' && isSafeRelativePath(x.last) &&
    comparePaths(x.first, x.last) <= 0 &&
    typeof x.count === 'number' && Number.isInteger(x.count) && x.count >= 1 && x.count <= MAX_BASE_FILES &&
    isHash(x.update)
  );
}

/** The well-formed base descriptions of an index, by k. */
export function readBases(index: Y.Doc): BaseDescriptor[] {
  const out: BaseDescriptor[] = [];
  for (const [key, value] of index.getMap<unknown>(BASES_MAP)) {
    const d = descriptorOf(key, value);
    if (d) out.push(d);
  }
  return out.sort((a, b) => a.k - b.k);
}

/** The description under `key` of the bases map, if it is well formed. */
function descriptorOf(key: string, value: unknown): BaseDescriptor | undefined {
  const d = typeof value === 'object' && value !== null ? { ...(value as object), k: Number(key) } : undefined;
  return String(Number(key)) === key && isDescriptor(d) ? d : undefined;
}

/** What nextBase answers from: the largest k and the last path of the well-formed descriptions. */
interface BasesSummary {
  maxK: number;
  last: string | undefined;
}

/** nextBase's summary per bases map, kept up to date as descriptions are added (a start makes hundreds). */
const summaries = new WeakMap<Y.Map<unknown>, { summary?: BasesSummary }>();

/** The next free k of an index's bases (undefined when every one is taken), and the last path any base holds. */
export function nextBase(index: Y.Doc): { k: number | undefined; last: string | undefined } {
  const map = index.getMap<unknown>(BASES_MAP);
  let held = summaries.get(map);
  if (!held) {
    const fresh: { summary?: BasesSummary } = {};
    // A description added (the usual change: each base is set once) is folded in; anything else
    // (replaced, removed) has the map read again whole. Read whole on every change, it validated
    // every description again: quadratic in the bases (0.3–0.8 s of a 30,000-file start).
    map.observe((event) => {
      for (const [key, change] of event.changes.keys) {
        if (!fresh.summary) return;
        if (change.action !== 'add') fresh.summary = undefined;
        else fold(fresh.summary, descriptorOf(key, map.get(key)));
      }
    });
    summaries.set(map, (held = fresh));
  }
  const summary = (held.summary ??= summarise(readBases(index)));
  return { k: summary.maxK + 1 < MAX_BASES ? summary.maxK + 1 : undefined, last: summary.last };
}

function summarise(bases: readonly BaseDescriptor[]): BasesSummary {
  const summary: BasesSummary = { maxK: -1, last: undefined };
  for (const d of bases) fold(summary, d);
  return summary;
}

function fold(summary: BasesSummary, d: BaseDescriptor | undefined): void {
  if (!d) return;
  summary.maxK = Math.max(summary.maxK, d.k);
  if (summary.last === undefined || comparePaths(d.last, summary.last) > 0) summary.last = d.last;
}

