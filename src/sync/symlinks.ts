/**
 * Symbolic links in a shared folder: where one points, and whether that stays inside the folder.
 * A link target is untrusted text (a peer's, or a tool's): it is judged as a path relative to the
 * link's own folder, the way the file system would follow it, never by following it.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { unsafePathReason } from './paths';

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
 * ones that climb above the folder, leave it. (A link inside that passes through another link is
 * judged on its own text; the receiving peer never follows links when writing, see paths.ts.)
 */
export function judgeLinkTarget(rel: string, target: string): LinkVerdict {
  const t = target.replace(/\\/g, '/');
  if (t.length === 0) return { target: t, outside: 'its target is empty' };
  if (path.posix.isAbsolute(t) || /^[a-zA-Z]:/.test(t)) return { target: t, outside: 'it points to an absolute path, outside the workspace' };
  const dir = path.posix.dirname(rel);
  const joined = path.posix.normalize(path.posix.join(dir === '.' ? '' : dir, t));
  if (joined === '..' || joined.startsWith('../')) return { target: t, outside: 'it points outside the workspace' };
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

/** The reason a scan gives for leaving a link out. */
export function linkSkipReason(v: LinkVerdict): string {
  if (v.outside) return `a symbolic link that is not shared: ${v.outside} (${v.target})`;
  return `a symbolic link inside the workspace (to ${v.resolved}): links are not shared yet (protocol version 1 has no link entries)`;
}
