/**
 * The deterministic fixes every peer makes identically (docs/PROTOCOL.md §6.4), so that no one's work
 * disappears: a file that lost its path to another moves to a conflict path, a binary version that
 * lost a race is kept as a conflict copy, and a delete that missed edits is undone. Each fix is an
 * index transaction every peer may make at once: they all write the same values.
 */
import * as Y from 'yjs';
import { binaryEntry, isVersion, versionCount } from './entries';
import type { PathFix } from './file-view';
import { contentHash } from './hash';
import { conflictPath, isSafeRelativePath } from './paths';

/** Transaction origin of the rules' fixes. */
export const RULES = 'rules';

export interface RulesHost {
  readonly index: Y.Doc;
  readonly entries: Y.Map<Y.Map<unknown>>;
  isClosed(): boolean;
  /** A text document held here (complete or not), if any. */
  textDoc(id: string): Y.Doc | undefined;
  notice(message: string): void;
}

export class ConflictRules {
  constructor(private readonly host: RulesHost) {}

  /** Two live files on one path: the one that moved aside gets its conflict path written in. */
  fixPaths(fixes: PathFix[]): void {
    const needed = fixes.filter((f) => f.m.get('path') !== f.path);
    if (!needed.length) return;
    for (const f of needed) this.host.notice(`${f.original} was created by two people at once; one copy is now ${f.path}`);
    queueMicrotask(() => {
      if (this.host.isClosed()) return;
      this.host.index.transact(() => needed.forEach((f) => f.m.get('path') === f.original && f.m.set('path', f.path)), RULES);
    });
  }

  /** Concurrent replacements of one binary: every version that lost is kept as a conflict copy. */
  keepConflictingVersions(id: string, m: Y.Map<unknown>, path: string): void {
    const array = m.get('versions');
    if (!(array instanceof Y.Array) || array.length < 2) return;
    const versions = (array.toArray() as unknown[]).filter(isVersion);
    const winner = versions[versions.length - 1];
    if (!winner) return;
    const { index, entries } = this.host;
    for (const v of versions.slice(0, -1)) {
      if (v.base !== winner.base || v.hash === winner.hash) continue;
      const copyId = contentHash(Buffer.from(id + v.hash)).slice(0, 32);
      if (entries.has(copyId)) continue;
      const copyPath = conflictPath(path, v.hash.slice(0, 6));
      if (!isSafeRelativePath(copyPath)) continue;
      queueMicrotask(() => {
        if (entries.has(copyId) || this.host.isClosed()) return;
        index.transact(() => entries.set(copyId, binaryEntry(copyPath, { ...v, base: null })), RULES);
        this.host.notice(`${path} was replaced by two people at once; the other version is kept as ${copyPath}`);
      });
    }
  }

  /** Edits the deleter had not seen bring a deleted file back. */
  checkRestore(id: string): void {
    const m = this.host.entries.get(id);
    const seen = m?.get('deleted');
    if (!m || typeof seen !== 'string' || seen === '*') return;
    let newer = false;
    if (m.get('kind') === 'text' || m.get('kind') === 'notebook') {
      const doc = this.host.textDoc(id);
      if (!doc) return;
      const seenSV = Y.decodeStateVector(Buffer.from(seen, 'base64'));
      for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(doc))) {
        if (clock > (seenSV.get(client) ?? 0)) newer = true;
      }
    } else {
      newer = versionCount(m) > Number(seen);
    }
    if (!newer) return;
    queueMicrotask(() => {
      if (!m.get('deleted') || this.host.isClosed()) return;
      this.host.index.transact(() => m.delete('deleted'), RULES);
      this.host.notice(`${String(m.get('path'))} was deleted while someone edited it; it was restored with their edits`);
    });
  }
}
