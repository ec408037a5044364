/**
 * Writes into the folder that failed (a full disk, no permission), kept so that they are told to the
 * person as such, counted against "joined", and retried: on the file's next change and periodically.
 */

export interface WriteFailure {
  path: string;
  /** The error code (ENOSPC, EACCES, …) or "error". */
  code: string;
  /** Person-readable: "disk full", "permission denied", … */
  why: string;
}

/** How often failed writes are tried again while any remain. */
export const WRITE_RETRY_MS = 5000;

const WHY: Record<string, string> = {
  ENOSPC: 'disk full',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'name too long for this file system',
  EISDIR: 'a folder is in the way',
  ENOTDIR: 'a file is in the way of its folder',
};

export function describeWriteError(err: unknown): { code: string; why: string } {
  const code = (err as NodeJS.ErrnoException)?.code ?? 'error';
  return { code, why: WHY[code] ?? ((err as Error)?.message || 'unknown error') };
}

export class WriteFailures {
  private readonly failed = new Map<string, WriteFailure>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** Called with the paths to write again; the owner re-queues their writes. */
    private readonly retry: (paths: string[]) => void,
    private readonly intervalMs = WRITE_RETRY_MS,
  ) {}

  /** Records a failure; true when the path was not failing before (so that it is told once). */
  add(rel: string, err: unknown): boolean {
    const fresh = !this.failed.has(rel);
    this.failed.set(rel, { path: rel, ...describeWriteError(err) });
    this.timer ??= setInterval(() => this.retry([...this.failed.keys()]), this.intervalMs);
    return fresh;
  }

  /** A write (or a removal) of the path succeeded; true when it had been failing. */
  clear(rel: string): boolean {
    const had = this.failed.delete(rel);
    if (this.failed.size === 0) this.stop();
    return had;
  }

  has(rel: string): boolean {
    return this.failed.has(rel);
  }

  list(): WriteFailure[] {
    return [...this.failed.values()];
  }

  get size(): number {
    return this.failed.size;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** "5 could not be written: disk full" (the commonest reasons first). */
export function summarizeFailures(failures: WriteFailure[]): string {
  const counts = new Map<string, number>();
  for (const f of failures) counts.set(f.why, (counts.get(f.why) ?? 0) + 1);
  const whys = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([why, n]) => (counts.size > 1 ? `${why} (${n})` : why));
  return `${failures.length} could not be written: ${whys.join(', ')}`;
}
