/**
 * Where a peer keeps local state about a shared folder, outside that folder and never shared: the
 * sync record (disk-state.ts) and the history of replaced files (history.ts).
 *   $HYPERPAIR_STATE_DIR, else $XDG_STATE_HOME/hyperpair, else ~/.local/state/hyperpair
 *     <first 32 hex of sha256(absolute folder path)>/
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

export function stateRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HYPERPAIR_STATE_DIR) return path.resolve(env.HYPERPAIR_STATE_DIR);
  if (env.XDG_STATE_HOME) return path.join(path.resolve(env.XDG_STATE_HOME), 'hyperpair');
  return path.join(os.homedir(), '.local', 'state', 'hyperpair');
}

/** The state folder of one shared folder. */
export function folderStateDir(folder: string, root = stateRoot()): string {
  const key = createHash('sha256').update(path.resolve(folder)).digest('hex').slice(0, 32);
  return path.join(root, key);
}

/**
 * Names the shared folder inside its state folder (`folder.txt`, for people looking in there: the
 * state folder's own name is only a hash). Written whole or not at all.
 */
export async function nameFolder(stateDir: string, folder: string): Promise<void> {
  await writeWhole(path.join(stateDir, 'folder.txt'), path.resolve(folder) + '\n');
}

/**
 * Writes a state file whole or not at all: a temporary file beside it, renamed over it. `data` may
 * be strings to write one after another (slicer.ts joinSliced): `fs.writeFile` encodes and writes
 * each alone, so that a large file is never one string encoded at once.
 */
export async function writeWhole(file: string, data: string | Uint8Array | readonly string[], mode?: number): Promise<void> {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await fs.writeFile(temp, data, { mode });
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}
