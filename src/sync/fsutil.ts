/**
 * Writing into the shared folder safely: every path validated and checked for symlinks, every write
 * atomic (a temporary file beside the target, fsync, rename), so that a crash never leaves half a file.
 */
import * as fs from 'node:fs/promises';
import { readdirSync, type BigIntStats } from 'node:fs';
import * as path from 'node:path';
import { contentHash } from './hash';
import { type CheckedFolders, placeNewFile, writeTemp } from './first-copy';
import { assertNoSymlinks, inspectPath, resolveInside } from './paths';
import { lstatOrUndefined, swapInto, tempPathBeside, WriteConflict, type SwapResult } from './swap';

export { TEMP_SUFFIX, WriteConflict } from './swap';

export interface WriteOptions {
  /**
   * fsync a file that did not exist before (default true). A joiner's first copy of the workspace
   * turns it off: a crash then can only leave a new file incomplete, which the session still holds
   * and writes again, while an fsync per file made that copy disk-bound (about 5 ms a file here).
   * Replacing an existing file always syncs before the rename, so its old content is never lost.
   */
  syncNewFile?: boolean;
  /**
   * Compare-and-swap: the content the target must still hold when it is replaced (`null`: there must
   * be no file there). Checked right before the rename; a mismatch throws a WriteConflict and leaves
   * the target untouched.
   */
  expect?: { hash: string; size: number } | null;
  /**
   * A joiner's first copy (first-copy.ts): each folder is checked once, and a new file (`expect:
   * null`) is placed by link() with no look at its path first. Only before the mirror makes any link
   * from the session (tree-mirror.ts waits for start()).
   */
  folders?: CheckedFolders;
}

/**
 * Writes `data` to `rel` atomically. With `expect`, a compare-and-swap (see swap.ts): resolves with
 * what was displaced when the file changed in the very instant of the swap (the caller merges it).
 */
export async function atomicWrite(root: string, rel: string, data: Uint8Array, options: WriteOptions = {}): Promise<SwapResult> {
  if (options.folders && options.expect === null && options.syncNewFile === false && (await placeNewFile(root, rel, data, options.folders))) return {};
  const target = resolveInside(root, rel);
  let seen = await inspectPath(root, rel);
  if (seen.missing > 1) {
    await fs.mkdir(path.dirname(target), { recursive: true });
    seen = await inspectPath(root, rel); // a directory swapped for a link while we created parents
  }
  // A folder in the file's place is no one's edit of the file: a write failure (told, and retried).
  if (seen.target?.isDirectory()) throw Object.assign(new Error(`${rel} is a folder here`), { code: 'EISDIR' });
  const temp = tempPathBeside(target);
  // Keep an existing file's permissions (an executable script stays executable); a new file gets
  // the usual 0644 narrowed by the user's umask.
  // (The walk above already looked at the target: no second lstat.)
  const existing = seen.target?.isFile() ? seen.target.mode & 0o777 : undefined;
  await writeTemp(temp, data, existing ?? 0o644, async (handle) => {
    if (existing !== undefined) await handle.chmod(existing);
    if (existing !== undefined || options.syncNewFile !== false) await handle.sync();
  });
  try {
    if (options.expect === undefined) {
      await fs.rename(temp, target);
      return {};
    }
    const checked = await holding(target, options.expect);
    if (checked === false) throw new WriteConflict(rel);
    return swapInto(rel, temp, target, checked, options.expect);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}

/** Whether `abs` holds exactly the expected content (`null`: there is nothing there). */
export async function holds(abs: string, expect: { hash: string; size: number } | null): Promise<boolean> {
  return (await holding(abs, expect)) !== false;
}

/**
 * `holds`, returning the file's identity when it does (undefined: expected absent and absent), so
 * that a last synchronous look can tell whether it changed since.
 */
async function holding(abs: string, expect: { hash: string; size: number } | null): Promise<BigIntStats | undefined | false> {
  const handle = await fs.open(abs, 'r').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!handle) return expect === null && lstatOrUndefined(abs) === undefined ? undefined : false;
  try {
    const st = await handle.stat({ bigint: true });
    if (expect === null || !st.isFile() || st.size !== BigInt(expect.size)) return false;
    const bytes = await handle.readFile();
    const link = lstatOrUndefined(abs); // opened through a symlink planted meanwhile: not the file
    if (!link?.isFile() || link.ino !== st.ino) return false;
    return bytes.byteLength === expect.size && contentHash(bytes) === expect.hash ? st : false;
  } finally {
    await handle.close();
  }
}

export async function removeFile(root: string, rel: string): Promise<void> {
  const target = resolveInside(root, rel);
  await assertNoSymlinks(root, rel);
  await fs.rm(target, { force: true });
  await pruneEmptyDirs(root, path.dirname(target));
}

export async function moveFile(root: string, from: string, to: string): Promise<void> {
  const a = resolveInside(root, from);
  const b = resolveInside(root, to);
  await assertNoSymlinks(root, from);
  await assertNoSymlinks(root, to);
  await fs.mkdir(path.dirname(b), { recursive: true });
  await fs.rename(a, b);
  await pruneEmptyDirs(root, path.dirname(a));
}

/** Removes empty directories from `dir` up to (not including) the root. */
export async function pruneEmptyDirs(root: string, dir: string): Promise<void> {
  const r = path.resolve(root);
  let current = path.resolve(dir);
  while (current !== r && current.startsWith(r + path.sep)) {
    try {
      await fs.rmdir(current);
    } catch {
      return; // not empty (or gone)
    }
    current = path.dirname(current);
  }
}

export async function readIfFile(abs: string): Promise<Buffer | undefined> {
  try {
    const st = await fs.lstat(abs);
    if (!st.isFile()) return undefined;
    return await fs.readFile(abs);
  } catch {
    return undefined;
  }
}

export async function isEmptyOrMissingDir(dir: string): Promise<boolean> {
  try {
    return (await fs.readdir(dir)).length === 0;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** isEmptyOrMissingDir for the editor's join prompts, which decide before anything is awaited. */
export function isEmptyOrMissingDirSync(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
