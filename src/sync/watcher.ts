/**
 * Notices changes made on disk by anything (an editor, git checkout, a build tool) and reports the
 * affected relative paths in batches, so that a rename (delete + create) arrives together.
 *
 * One non-recursive watch per directory: Node 20's recursive watch on Linux watches files
 * individually and loses a file that is replaced by rename (which is how atomic writes work).
 * A directory watch reports every entry created, changed, renamed or removed in it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../session/log';
import { TEMP_SUFFIX } from './fsutil';
import { Slicer } from './slicer';

export class FolderWatcher {
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private readonly changed = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  /** When the oldest unreported change arrived: a steady stream of changes still gets reported. */
  private pendingSince = 0;
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly onBatch: (paths: string[]) => void,
    private readonly logger: Logger,
    /** Directories for which this returns true are neither watched nor reported. */
    private readonly skipDir: (rel: string) => boolean = () => false,
    private readonly debounceMs = 75,
    private readonly maxWaitMs = 1000,
  ) {}

  /**
   * Watches every folder of the tree, a slice of the event loop at a time: thousands of folders
   * watched at once stalled a joiner for a third of a second.
   */
  async start(): Promise<void> {
    const slicer = new Slicer();
    const todo = [''];
    while (todo.length && !this.closed) {
      todo.push(...this.watchDir(todo.pop()!));
      await slicer.maybeYield();
    }
  }

  /** Reports pending changes now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.changed.size === 0) return;
    const batch = [...this.changed];
    this.changed.clear();
    this.onBatch(batch);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  /** A folder that appeared, and the folders in it. */
  private watchTree(rel: string): void {
    const todo = [rel];
    while (todo.length) todo.push(...this.watchDir(todo.pop()!));
  }

  /** Watches one folder; returns its subfolders. */
  private watchDir(rel: string): string[] {
    if (this.closed || this.watchers.has(rel) || (rel && this.skipDir(rel))) return [];
    const abs = rel ? path.join(this.root, ...rel.split('/')) : this.root;
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(abs, (_event, filename) => filename && this.onEvent(rel, filename.toString()));
    } catch {
      return []; // vanished already
    }
    watcher.on('error', (err) => {
      this.logger.debug(`watcher ${rel || '.'}: ${err.message}`);
      this.unwatch(rel);
    });
    this.watchers.set(rel, watcher);
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true });
    } catch {
      return [];
    }
    return entries.filter((d) => d.isDirectory()).map((d) => (rel ? `${rel}/${d.name}` : d.name));
  }

  private unwatch(rel: string): void {
    for (const [dir, w] of this.watchers) {
      if (dir === rel || dir.startsWith(rel + '/')) {
        w.close();
        this.watchers.delete(dir);
      }
    }
  }

  private onEvent(dir: string, name: string): void {
    if (this.closed || name.endsWith(TEMP_SUFFIX)) return;
    const rel = dir ? `${dir}/${name}` : name;
    let isDir = false;
    try {
      isDir = fs.lstatSync(path.join(this.root, ...rel.split('/'))).isDirectory();
    } catch {
      this.unwatch(rel); // gone: if it was a directory, so are its watches
    }
    if (isDir) {
      if (this.skipDir(rel)) return;
      this.watchTree(rel);
    }
    if (this.changed.size === 0) this.pendingSince = Date.now();
    this.changed.add(rel);
    clearTimeout(this.timer);
    const wait = Math.min(this.debounceMs, Math.max(0, this.pendingSince + this.maxWaitMs - Date.now()));
    this.timer = setTimeout(() => this.flush(), wait);
  }
}
