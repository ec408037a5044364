/**
 * Paths that differ only in letter case (`A.txt`, `a.txt`): distinct files on Linux, one file on the
 * case-insensitive file systems macOS and Windows use by default, where a peer would keep only one.
 * Found so that a person is told before that happens, on the sharer's side and on a joiner's.
 */

import { forEachSliced } from './slicer';

const NOT_ASCII = /[^\x00-\x7f]/;

/**
 * Groups of two or more paths that are the same when case (and Unicode normal form) is ignored, a
 * slice of the event loop at a time (a joined folder's 30,000 paths).
 */
export async function caseCollisions(paths: Iterable<string>): Promise<string[][]> {
  const found = new Collisions();
  await forEachSliced(paths, (p) => found.add(p), 512);
  return found.groups();
}

/** Groups in the order of their first path; a group's paths sorted. */
class Collisions {
  /** Each key's first path: an array only for keys seen twice (most never are). */
  private readonly first = new Map<string, string>();
  private readonly more = new Map<string, string[]>();

  add(p: string): void {
    // An ASCII path is its own normal form: normalize() of every path of a 30,000-file tree took
    // about as long again as the rest.
    const key = (NOT_ASCII.test(p) ? p.normalize('NFC') : p).toLowerCase();
    const first = this.first.get(key);
    if (first === undefined) {
      this.first.set(key, p);
      return;
    }
    const group = this.more.get(key);
    if (group) group.push(p);
    else this.more.set(key, [first, p]);
  }

  groups(): string[][] {
    const out: string[][] = [];
    if (this.more.size === 0) return out;
    for (const key of this.first.keys()) {
      const group = this.more.get(key);
      if (group) out.push(group.sort());
    }
    return out;
  }
}

/** One warning for a person per colliding group. */
export function caseCollisionWarning(group: string[]): string {
  const names = group.length === 2 ? `${group[0]} and ${group[1]}` : `${group.slice(0, -1).join(', ')} and ${group[group.length - 1]}`;
  return `${names} differ only in letter case: on a case-insensitive file system (macOS and Windows by default) they are one file, and a peer there keeps only one of them.`;
}
