/**
 * Symbolic links in a shared folder: where one points, and whether that stays inside the folder.
 * A link target is untrusted text (a peer's, or a tool's): it is judged as a path relative to the
 * link's own folder, the way the file system would follow it, never by following it.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { unsafePathReason } from './paths';

/** The longest link target shared (Linux's PATH_MAX); a longer one is no link a repository holds. */
export const MAX_LINK_TARGET = 4096;

export interface LinkVerdict {
  /** The target as written in the link (POSIX separators). */
  target: string;
  /** The path (relative to the folder) it lands on, when it stays inside; undefined otherwise. */
  resolved?: string;
  /** Why it cannot be shared as a link, or undefined when it could. */
  outside?: string;
}

/**
 * Where a link at `rel` with text `target` lands, judged lexically: absolute targets, and relative
 * ones that climb above the folder, leave it. `..` may only lead the target: after a name, the file
 * system follows that name first, and if it is itself a link, `..` climbs from where it points
 * (`sub/../../x` can leave the folder through `sub` although it reads as `../x`). So a target that
 * climbs only from the link's own folder (whose parents a receiving peer checks are real folders,
 * see tree-mirror.ts) and then descends stays inside whatever links it passes, as each of those is
 * judged the same way.
 */
export function judgeLinkTarget(rel: string, target: string): LinkVerdict {
  const t = target.replace(/\\/g, '/');
  if (t.length === 0) return { target: t, outside: 'its target is empty' };
  if (t.length > MAX_LINK_TARGET) return { target: t.slice(0, 200), outside: `its target is longer than ${MAX_LINK_TARGET} characters` };
  if (path.posix.isAbsolute(t) || /^[a-zA-Z]:/.test(t)) return { target: t, outside: 'it points to an absolute path, outside the workspace' };
  const segments = t.split('/').filter((s) => s !== '' && s !== '.');
  const firstName = segments.findIndex((s) => s !== '..');
  const climbsAfterName = firstName >= 0 && segments.slice(firstName).includes('..');
  const dir = path.posix.dirname(rel);
  const joined = path.posix.normalize(path.posix.join(dir === '.' ? '' : dir, t));
  if (joined === '..' || joined.startsWith('../')) return { target: t, outside: 'it points outside the workspace' };
  if (climbsAfterName) return { target: t, outside: 'it climbs back up (`..`) after a name, which a link on the way could lead outside the workspace' };
  if (joined === '.' || joined === '') return { target: t, resolved: '', outside: 'it points to the workspace itself' };
  const unsafe = unsafePathReason(joined);
  if (unsafe) return { target: t, outside: `its target cannot be shared safely: ${unsafe}` };
  return { target: t, resolved: joined };
}

/** Reads and judges the link at `rel` under `root`. */
export async function readLink(root: string, rel: string): Promise<LinkVerdict> {
  const target = await fs.readlink(path.join(root, ...rel.split('/')));
  return judgeLinkTarget(rel, target);
}

/** The reason a scan gives for leaving a link out (only links that leave the workspace are). */
export function linkSkipReason(v: LinkVerdict): string {
  return `a symbolic link that is not shared: ${v.outside ?? 'it cannot be shared'} (${v.target})`;
}
