/**
 * What the parts of the disk mirror share (mirror.ts composes them): the folder, the workspace, the
 * record of what each file last held, what the folder excludes, and the one queue every disk
 * operation runs in, so that a write and the reading of a change never interleave.
 */
import { RecentWrites } from './recent-writes';
import type { TypedEmitter } from '../session/events';
import type { Logger } from '../session/log';
import type { KnownFiles } from './disk-state';
import type { FolderGuard, Halt } from './folder-guard';
import type { FileHistory } from './history';
import type { ExcludeRules, ScanOptions } from './scan';
import { Slicer } from './slicer';
import type { SharedWorkspace } from './workspace';
import type { WriteFailure } from './write-failures';
import type { TreeEntry } from './tree-entries';

export interface MirrorOptions {
  root: string;
  workspace: SharedWorkspace;
  logger?: Logger;
  scan?: ScanOptions;
  /** Milliseconds to coalesce a burst of text changes into one write. */
  writeDelayMs?: number;
  /** What this folder held when last in sync (a DiskRecord's map, kept across restarts). */
  known?: KnownFiles;
  /** The links and empty folders it held then (the same record's). */
  knownTree?: Map<string, TreeEntry>;
  /** Where what remote changes replace or delete is kept first (none: not kept). */
  history?: FileHistory;
}

export interface MirrorEvents {
  /** The mirror stopped sharing from its folder (see folder-guard.ts); nothing was deleted elsewhere. */
  halted: [halt: Halt];
  /** It follows its folder again, after the deletes were confirmed or the files written back. */
  resumed: [how: 'confirmed' | 'restored'];
  /** A write into the folder failed (told once per file until it succeeds); it is retried. */
  'write-failed': [failure: WriteFailure];
  /** A file that could not be written now is. */
  'write-recovered': [path: string];
}

export class MirrorCore {
  private queue: Promise<void> = Promise.resolve();
  /** Jobs queued and not finished. */
  private jobs = 0;
  /** What the writer put on disk lately (see RecentWrites). */
  readonly written = new RecentWrites();
  /** Thousands of jobs at once (a start, a join) must not hold the event loop: they take turns. */
  private readonly slicer = new Slicer();
  closed = false;

  constructor(
    readonly root: string,
    readonly ws: SharedWorkspace,
    readonly logger: Logger,
    /** What this mirror last read from or wrote to each path: a write it made is not a change. */
    readonly known: KnownFiles,
    readonly options: MirrorOptions,
    readonly guard: FolderGuard,
    readonly events: TypedEmitter<MirrorEvents>,
    /** What the folder leaves out (replaced when its .gitignore files are read again). */
    public rules: ExcludeRules,
  ) {}

  enqueue(job: () => Promise<void>): void {
    this.jobs++;
    this.queue = this.queue
      .then(() => this.slicer.maybeYield())
      .then(job)
      .catch((err: Error) => this.logger.warn(`mirror: ${err.message}`))
      .finally(() => this.jobs--);
  }

  /**
   * `job` for each of `items`, in order, as one place in the queue: what enqueueing each would do
   * (nothing else runs between them either), without a promise chain of thousands of links made in
   * one turn (a mirror's start over 30,000 files: three young collections back to back, ~45 ms).
   */
  enqueueEach<T>(items: readonly T[], job: (item: T) => Promise<void>): void {
    if (!items.length) return;
    this.enqueue(async () => {
      for (const item of items) {
        if (this.closed) return; // nothing more is written or removed once the mirror is closed
        await this.slicer.maybeYield();
        try {
          await job(item);
        } catch (err) {
          this.logger.warn(`mirror: ${(err as Error).message}`); // as enqueue: one item's failure stops no other
        }
      }
    });
  }

  /** Runs a job in the queue (after every write and disk change before it) and returns its result. */
  run<T>(job: () => Promise<T>): Promise<T> {
    this.jobs++;
    const result = this.queue.then(() => this.slicer.maybeYield()).then(job);
    this.queue = result.then(
      () => {},
      () => {},
    ).finally(() => this.jobs--);
    return result;
  }

  /** Whether jobs are queued or running. */
  get busy(): boolean {
    return this.jobs > 0;
  }

  /** Resolves when the queue is empty, including jobs queued while waiting. */
  async drained(): Promise<void> {
    let q: Promise<void>;
    do {
      q = this.queue;
      await q;
    } while (q !== this.queue);
  }
}
