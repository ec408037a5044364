/**
 * Putting a finished temporary file in a target's place only over what the caller last read, without
 * ever destroying what someone else wrote there.
 *
 * Linux has no rename-if-unchanged (and renameat2's flags are out of Node's reach), and locks are
 * advisory (vim, formatters and shells ignore them): however late the last look at the target, a
 * write can land between it and a rename, and the rename would unlink it for good. So the target is
 * never renamed over. It is first renamed aside (atomically: whatever is at the path at that instant,
 * even a file another tool renamed there a microsecond ago, is moved, not destroyed), then the new
 * file is linked into the empty path (link() never replaces: if someone created the path in between,
 * theirs stays and ours is not placed). Only then is what was moved aside compared with what the
 * caller expected; a difference is handed back as `displaced`, for the caller to merge. What remains
 * outside our control is a write through a descriptor opened before the swap and written after the
 * moved-aside file was read (rename-based saves of editors share this): the mirror reads that file
 * last, right after the swap, to make that window as short as the system calls allow.
 */
import { linkSync, lstatSync, readFileSync, renameSync, unlinkSync, type BigIntStats } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { contentHash } from './hash';

/** The suffix of the mirror's own temporary files; the watcher ignores them. */
export const TEMP_SUFFIX = '.hyperpair-tmp';

export function tempPathBeside(target: string): string {
  // A short name of its own (the target's name may already be at the file system's length limit),
  // in the same directory so that renames and links stay on one file system.
  return path.join(path.dirname(target), `.${randomName()}${TEMP_SUFFIX}`);
}

/** Random bytes drawn many names at a time: one draw a file was ~9 µs of a join's 30,000 writes. */
let pool = Buffer.alloc(0);
let drawn = 0;
function randomName(): string {
  if (drawn + 6 > pool.length) [pool, drawn] = [randomBytes(6 * 512), 0];
  return pool.toString('hex', drawn, (drawn += 6));
}

/**
 * Where a target is moved aside for a swap: its own name inside, so that if the process dies between
 * the two steps, the next start puts it back (litter.ts) rather than the file seeming deleted.
 */
export function asidePathFor(target: string): string {
  const named = `.${randomBytes(6).toString('hex')}.${path.basename(target)}${TEMP_SUFFIX}`;
  return path.join(path.dirname(target), Buffer.byteLength(named) <= 255 ? named : `.${randomBytes(6).toString('hex')}-aside${TEMP_SUFFIX}`);
}

/** The file no longer holds what the caller last read: someone else wrote (or removed) it. */
export class WriteConflict extends Error {
  constructor(
    readonly rel: string,
    /**
     * The content someone wrote over the expected one in the instant of the swap, moved aside and
     * not in the file now: the caller must merge it (it is nowhere else).
     */
    readonly displaced?: Buffer,
    /** The path was created anew by someone while it was empty for the swap: what is there is theirs. */
    readonly recreated = false,
  ) {
    super(`${rel} changed on disk before it could be written`);
    this.name = 'WriteConflict';
  }
}

export interface SwapResult {
  /** What was in the target's place instead of the expected content; the target now holds ours. */
  displaced?: Buffer;
}

export function lstatOrUndefined(abs: string): BigIntStats | undefined {
  return lstatSync(abs, { bigint: true, throwIfNoEntry: false });
}

export function sameFile(a: BigIntStats | undefined, b: BigIntStats | undefined): boolean {
  if (!a || !b) return a === b;
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/**
 * Puts `temp` at `target`, which was last seen holding `expect` with the identity `checked` (undefined:
 * absent). Throws a WriteConflict, leaving whatever is at the target in place, when the target is not
 * that file any more; returns what was displaced when the file changed in the instant of the swap.
 * All synchronous: nothing else of this process runs in between.
 */
export function swapInto(rel: string, temp: string, target: string, checked: BigIntStats | undefined, expect: { hash: string } | null): SwapResult {
  if (checked === undefined || expect === null) {
    // Nothing was there: link() creates the path only if it is still free.
    placeOrConflict(rel, temp, target);
    return {};
  }
  if (!sameFile(checked, lstatOrUndefined(target))) throw new WriteConflict(rel);
  const aside = asidePathFor(target);
  try {
    renameSync(target, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new WriteConflict(rel); // removed meanwhile
    throw err;
  }
  const moved = lstatOrUndefined(aside);
  if (!moved?.isFile()) {
    // A folder or a link put there in this instant is no one's edit of the file: back it goes.
    renameSync(aside, target);
    throw new WriteConflict(rel);
  }
  try {
    const displaced = untouched(checked, moved) ? undefined : changedContent(aside, expect.hash);
    try {
      placeOrConflict(rel, temp, target);
    } catch (err) {
      if (err instanceof WriteConflict) throw new WriteConflict(rel, displaced, true);
      throw err;
    }
    return { displaced };
  } finally {
    unlinkSync(aside);
  }
}

/**
 * The renamed file is the one checked, and not written since: same identity, size and modification
 * time (its change time moved with the rename). A write of the same size within the clock's tick
 * leaves those alone, so a file modified in the last second is compared by content instead.
 */
function untouched(checked: BigIntStats, moved: BigIntStats): boolean {
  const recent = BigInt(Date.now()) * 1_000_000n - moved.mtimeNs < 1_000_000_000n;
  return !recent && checked.ino === moved.ino && checked.dev === moved.dev && checked.size === moved.size && checked.mtimeNs === moved.mtimeNs;
}

/** The file's content if it is not the expected one (its times moved, its bytes may not have). */
function changedContent(file: string, expectHash: string): Buffer | undefined {
  const bytes = readFileSync(file);
  return contentHash(bytes) === expectHash ? undefined : bytes;
}

function placeOrConflict(rel: string, temp: string, target: string): void {
  try {
    linkSync(temp, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new WriteConflict(rel);
    // A file system without hard links (FAT, some network shares): a rename, if the path is free.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
    if (lstatOrUndefined(target)) throw new WriteConflict(rel);
    renameSync(temp, target);
    return;
  }
  unlinkSync(temp);
}
