/**
 * Sizes, times and content hashes of a folder's files from its last scan, so that the next start of
 * the same folder hashes only what changed. Kept in the folder's state folder (state-dir.ts), never
 * in the shared folder: `scan-cache.json`, a line `{"version":2}` and then a line per file, the JSON
 * array `[path, size, mtimeMs, ctimeMs, ino, hash]` (read and written a slice of the event loop at a
 * time: as one JSON object of 30,000 files each took 50–100 ms in one turn). Version 1, one object
 * `{version: 1, files: {path: [size, mtimeMs, ctimeMs, ino, hash]}}`, is still read.
 *
 * A cached hash is used only when size, mtime, ctime and inode all still match: a write changes
 * ctime even when a tool restores mtime (`touch -r`, rsync -t, git checkout of an older blob), and a
 * rename-over changes the inode. A file changed within the same clock tick as the scan could keep all
 * four; such an entry ("racy", as git calls it) is not trusted the next time.
 */
import * as fs from 'node:fs/promises';
import type { Stats } from 'node:fs';
import * as path from 'node:path';
import { isHash } from './hash';
import { forEachSliced, joinSliced, Slicer } from './slicer';
import { folderStateDir, stateRoot, writeWhole } from './state-dir';

type Row = [size: number, mtimeMs: number, ctimeMs: number, ino: number, hash: string];

const FILE = 'scan-cache.json';
const HEADER = '{"version":2}';

function isRow(row: unknown): row is Row {
  return Array.isArray(row) && row.length === 5 && row.slice(0, 4).every((n) => typeof n === 'number') && isHash(row[4]);
}
/** Changes younger than this when recorded may share a timestamp with a later write. */
const RACY_MS = 2000;

export class ScanCache {
  private rows = new Map<string, Row>();
  private readonly seen = new Set<string>();
  private dirty = false;
  /** The rows being read, or read, from the file; none once a scan let them go. */
  private loading: Promise<void> | undefined;
  hits = 0;
  misses = 0;

  private constructor(
    private readonly file: string,
    private readonly racyMs: number,
  ) {}

  /**
   * The cache of `folder` (empty when there is none, or it cannot be read: it is only a cache).
   * `racyMs`: how recent a change must be to not be trusted next time (tests use 0).
   */
  static async open(folder: string, root = stateRoot(), racyMs = RACY_MS): Promise<ScanCache> {
    const cache = ScanCache.unread(folder, root, racyMs);
    await cache.load();
    return cache;
  }

  /**
   * The same, not read yet: the first scan reads it (scanFolder loads its cache first). A start
   * prints the session's code before it scans; reading 100,000 rows first held the code back 0.25 s.
   */
  static unread(folder: string, root = stateRoot(), racyMs = RACY_MS): ScanCache {
    return new ScanCache(path.join(folderStateDir(folder, root), FILE), racyMs);
  }

  /**
   * Reads the cache from its file, unless it is in memory already. Each scan saves it when it ends
   * and lets it go (5 MB at 30,000 files, needed only while a scan runs): the next scan loads it.
   */
  load(): Promise<void> {
    return (this.loading ??= this.read());
  }

  private async read(): Promise<void> {
    let raw: string;
    try {
      raw = await fs.readFile(this.file, 'utf8');
    } catch {
      return; // none yet, or unreadable: every file is hashed
    }
    if (!raw.startsWith(HEADER + '\n')) return this.readVersion1(raw);
    const slicer = new Slicer();
    // Line by line from the one string (not split into 30,000 strings that would outlive the turns).
    for (let at = HEADER.length + 1, n = 0; at < raw.length; n++) {
      if ((n & 255) === 0) await slicer.maybeYield();
      const end = raw.indexOf('\n', at) >>> 0; // none: past the end
      const line = raw.slice(at, end);
      at = end + 1;
      let row: unknown;
      try {
        row = line ? JSON.parse(line) : undefined;
      } catch {
        continue; // a damaged line: that file is hashed again
      }
      if (Array.isArray(row) && row.length === 6 && typeof row[0] === 'string') {
        const [rel, ...rest] = row as [string, ...unknown[]];
        if (isRow(rest)) this.rows.set(rel, rest);
      }
    }
  }

  /** The cache as an earlier version wrote it: one JSON object. */
  private readVersion1(raw: string): void {
    try {
      const data = JSON.parse(raw) as { version?: number; files?: Record<string, unknown> };
      if (data.version === 1 && data.files && typeof data.files === 'object') {
        for (const [rel, row] of Object.entries(data.files)) if (isRow(row)) this.rows.set(rel, row);
      }
    } catch {
      // unreadable: every file is hashed
    }
  }

  /** The hash recorded for this file, if the file is provably as it was then. */
  lookup(rel: string, st: Stats): string | undefined {
    this.seen.add(rel);
    const row = this.rows.get(rel);
    if (row && row[0] === st.size && row[1] === st.mtimeMs && row[2] === st.ctimeMs && row[3] === st.ino) {
      this.hits++;
      return row[4];
    }
    this.misses++;
    return undefined;
  }

  remember(rel: string, st: Stats, hash: string, now = Date.now()): void {
    this.seen.add(rel);
    // Racy: a write in the same tick as this stat would leave the same times; hash it again next time.
    if (now - Math.max(st.mtimeMs, st.ctimeMs) < this.racyMs) {
      if (this.rows.delete(rel)) this.dirty = true;
      return;
    }
    this.rows.set(rel, [st.size, st.mtimeMs, st.ctimeMs, st.ino, hash]);
    this.dirty = true;
  }

  /**
   * Writes the cache (whole or not at all), keeping only the files this scan saw, and lets it go
   * from memory (load() brings it back). Unsaved, it is only lost: the next scan hashes again.
   */
  async save(): Promise<void> {
    try {
      // A slice at a time (100,000 rows: ~25 ms in one turn).
      await forEachSliced([...this.rows.keys()], (rel) => {
        if (!this.seen.has(rel)) {
          this.rows.delete(rel);
          this.dirty = true;
        }
      });
      if (!this.dirty) return;
      const lines = await joinSliced(this.rows, ([rel, row]) => JSON.stringify([rel, ...row]) + '\n');
      await fs.mkdir(path.dirname(this.file), { recursive: true });
      await writeWhole(this.file, [HEADER + '\n', ...lines]);
    } finally {
      this.rows = new Map();
      this.seen.clear();
      this.dirty = false;
      this.loading = undefined;
    }
  }
}
