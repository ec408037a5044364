/**
 * What git says a folder holds: the files a clone would have (tracked) plus what is not committed yet
 * and not ignored (untracked), and what git ignores. Asked of a real `git` process, since git's own
 * rules (info/exclude, core.excludesFile, negations, the index) are the only exact answer.
 */
import { execFile } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { forEachSliced } from './slicer';

export interface GitTree {
  /** Tracked files (present or not), relative to the folder, `/`-separated. */
  tracked: Set<string>;
  /** Untracked files git does not ignore. */
  untracked: string[];
  /** What git ignores and does not track; folders wholly ignored end with `/` and are not descended. */
  ignored: string[];
  /** Tracked submodules (gitlinks): folders whose content is another repository. */
  submodules: Set<string>;
  /** Tracked files whose content differs from the last commit (in the work tree or staged). */
  modified: Set<string>;
}

/** Output of one git command is a list of paths; a monorepo's can be tens of MB. */
const MAX_BUFFER = 512 * 1024 * 1024;

/**
 * Git's processes run at a lower priority than the peer: listing a large repository takes git a
 * core for a few hundred milliseconds, and on a machine with two (an editor, a peer, its gits) the
 * peer's event loop then waited 40–60 ms at a time for a CPU.
 */
const GIT_NICENESS = 10;

function git(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('git', args, { cwd, maxBuffer: MAX_BUFFER, encoding: 'utf8', env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
    try {
      if (child.pid !== undefined) os.setPriority(child.pid, GIT_NICENESS);
    } catch {
      // gone already, or not allowed: it runs at the peer's priority
    }
  });
}

const split = (out: string): string[] => out.split('\0').filter((p) => p.length > 0);

/**
 * The folder's git view, or undefined when it is not in a git work tree (or git is missing, or the
 * folder itself is ignored by the repository around it: then git says nothing useful about it).
 */
export async function readGitTree(root: string): Promise<GitTree | undefined> {
  const abs = path.resolve(root);
  let top: string;
  try {
    top = (await git(abs, ['rev-parse', '--show-toplevel'])).trim();
  } catch {
    return undefined;
  }
  if (path.resolve(top) !== abs) {
    // A folder inside a repository that ignores it (a build folder, a joiner's folder under a
    // checkout): git would call every file in it ignored.
    const ignoredHere = await git(abs, ['check-ignore', '-q', '.']).then(
      () => true,
      () => false,
    );
    if (ignoredHere) return undefined;
  }
  try {
    // -s: the mode tells submodules (160000) apart; paths are relative to `abs` (the cwd).
    const staged = split(await git(abs, ['ls-files', '-z', '-s', '--cached']));
    const tracked = new Set<string>();
    const submodules = new Set<string>();
    await forEachSliced(staged, (line) => {
      const tab = line.indexOf('\t');
      const mode = line.slice(0, line.indexOf(' '));
      const rel = line.slice(tab + 1);
      if (mode === '160000') submodules.add(rel);
      else tracked.add(rel);
    });
    // Each git started in a turn of its own: starting a process forks this one, which takes
    // 5–25 ms in a peer of a few hundred MB, and four at once held the event loop 60–100 ms.
    let previous: Promise<void> = Promise.resolve();
    const later = (args: string[]): Promise<string> => {
      const start = previous.then(() => turn());
      previous = start;
      return start.then(() => git(abs, args));
    };
    const [untracked, ignored, changed, staged2] = await Promise.all([
      later(['ls-files', '-z', '--others', '--exclude-standard']).then(split),
      later(['ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--directory']).then(split),
      later(['ls-files', '-z', '--modified']).then(split),
      // A repository without a commit yet has no HEAD: everything tracked is then "modified".
      later(['diff', '--cached', '--name-only', '--relative', '-z']).then(split, () => [...tracked]),
    ]);
    return { tracked, untracked, ignored, submodules, modified: new Set([...changed, ...staged2]) };
  } catch {
    return undefined; // e.g. a repository git cannot read (safe.directory): today's rules then
  }
}

/**
 * Every folder that holds a tracked file, at any depth (`a`, `a/b` for `a/b/c.txt`), a slice of the
 * event loop at a time (30,000 paths took 10–15 ms, in the same turn as the scan's sort).
 */
export async function trackedFolders(tracked: Iterable<string>): Promise<Set<string>> {
  const dirs = new Set<string>();
  await forEachSliced(tracked, (rel) => {
    for (let i = rel.indexOf('/'); i >= 0; i = rel.indexOf('/', i + 1)) dirs.add(rel.slice(0, i));
  });
  return dirs;
}
