/**
 * Temporary files that a killed peer left behind. Every write goes through a hidden
 * `.<random>.hyperpair-tmp` beside its target (fsutil.ts); a process killed between creating and
 * renaming it leaves one. At start nobody else writes them, so every one found is litter. A file
 * moved aside for a compare-and-swap (`.<random>.<name>.hyperpair-tmp`, swap.ts) is someone's content:
 * if its file is missing, the process died in the middle of the swap and it goes back in its place.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from '../session/log';
import { TEMP_SUFFIX } from './fsutil';

/** Only our own names: a dot, 12 hex characters, the suffix. */
const OURS = new RegExp(`^\\.[0-9a-f]{12}${TEMP_SUFFIX.replace('.', '\\.')}$`);
const ASIDE = new RegExp(`^\\.[0-9a-f]{12}\\.(.+)${TEMP_SUFFIX.replace('.', '\\.')}$`);

/** Removes our leftover temporary files under root (never following links); returns how many. */
export async function removeTempLitter(root: string, logger?: Logger): Promise<number> {
  let removed = 0;
  const walk = async (dir: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const d of entries) {
      const abs = path.join(dir, d.name);
      // Nothing of ours is ever written inside a repository's .git (it is never shared): not walked,
      // as it held half the files of the bench's repositories (every loose object).
      if (d.isDirectory() && d.name === '.git') continue;
      if (d.isDirectory()) await walk(abs);
      else if (d.isFile() && ASIDE.test(d.name) && (await putBack(abs, path.join(dir, ASIDE.exec(d.name)![1])))) {
        logger?.warn(`${path.join(dir, ASIDE.exec(d.name)![1])} was put back from where an interrupted write had moved it`);
      } else if (d.isFile() && (OURS.test(d.name) || ASIDE.test(d.name))) {
        await fs.rm(abs, { force: true }).then(
          () => removed++,
          (err: Error) => logger?.warn(`could not remove the leftover temporary file ${abs}: ${err.message}`),
        );
      }
    }
  };
  await walk(path.resolve(root));
  if (removed > 0) logger?.info(`removed ${removed} temporary file${removed === 1 ? '' : 's'} left by an interrupted write`);
  return removed;
}

/** Moves a file moved aside back to its name, if that name is free (else the file there is newer). */
async function putBack(aside: string, target: string): Promise<boolean> {
  try {
    await fs.link(aside, target);
  } catch {
    return false;
  }
  await fs.rm(aside, { force: true });
  return true;
}
