/**
 * How much of the shared folder is here (the one SyncProgress shape, api.ts), kept up to date as
 * files and contents arrive so that asking is cheap, and the promise of completeness.
 */
import type { FileEntry, SyncProgress } from './api';
import type { ViewChange } from './file-view';

export class ProgressTracker {
  /** Live files whose content is here, with the size counted for them. */
  private readonly available = new Map<string, number>();
  private availableBytes = 0;
  private totalBytes = 0;
  private readonly completeWaiters: Array<() => void> = [];

  constructor(
    private readonly state: { indexReady(): boolean; fileCount(): number },
    /** Another file's content became available. */
    private readonly onArrival: (progress: SyncProgress) => void,
  ) {}

  progress(): SyncProgress {
    const indexReady = this.state.indexReady();
    const totalFiles = this.state.fileCount();
    return {
      indexReady,
      files: this.available.size,
      totalFiles,
      bytes: this.availableBytes,
      totalBytes: this.totalBytes,
      complete: indexReady && this.available.size === totalFiles,
    };
  }

  whenComplete(): Promise<void> {
    if (this.progress().complete) return Promise.resolve();
    return new Promise((resolve) => this.completeWaiters.push(resolve));
  }

  viewChanged(changes: ViewChange[]): void {
    for (const { old, now } of changes) this.totalBytes += (now?.size ?? 0) - (old?.size ?? 0);
  }

  /** Counts a file's content as here or not (entry undefined: the file is gone). */
  set(id: string, entry: FileEntry | undefined, here: boolean): void {
    const before = this.available.get(id);
    if (before !== undefined) {
      this.availableBytes -= before;
      this.available.delete(id);
    }
    if (entry && here) {
      this.available.set(id, entry.size);
      this.availableBytes += entry.size;
    }
    if (before === undefined && entry && here) this.onArrival(this.progress());
    this.check();
  }

  check(): void {
    if (this.completeWaiters.length === 0 || !this.progress().complete) return;
    for (const w of this.completeWaiters.splice(0)) w();
  }
}
