/**
 * A joiner's first copy of the workspace writes thousands of new files into folders it creates: the
 * general write (fsutil.ts `atomicWrite`: every path component looked at, the target looked at, a
 * compare-and-swap by rename aside and link) cost about 14 file-system calls a file, most of them on
 * paths that do not exist (each a thrown ENOENT). Here each folder is checked (and made) once, by
 * whichever write reaches it first while the others wait for that same check, and a new file is
 * placed by link(), which never replaces anything: five calls a file (open, write, close, link,
 * unlink), and no lstat of the target, each made synchronously in slices (quick-io.ts). Whatever is already at the path sends the write back to the
 * general path, which decides as before.
 *
 * Only for the first copy, before the mirror makes any link from the session (tree-mirror.ts waits
 * for start()), so a folder checked then is not replaced by a link from a peer before it ends.
 */
import * as fs from 'node:fs/promises';
import { UnsafePathError, resolveInside } from './paths';
import { QuickIo } from './quick-io';
import { tempPathBeside } from './swap';

/** The folders (relative, '' the root) found real, with no link on their path, during one first copy. */
export class CheckedFolders {
  private readonly checks = new Map<string, Promise<void>>();
  /** The first copy's file-system calls, made synchronously in slices (quick-io.ts). */
  readonly io = new QuickIo();

  /** Resolves once `folder` and those it is in are real folders (made if missing); throws if one is not. */
  check(root: string, folder: string): Promise<void> {
    let c = this.checks.get(folder);
    if (!c) this.checks.set(folder, (c = this.checkOnce(root, folder)));
    return c;
  }

  private async checkOnce(root: string, folder: string): Promise<void> {
    if (folder === '') return; // the shared folder itself (its own checks are the mirror's)
    const slash = folder.lastIndexOf('/');
    await this.check(root, slash < 0 ? '' : folder.slice(0, slash));
    const abs = resolveInside(root, folder);
    let st = await this.io.lstat(abs);
    if (!st) {
      await this.io.mkdir(abs);
      st = await this.io.lstat(abs); // made by us, or by someone in between: looked at either way
      if (!st) throw Object.assign(new Error(`${folder} vanished as it was made`), { code: 'ENOENT' });
    }
    if (st.isSymbolicLink()) throw new UnsafePathError(folder, `passes through the symlink ${folder}`);
    if (!st.isDirectory()) throw Object.assign(new Error(`${folder} is not a folder here`), { code: 'ENOTDIR' });
  }
}

/**
 * Writes a new file at `rel` if nothing is there: true once placed, false if the path is taken
 * (anything, even a link or a folder: the caller's general write decides). Never fsynced: a first
 * copy's file lost in a crash is written again from the session.
 */
export async function placeNewFile(root: string, rel: string, data: Uint8Array, folders: CheckedFolders): Promise<boolean> {
  const slash = rel.lastIndexOf('/');
  await folders.check(root, slash < 0 ? '' : rel.slice(0, slash));
  const target = resolveInside(root, rel);
  const temp = tempPathBeside(target);
  const { io } = folders;
  await io.writeNew(temp, data, 0o644);
  try {
    await io.link(temp, target);
  } catch (err) {
    await io.unlink(temp, true);
    // Taken (EEXIST), or a file system without hard links: the general write handles both.
    if (['EEXIST', 'EPERM', 'ENOTSUP', 'ENOSYS'].includes((err as NodeJS.ErrnoException).code ?? '')) return false;
    throw err;
  }
  await io.unlink(temp);
  return true;
}

/** Writes a new temporary file (never an existing one; `finish` before it is closed), gone again if that fails. */
export async function writeTemp(temp: string, data: Uint8Array, mode: number, finish?: (handle: fs.FileHandle) => Promise<void>): Promise<void> {
  const handle = await fs.open(temp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await finish?.(handle);
  } catch (err) {
    await handle.close();
    await fs.rm(temp, { force: true });
    throw err;
  }
  await handle.close();
}
