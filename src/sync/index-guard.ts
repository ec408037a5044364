/**
 * Checks index updates from peers before they reach the real index (docs/PROTOCOL.md §6.2): an update
 * that would introduce a malformed entry, an unsafe path or go over the caps is refused whole.
 *
 * Yjs cannot un-apply an update, so the check runs on a shadow copy of the index that receives every
 * change the real index does. Only the entries an update touched are validated and the totals are kept
 * incrementally, so checking costs what the update changes, not what the workspace holds (a full
 * copy per update made sharing a 10,000-file folder take minutes). After a refused update the shadow
 * holds the refused change, so it is rebuilt from the real index before the next check.
 */
import * as Y from 'yjs';
import { BASES_MAP, MAX_BASES } from './index-bases';
import { isSafeRelativePath } from './paths';
import { ProtocolError } from './protocol';

export interface WorkspaceCaps {
  /** Live (not deleted) files. */
  maxFiles: number;
  maxFileBytes: number;
  /** Sum of the sizes of live binary files (a text's size is the one at its creation). */
  maxTotalBytes: number;
}

export const DEFAULT_CAPS: WorkspaceCaps = {
  maxFiles: 50_000,
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
 * Why an index entry is malformed, or undefined when it is acceptable.
 *
 * A field that is not there is no fault (§6.2): updates can arrive out of order (a member forwards a
 * rename before another member's answer holds the entry), and Yjs applies a deletion as soon as the
 * item it deletes arrives, but the value that replaced it only once everything its author did before
 * has arrived. Meanwhile the entry lacks that field; the view shows no entry without a path and a
 * kind (file-view.ts). Every field that is there is checked.
 */
export function entryProblem(id: string, m: unknown, caps: WorkspaceCaps): string | undefined {
  if (!FILE_ID.test(id) || !(m instanceof Y.Map)) return 'malformed index entry';
  const path = m.get('path');
  if (path !== undefined && (typeof path !== 'string' || !isSafeRelativePath(path))) {
    return `unsafe path ${JSON.stringify(String(path).slice(0, 100))} in the index`;
  }
  const size = m.get('size');
  if (size !== undefined && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || size > caps.maxFileBytes)) {
    return `file ${JSON.stringify(path)} of ${String(size)} bytes is over the size cap`;
  }
  const kind = m.get('kind');
  if (kind !== undefined && kind !== 'text' && kind !== 'binary' && kind !== 'notebook') return 'bad file kind';
  return undefined;
}

export class IndexGuard {
  private shadow: Y.Doc | undefined;
  /** Sizes of the shadow's live entries. */
  private live = new Map<string, number>();
  /** The shadow's entries, deleted ones included (Y.Map's size walks every entry: kept here instead). */
  private readonly keys = new Set<string>();
  private total = 0;

  constructor(
    private readonly real: Y.Doc,
    private readonly caps: WorkspaceCaps,
  ) {
    // Made now, while the index is empty, and kept current by track(): built on the first check
    // instead, a sharer's copy of a 30,000-file index stalled it for over a second when the first
    // member answered.
    this.ensure();
  }

  /** Throws a ProtocolError, leaving the real index untouched, if `update` must be refused. */
  check(update: Uint8Array): void {
    const files = this.ensure().getMap<unknown>('files');
    let problem: string | undefined;
    try {
      problem = this.apply(update, (id) => entryProblem(id, files.get(id), this.caps));
    } catch (err) {
      problem = `malformed index update: ${(err as Error).message}`;
    }
    if (!problem) problem = this.overCaps(this.keys.size);
    // Links and empty folders (tree-entries.ts) are checked when used; here only their number.
    const tree = this.ensure().getMap<unknown>('tree').size;
    if (!problem && tree > this.caps.maxFiles) problem = `index lists ${tree} links and folders (max ${this.caps.maxFiles})`;
    // Base descriptions (index-bases.ts) are checked when read; here only their number.
    const bases = this.ensure().getMap<unknown>(BASES_MAP).size;
    if (!problem && bases > MAX_BASES) problem = `index describes ${bases} bases (max ${MAX_BASES})`;
    if (problem) {
      this.reset();
      throw new ProtocolError(problem);
    }
  }

  /** A change that reached the real index without a check (this peer's own): mirror it. */
  track(update: Uint8Array): void {
    if (!this.shadow) return; // rebuilt from the real index when next needed
    try {
      this.apply(update, () => undefined);
    } catch {
      this.reset();
    }
  }

  destroy(): void {
    this.reset();
  }

  private ensure(): Y.Doc {
    if (this.shadow) return this.shadow;
    const shadow = new Y.Doc({ gc: true });
    this.shadow = shadow;
    this.live.clear();
    this.keys.clear();
    this.total = 0;
    Y.applyUpdate(shadow, Y.encodeStateAsUpdate(this.real));
    const files = shadow.getMap<unknown>('files');
    for (const id of files.keys()) this.account(files, id);
    return shadow;
  }

  private reset(): void {
    this.shadow?.destroy();
    this.shadow = undefined;
  }

  /** Applies an update to the shadow, re-accounts the entries it touched; returns the first problem. */
  private apply(update: Uint8Array, validate: (id: string) => string | undefined): string | undefined {
    const shadow = this.ensure();
    const files = shadow.getMap<unknown>('files');
    const touched = new Set<string>();
    const collect = (tx: Y.Transaction) => collectChangedIds(tx, files, touched);
    shadow.on('afterTransaction', collect);
    try {
      Y.applyUpdate(shadow, update);
    } finally {
      shadow.off('afterTransaction', collect);
    }
    let problem: string | undefined;
    for (const id of touched) {
      if (files.has(id)) problem ??= validate(id);
      this.account(files, id);
    }
    return problem;
  }

  private account(files: Y.Map<unknown>, id: string): void {
    if (files.has(id)) this.keys.add(id);
    else this.keys.delete(id);
    const before = this.live.get(id);
    if (before !== undefined) {
      this.total -= before;
      this.live.delete(id);
    }
    const m = files.get(id);
    if (!(m instanceof Y.Map) || m.get('deleted')) return;
    // A text's size is the one at its creation (§6.1), no measure of what it holds now: texts are
    // bounded by their own limit (§6.2), and only binaries count towards the total.
    const size = m.get('kind') === 'binary' ? m.get('size') : 0;
    const n = typeof size === 'number' && size > 0 ? size : 0;
    this.live.set(id, n);
    this.total += n;
  }

  private overCaps(entries: number): string | undefined {
    if (this.live.size > this.caps.maxFiles) return `index lists ${this.live.size} files (max ${this.caps.maxFiles})`;
    if (entries > this.caps.maxFiles * ENTRY_CAP_FACTOR) {
      return `index holds ${entries} entries including deleted ones (max ${this.caps.maxFiles * ENTRY_CAP_FACTOR})`;
    }
    if (this.total > this.caps.maxTotalBytes) return `workspace of ${this.total} bytes is over the total cap`;
    return undefined;
  }
}
