/**
 * The files the index exposes (docs/PROTOCOL.md §6.4's same-path rule applied), by id and by path,
 * and which live binary files hold each chunk. Incremental: an update costs what it touched, so that
 * creating the thousands of files of a shared folder one by one stays linear.
 */
import * as Y from 'yjs';
import type { Logger } from '../session/log';
import type { FileEntry, FileKind } from './api';
import { currentVersion } from './entries';
import { conflictPath, isSafeRelativePath } from './paths';
import { PathClaims } from './path-claims';

export interface ViewChange {
  old?: FileEntry;
  now?: FileEntry;
}

/** A path every peer writes into an entry that lost its path to another (idempotent). */
export interface PathFix {
  m: Y.Map<unknown>;
  path: string;
  original: string;
}

export interface ViewUpdate {
  /** Every entry whose exposed form was recomputed (undefined: not exposed). */
  next: Map<string, FileEntry | undefined>;
  changes: ViewChange[];
  fixes: PathFix[];
}

export class FileView {
  private readonly view = new Map<string, FileEntry>();
  private readonly byPathView = new Map<string, FileEntry>();
  /** Live entries by the path written in the index (several when two files claim one path). */
  private readonly claims = new PathClaims();
  private readonly claimed = new Map<string, string>();
  /** Which live binary files hold each chunk (chunk hash → ids), for serving chunks from disk. */
  private readonly chunkFiles = new Map<string, Set<string>>();
  private readonly chunksOf = new Map<string, string[]>();
  /**
   * How many exposed files each folder holds, at any depth: whether a link or folder of the session
   * would stand where files are (tree-mirror.ts) was a walk over every file, 10–15 ms at 100,000.
   */
  private readonly folderFiles = new Map<string, number>();

  constructor(
    private readonly entries: Y.Map<Y.Map<unknown>>,
    private readonly logger: Logger,
  ) {}

  files(): FileEntry[] {
    return [...this.view.values()];
  }

  byId(id: string): FileEntry | undefined {
    return this.view.get(id);
  }

  byPath(path: string): FileEntry | undefined {
    return this.byPathView.get(path);
  }

  get size(): number {
    return this.view.size;
  }

  /** Whether any exposed file's path lies inside `folder` (at any depth). */
  hasFilesIn(folder: string): boolean {
    return this.folderFiles.has(folder);
  }

  /** The live binary files whose current content holds a chunk. */
  filesWithChunk(hash: string): FileEntry[] {
    const out: FileEntry[] = [];
    for (const id of this.chunkFiles.get(hash) ?? []) {
      const e = this.view.get(id);
      if (e) out.push(e);
    }
    return out;
  }

  /** Recomputes the entries a transaction touched, and those that share a path with them. */
  update(ids: Set<string>): ViewUpdate {
    const paths = this.reclaim(ids);
    const affected = new Set(ids);
    for (const p of paths) for (const id of this.claims.ids(p)) affected.add(id);

    const next = new Map<string, FileEntry | undefined>();
    const chunkLists = new Map<string, string[]>();
    const fixes: PathFix[] = [];
    for (const id of affected) {
      const path = this.claimed.get(id);
      const m = this.entries.get(id);
      const exposed = path === undefined || !m ? undefined : this.exposedPath(id, path);
      if (exposed === undefined || !m) {
        next.set(id, undefined);
        continue;
      }
      if (exposed !== path) fixes.push({ m, path: exposed, original: path! });
      const kind = m.get('kind') as FileKind;
      const v = kind === 'binary' ? currentVersion(m) : undefined;
      if (v) chunkLists.set(id, v.chunks);
      next.set(id, {
        id,
        path: exposed,
        kind,
        size: v ? v.size : Number(m.get('size') ?? 0),
        hash: v ? v.hash : String(m.get('hash') ?? ''),
      });
    }

    // All old paths out first, so that exchanged paths stay consistent.
    const changes: ViewChange[] = [];
    for (const [id, now] of next) {
      const old = this.view.get(id);
      if (old && this.byPathView.get(old.path)?.id === id) this.unexpose(old.path);
      if (now) this.view.set(id, now);
      else this.view.delete(id);
      if (old !== now) changes.push({ old, now });
      this.setChunks(id, chunkLists.get(id) ?? []);
    }
    for (const now of next.values()) if (now) this.expose(now);
    return { next, changes, fixes };
  }

  private expose(e: FileEntry): void {
    if (!this.byPathView.has(e.path)) this.countFolders(e.path, 1);
    this.byPathView.set(e.path, e);
  }

  private unexpose(path: string): void {
    if (this.byPathView.delete(path)) this.countFolders(path, -1);
  }

  private countFolders(path: string, by: 1 | -1): void {
    for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
      const folder = path.slice(0, i);
      const n = (this.folderFiles.get(folder) ?? 0) + by;
      if (n > 0) this.folderFiles.set(folder, n);
      else this.folderFiles.delete(folder);
    }
  }

  /** Which path each touched entry claims now (live entries with a valid path only); the paths involved. */
  private reclaim(ids: Set<string>): Set<string> {
    const paths = new Set<string>();
    for (const id of ids) {
      const before = this.claimed.get(id);
      if (before !== undefined) {
        paths.add(before);
        this.claimed.delete(id);
        this.claims.remove(before, id);
      }
      const m = this.entries.get(id);
      const path = m instanceof Y.Map ? m.get('path') : undefined;
      const kind = m?.get('kind');
      if (!m || m.get('deleted') || typeof path !== 'string' || (kind !== 'text' && kind !== 'binary' && kind !== 'notebook')) continue;
      if (!isSafeRelativePath(path)) continue; // never exposed (remote ones were refused already)
      this.claimed.set(id, path);
      this.claims.add(path, id);
      paths.add(path);
    }
    return paths;
  }

  /** The path an entry is shown at: its own, or a conflict path when a smaller id claims it too. */
  private exposedPath(id: string, path: string): string | undefined {
    if (this.claims.first(path) === id) return path;
    let exposed = conflictPath(path, id.slice(0, 6));
    if ((this.claims.claimed(exposed) && !this.claims.has(exposed, id)) || !isSafeRelativePath(exposed)) exposed = conflictPath(path, id);
    if (isSafeRelativePath(exposed)) return exposed;
    this.logger.warn(`sync: ${path} is claimed twice and no conflict name fits; one copy is not shown`);
    return undefined;
  }

  private setChunks(id: string, chunks: string[]): void {
    for (const h of this.chunksOf.get(id) ?? []) {
      const ids = this.chunkFiles.get(h);
      ids?.delete(id);
      if (ids?.size === 0) this.chunkFiles.delete(h);
    }
    if (chunks.length === 0) {
      this.chunksOf.delete(id);
      return;
    }
    this.chunksOf.set(id, chunks);
    for (const h of chunks) {
      let ids = this.chunkFiles.get(h);
      if (!ids) this.chunkFiles.set(h, (ids = new Set()));
      ids.add(id);
    }
  }
}
