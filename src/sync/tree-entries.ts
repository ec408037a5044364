/**
 * Symbolic links and empty folders of the shared tree (docs/PROTOCOL.md §6.1): the index document's
 * `tree` map, path → `{kind: "link", target}` or `{kind: "folder"}` (plain JSON values). They live
 * apart from `files` because peers that do not know them refuse an unknown `kind` there; a map they
 * never read they store and forward untouched. Keyed by path, so two peers setting one path converge
 * on one value (Yjs: last writer wins) and a link retargeted or removed is one change.
 *
 * Every value is peer data: read through `judgeTreeEntry`, which drops what is malformed, unsafe or
 * points outside the workspace (never created, and said so), and ignores kinds it does not know.
 */
import * as Y from 'yjs';
import { validateRelativePath, unsafePathReason } from './paths';
import { judgeLinkTarget } from './symlinks';
import { originOf } from './view-changes';
import type { ChangeOrigin } from './api';

export const TREE_MAP = 'tree';

export type TreeEntry = { kind: 'link'; target: string } | { kind: 'folder' };

/** What a `tree` value says: an entry to act on, a problem to tell, or nothing (an unknown kind). */
export interface TreeVerdict {
  entry?: TreeEntry;
  problem?: string;
}

export function judgeTreeEntry(path: string, value: unknown): TreeVerdict {
  const unsafe = unsafePathReason(path);
  if (unsafe) return { problem: `its path cannot be used safely: ${unsafe}` };
  if (typeof value !== 'object' || value === null) return { problem: 'malformed entry' };
  const v = value as { kind?: unknown; target?: unknown };
  if (v.kind === 'folder') return { entry: { kind: 'folder' } };
  if (v.kind !== 'link') return {}; // a later kind: not ours to judge
  if (typeof v.target !== 'string') return { problem: 'a link without a target' };
  const verdict = judgeLinkTarget(path, v.target);
  if (verdict.outside) return { problem: `a symbolic link that is not created: ${verdict.outside} (${verdict.target})` };
  return { entry: { kind: 'link', target: verdict.target } };
}

export function sameEntry(a: TreeEntry | undefined, b: TreeEntry | undefined): boolean {
  if (!a || !b) return a === b;
  return a.kind === b.kind && (a.kind !== 'link' || a.target === (b as { target: string }).target);
}

export class TreeEntries {
  readonly map: Y.Map<unknown>;

  constructor(private readonly index: Y.Doc) {
    this.map = index.getMap<unknown>(TREE_MAP);
  }

  judge(path: string): TreeVerdict {
    return this.map.has(path) ? judgeTreeEntry(path, this.map.get(path)) : {};
  }

  get(path: string): TreeEntry | undefined {
    return this.judge(path).entry;
  }

  paths(): string[] {
    return [...this.map.keys()];
  }

  /** This peer's link or folder (validated like any path; throws a clear Error when unsafe). */
  set(path: string, entry: TreeEntry): void {
    validateRelativePath(path);
    const { problem } = judgeTreeEntry(path, entry);
    if (problem) throw new Error(`${path}: ${problem}`);
    if (sameEntry(this.get(path), entry)) return;
    this.index.transact(() => this.map.set(path, entry.kind === 'link' ? { kind: 'link', target: entry.target } : { kind: 'folder' }), 'disk');
  }

  remove(path: string): void {
    if (this.map.has(path)) this.index.transact(() => this.map.delete(path), 'disk');
  }

  /** Calls `fn` with the paths every transaction changed, and who changed them. Returns the unsubscribe. */
  observe(fn: (paths: string[], origin: ChangeOrigin) => void): () => void {
    const handler = (event: Y.YMapEvent<unknown>) => fn([...event.keysChanged], originOf(event.transaction.origin));
    this.map.observe(handler);
    return () => this.map.unobserve(handler);
  }
}
