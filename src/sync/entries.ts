/**
 * The index's entries as the protocol shapes them (docs/PROTOCOL.md §6.1): a nested `Y.Map` per file,
 * and for a binary file a `versions` `Y.Array` of plain JSON objects. Versions are peer data: a
 * malformed one is ignored, never trusted.
 */
import { randomBytes } from 'node:crypto';
import * as Y from 'yjs';
import type { FileKind } from './api';
import { isHash } from './hash';

export interface Version {
  hash: string;
  size: number;
  chunks: string[];
  /** The hash of the content it replaced; null for a file's first version. */
  base: string | null;
}

export function entryMap(fields: { path: string; kind: FileKind; size: number; hash: string }): Y.Map<unknown> {
  const m = new Y.Map<unknown>();
  for (const [k, v] of Object.entries(fields)) m.set(k, v);
  return m;
}

/** A binary entry's map with its first version. */
export function binaryEntry(path: string, first: Version): Y.Map<unknown> {
  const m = entryMap({ path, kind: 'binary', size: first.size, hash: first.hash });
  const versions = new Y.Array<Version>();
  versions.push([first]);
  m.set('versions', versions);
  return m;
}

export function isVersion(v: unknown): v is Version {
  if (typeof v !== 'object' || v === null) return false;
  const x = v as Partial<Record<keyof Version, unknown>>;
  return (
    isHash(x.hash) &&
    typeof x.size === 'number' &&
    Number.isSafeInteger(x.size) &&
    x.size >= 0 &&
    Array.isArray(x.chunks) &&
    x.chunks.every(isHash) &&
    (x.base === null || isHash(x.base))
  );
}

/** The current content of a binary entry: the last element of its versions, if well formed. */
export function currentVersion(m: Y.Map<unknown> | undefined): Version | undefined {
  const versions = m?.get('versions');
  if (!(versions instanceof Y.Array) || versions.length === 0) return undefined;
  const v: unknown = versions.get(versions.length - 1);
  return isVersion(v) ? v : undefined;
}

export function versionCount(m: Y.Map<unknown>): number {
  const versions = m.get('versions');
  return versions instanceof Y.Array ? versions.length : 0;
}

/** A new file id: 32 lowercase hex characters (§6.1). */
export function newId(): string {
  return randomBytes(16).toString('hex');
}
