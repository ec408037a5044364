/**
 * Many small files looked at, read or written one after another (a scan, a join, a clone's intake):
 * each call made synchronously, in slices of a few milliseconds (slicer.ts) so that the event loop
 * still turns. Node's promise API costs about 100 µs of main-thread time a call (a thread-pool round
 * trip, a promise, a FileHandle), and a file is four to six calls; the same calls made synchronously
 * on a local disk, the file in the page cache, cost a few microseconds each. Reading 30,000 files of
 * ~1.5 KB (lstat, then read) took 3.6 s with 16 at once through fs/promises and 0.35 s synchronously
 * on the 2-core VM (README, "Quick file-system calls").
 *
 * A call that blocks for long (a network drive, a disk waking up) would stall the loop for as long:
 * after SLOW_IN_A_ROW calls in a row over SLOW_CALL_MS each, this instance makes every later call
 * through the promise API. (One slow call proves nothing: a garbage collection or the process not
 * being scheduled lands inside a call now and then; taken for a slow disk, it sent a whole join
 * through the promise API.)
 */
import * as fsSync from 'node:fs';
import type { Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { Slicer } from './slicer';

/** A synchronous call slower than this counts as slow... */
const SLOW_CALL_MS = 20;
/** ...and this many in a row send the rest through the promise API. */
const SLOW_IN_A_ROW = 3;

export class QuickIo {
  private slowCalls = 0;

  constructor(private readonly slicer = new Slicer()) {}

  /** Runs `sync` in this slice (a turn first if the slice is spent), or `promised` once calls proved slow. */
  async run<T>(sync: () => T, promised: () => Promise<T>): Promise<T> {
    if (this.slow) return promised();
    await this.slicer.maybeYield();
    const started = performance.now();
    try {
      return sync();
    } finally {
      this.slowCalls = performance.now() - started > SLOW_CALL_MS ? this.slowCalls + 1 : 0;
    }
  }

  /**
   * Runs `work`, which has no promise-API form (reads at offsets of an open file, a pack's appends),
   * in this slice: a turn first if the slice is spent. It stays synchronous once calls proved slow.
   */
  sliced<T>(work: () => T): Promise<T> {
    return this.run(work, async () => work());
  }

  /** Whether calls go through the promise API from now on (they proved slow). */
  get slow(): boolean {
    return this.slowCalls >= SLOW_IN_A_ROW;
  }

  /** The path's own stats (a link is not followed), or undefined if nothing is there. */
  lstat(abs: string): Promise<Stats | undefined> {
    return this.run(
      () => {
        try {
          return fsSync.lstatSync(abs);
        } catch (err) {
          return ignoreMissing(err as NodeJS.ErrnoException);
        }
      },
      () => fs.lstat(abs).catch(ignoreMissing),
    );
  }

  /** The bytes of the regular file at `abs`, or undefined (missing, a link, a folder, unreadable). */
  readIfFile(abs: string): Promise<Buffer | undefined> {
    return this.run(
      () => readRegularSync(abs, false),
      async () => ((await fs.lstat(abs).catch(() => undefined))?.isFile() ? fs.readFile(abs).catch(() => undefined) : undefined),
    );
  }

  /** The bytes of the regular file at `abs` (followed if a link), or undefined if it cannot be read. */
  read(abs: string): Promise<Buffer | undefined> {
    return this.run(
      () => readRegularSync(abs, true),
      () => fs.readFile(abs).catch(() => undefined),
    );
  }

  /** Makes the folder `abs` (not its parents); an existing one is no error. */
  mkdir(abs: string): Promise<void> {
    return this.run(
      () => {
        try {
          fsSync.mkdirSync(abs);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      },
      () =>
        fs.mkdir(abs).then(
          () => undefined,
          (err: NodeJS.ErrnoException) => {
            if (err.code !== 'EEXIST') throw err;
          },
        ),
    );
  }

  /**
   * Writes a new file at `temp` (never an existing one: `wx`), removed again if that fails. Not
   * fsynced (callers that need it use fsutil's writes).
   */
  writeNew(temp: string, data: Uint8Array, mode: number): Promise<void> {
    return this.run(
      () => {
        const fd = fsSync.openSync(temp, 'wx', mode);
        try {
          for (let at = 0; at < data.byteLength; ) at += fsSync.writeSync(fd, data, at, data.byteLength - at);
        } catch (err) {
          fsSync.closeSync(fd);
          fsSync.rmSync(temp, { force: true });
          throw err;
        }
        fsSync.closeSync(fd);
      },
      async () => {
        const handle = await fs.open(temp, 'wx', mode);
        try {
          await handle.writeFile(data);
        } catch (err) {
          await handle.close();
          await fs.rm(temp, { force: true });
          throw err;
        }
        await handle.close();
      },
    );
  }

  /** Writes `data` to `abs` in place, created or truncated (no temporary file, not fsynced). */
  writeFile(abs: string, data: string | Uint8Array, mode: number): Promise<void> {
    return this.run(
      () => fsSync.writeFileSync(abs, data, { mode }),
      () => fs.writeFile(abs, data, { mode }),
    );
  }

  link(existing: string, target: string): Promise<void> {
    return this.run(
      () => fsSync.linkSync(existing, target),
      () => fs.link(existing, target),
    );
  }

  /** Removes the file at `abs`; a missing one is no error when `force`. */
  unlink(abs: string, force = false): Promise<void> {
    return this.run(
      () => (force ? fsSync.rmSync(abs, { force: true }) : fsSync.unlinkSync(abs)),
      () => (force ? fs.rm(abs, { force: true }) : fs.unlink(abs)),
    );
  }
}

const { O_RDONLY, O_NONBLOCK = 0, O_NOFOLLOW } = fsSync.constants;

/**
 * Reads a regular file only: opened without blocking (a FIFO put there since it was looked at would
 * otherwise hold the event loop until someone writes to it) and checked on the open descriptor. A
 * link is not followed unless `follow` (O_NOFOLLOW; where the platform lacks it, looked at first).
 */
function readRegularSync(abs: string, follow: boolean): Buffer | undefined {
  let fd: number;
  try {
    if (!follow && O_NOFOLLOW === undefined && !fsSync.lstatSync(abs).isFile()) return undefined;
    fd = fsSync.openSync(abs, O_RDONLY | O_NONBLOCK | (follow ? 0 : (O_NOFOLLOW ?? 0)));
  } catch {
    return undefined;
  }
  try {
    return fsSync.fstatSync(fd).isFile() ? fsSync.readFileSync(fd) : undefined;
  } catch {
    return undefined;
  } finally {
    fsSync.closeSync(fd);
  }
}

function ignoreMissing(err: NodeJS.ErrnoException): undefined {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
  throw err;
}
