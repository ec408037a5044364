/**
 * A walk of a folder's folders for what the index's `tree` map holds (tree-entries.ts): symbolic
 * links (read, judged, never followed) and folders with nothing in them. For a git work tree, whose
 * list names files only, and for a folder that appears in the workspace at once (moved in).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { unsafePathReason } from './paths';
import { readLink, type LinkVerdict } from './symlinks';

export interface ScannedLink {
  rel: string;
  /** As written in the link, POSIX separators. */
  target: string;
}

export interface TreeWalk {
  links: ScannedLink[];
  /** Links that leave the workspace (not shared), with the verdict. */
  outside: Array<{ rel: string; verdict: LinkVerdict }>;
  folders: string[];
}

/**
 * Walks `relDir` (`''`: the root) without following links; `skip(rel)` says which folders are left
 * out (excluded, another repository). `relDir` itself counts as an empty folder when it is one.
 */
export async function findTreeEntries(root: string, relDir: string, skip: (rel: string) => boolean): Promise<TreeWalk> {
  const out: TreeWalk = { links: [], outside: [], folders: [] };
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.readdir(path.join(root, ...rel.split('/').filter(Boolean)), { withFileTypes: true }).catch(() => undefined);
    if (!entries) return; // unreadable or gone: the file scan says so
    if (entries.length === 0 && rel !== '') out.folders.push(rel);
    for (const d of entries) {
      const child = rel ? `${rel}/${d.name}` : d.name;
      if (unsafePathReason(child)) continue; // the file scan reports unportable names
      if (d.isDirectory()) {
        if (!skip(child)) await walk(child);
      } else if (d.isSymbolicLink()) {
        const verdict = await readLink(root, child).catch(() => undefined);
        if (!verdict) continue;
        if (verdict.outside) out.outside.push({ rel: child, verdict });
        else out.links.push({ rel: child, target: verdict.target });
      }
    }
  };
  await walk(relDir);
  return out;
}
