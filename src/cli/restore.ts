/** `hyperpair restore <dir> [<path>] [--version N]`: lists and brings back kept versions of files. */
import * as path from 'node:path';
import { FileHistory } from '../sync/history';
import { formatSize } from '../sync/scan';
import { UsageError, type CliCommand } from './args';
import type { Output } from './run';

export async function runRestore(cmd: CliCommand, out: Output, history = new FileHistory(path.resolve(cmd.dir))): Promise<void> {
  const rel = cmd.restorePath;
  if (rel === undefined) {
    const files = await history.files();
    if (files.length === 0) {
      out.line(`No versions are kept for ${history.root} (in ${history.dir}).`, { event: 'history', dir: history.root, store: history.dir, files: [] });
      return;
    }
    out.line(`Versions kept for ${history.root} (in ${history.dir}):`, { event: 'history', dir: history.root, store: history.dir, files });
    for (const f of files) {
      const n = (await history.versions(f)).length;
      out.line(`  ${JSON.stringify(f)}: ${n} version${n === 1 ? '' : 's'}`, { event: 'history-file', path: f, versions: n });
    }
    out.line(`To list a file's versions: hyperpair restore ${JSON.stringify(history.root)} <path>`, { event: 'hint' });
    return;
  }
  if (cmd.version === undefined) {
    const versions = await history.versions(rel);
    if (versions.length === 0) throw new UsageError(`no versions of ${JSON.stringify(rel)} are kept for ${history.root}`);
    out.line(`Versions of ${JSON.stringify(rel)}, newest first:`, { event: 'versions', path: rel });
    for (const v of versions) {
      out.line(`  ${v.n}. ${v.at.toISOString()}  ${formatSize(v.size)}  ${describe(v.reason)}`, {
        event: 'version',
        path: rel,
        n: v.n,
        at: v.at.toISOString(),
        size: v.size,
        reason: v.reason,
      });
    }
    out.line(`To bring one back: hyperpair restore ${JSON.stringify(history.root)} ${JSON.stringify(rel)} --version N`, { event: 'hint' });
    return;
  }
  const v = await history.restore(rel, cmd.version).catch((err: Error) => {
    throw new UsageError(err.message);
  });
  out.line(`Restored ${JSON.stringify(rel)} (version ${v.n}, ${v.at.toISOString()}) into ${history.root}.`, {
    event: 'restored',
    path: rel,
    n: v.n,
    at: v.at.toISOString(),
  });
}

function describe(reason: string): string {
  if (reason === 'deleted') return 'before a peer deleted it';
  if (reason === 'restored-over') return 'before a restore replaced it';
  return 'before a peer\'s change replaced it';
}
