/**
 * Paths that differ only in letter case (`A.txt`, `a.txt`): distinct files on Linux, one file on the
 * case-insensitive file systems macOS and Windows use by default, where a peer would keep only one.
 * Found so that a person is told before that happens, on the sharer's side and on a joiner's.
 */

const NOT_ASCII = /[^\x00-\x7f]/;

/** Groups of two or more paths that are the same when case (and Unicode normal form) is ignored. */
export function caseCollisions(paths: Iterable<string>): string[][] {
  const groups = new Map<string, string[]>();
  for (const p of paths) {
    // An ASCII path is its own normal form: normalize() of every path of a 30,000-file tree took
    // about as long again as the rest.
    const key = (NOT_ASCII.test(p) ? p.normalize('NFC') : p).toLowerCase();
    const group = groups.get(key);
    if (group) group.push(p);
    else groups.set(key, [p]);
  }
  return [...groups.values()].filter((g) => g.length > 1).map((g) => g.sort());
}

/** One warning for a person per colliding group. */
export function caseCollisionWarning(group: string[]): string {
  const names = group.length === 2 ? `${group[0]} and ${group[1]}` : `${group.slice(0, -1).join(', ')} and ${group[group.length - 1]}`;
  return `${names} differ only in letter case: on a case-insensitive file system (macOS and Windows by default) they are one file, and a peer there keeps only one of them.`;
}
