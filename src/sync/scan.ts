/**
 * Which files of a folder are shared: everything but what .gitignore files, the exclude list and the
 * size caps leave out, and never symlinks or special files. What is left out is reported, with why.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { unsafePathReason } from './paths';
import { formatSize } from '../session/format';

/**
 * Never shared, and never written from a peer: `.git` both as a folder and as a file (a `.git` file
 * can point git at another folder, e.g. one holding hooks), dependencies, our state and temp files.
 */
export const DEFAULT_EXCLUDES = ['.git', 'node_modules/', '.hyperpair/', '*.hyperpair-tmp'];

export interface ScanOptions {
  /** Extra patterns in .gitignore syntax, relative to the root. */
  excludes?: string[];
  maxFileBytes?: number;
  maxTotalBytes?: number;
  maxFiles?: number;
}

export interface ScannedFile {
  rel: string;
  size: number;
}

export interface ScanReport {
  files: ScannedFile[];
  /** Left out although nothing excludes them: links, special files, unportable names, caps. */
  skipped: Array<{ rel: string; reason: string }>;
  /** Left out by .gitignore or the exclude list, as asked (folders end with `/`, not descended). */
  excluded: string[];
  totalBytes: number;
}

interface Rules {
  base: string;
  ig: Ignore;
}

/** Decides, for one root, whether a relative path is left out by the root's rules and .gitignore files. */
export class ExcludeRules {
  private readonly root: Rules;
  private readonly nested = new Map<string, Ignore>();

  constructor(excludes: string[] = []) {
    this.root = { base: '', ig: ignore().add([...DEFAULT_EXCLUDES, ...excludes]) };
  }

  /** (Re)reads the .gitignore of one directory; forgets it when the file is gone. */
  async loadGitignore(absDir: string, relDir: string): Promise<void> {
    try {
      const text = await fs.readFile(path.join(absDir, '.gitignore'), 'utf8');
      this.nested.set(relDir, ignore().add(text));
    } catch {
      this.nested.delete(relDir); // no .gitignore here
    }
  }

  /** Reads every .gitignore under root (outside excluded folders), e.g. after a joiner received them. */
  async loadAll(root: string): Promise<void> {
    const walk = async (absDir: string, relDir: string): Promise<void> => {
      await this.loadGitignore(absDir, relDir);
      const entries = await fs.readdir(absDir, { withFileTypes: true }).catch(() => []);
      for (const d of entries) {
        const rel = relDir ? `${relDir}/${d.name}` : d.name;
        if (d.isDirectory() && !this.excluded(rel, true)) await walk(path.join(absDir, d.name), rel);
      }
    };
    await walk(path.resolve(root), '');
  }

  excluded(rel: string, isDir: boolean): boolean {
    const probe = isDir ? rel + '/' : rel;
    if (this.root.ig.ignores(probe)) return true;
    for (const [base, ig] of this.nested) {
      if (base === '') {
        if (ig.ignores(probe)) return true;
      } else if (rel.startsWith(base + '/') && ig.ignores(probe.slice(base.length + 1))) return true;
    }
    return false;
  }
}

export async function scanFolder(root: string, options: ScanOptions = {}): Promise<{ report: ScanReport; rules: ExcludeRules }> {
  const rules = new ExcludeRules(options.excludes);
  const maxFile = options.maxFileBytes ?? Infinity;
  const maxTotal = options.maxTotalBytes ?? Infinity;
  const maxFiles = options.maxFiles ?? Infinity;
  const report: ScanReport = { files: [], skipped: [], excluded: [], totalBytes: 0 };

  async function walk(absDir: string, relDir: string): Promise<void> {
    await rules.loadGitignore(absDir, relDir);
    let entries;
    try {
      entries = await fs.readdir(absDir, { withFileTypes: true });
    } catch (err) {
      // The shared folder itself must be readable; a subfolder that is not is left out, and said so,
      // rather than refusing to share everything else.
      if (relDir === '') throw err;
      const code = (err as NodeJS.ErrnoException).code;
      report.skipped.push({ rel: relDir + '/', reason: `this folder could not be read${code ? `: ${code}` : ''}` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const d of entries) {
      const rel = relDir ? `${relDir}/${d.name}` : d.name;
      if (rules.excluded(rel, d.isDirectory())) {
        report.excluded.push(d.isDirectory() ? rel + '/' : rel);
        continue;
      }
      const unsafe = unsafePathReason(rel);
      if (unsafe) {
        report.skipped.push({ rel, reason: `its name cannot be shared safely on every platform: ${unsafe}` });
        continue;
      }
      if (d.isSymbolicLink()) {
        report.skipped.push({ rel, reason: 'symbolic links are not shared' });
      } else if (d.isDirectory()) {
        await walk(path.join(absDir, d.name), rel);
      } else if (!d.isFile()) {
        report.skipped.push({ rel, reason: 'not a regular file' });
      } else {
        const { size } = await fs.stat(path.join(absDir, d.name));
        if (size > maxFile) report.skipped.push({ rel, reason: `larger than the ${formatSize(maxFile)} limit per file` });
        else if (report.totalBytes + size > maxTotal) report.skipped.push({ rel, reason: `over the ${formatSize(maxTotal)} limit for the workspace` });
        else if (report.files.length >= maxFiles) report.skipped.push({ rel, reason: `over the limit of ${maxFiles} files` });
        else {
          report.files.push({ rel, size });
          report.totalBytes += size;
        }
      }
    }
  }
  await walk(path.resolve(root), '');
  return { report, rules };
}

/** Moves a listed file to the skipped ones (e.g. it could not be read after all). */
export function leaveOut(report: ScanReport, file: ScannedFile, reason: string): void {
  const i = report.files.indexOf(file);
  if (i < 0) return;
  report.files.splice(i, 1);
  report.totalBytes -= file.size;
  report.skipped.push({ rel: file.rel, reason });
}

/** Sizes are written one way everywhere (session/format.ts). */
export { formatSize };
