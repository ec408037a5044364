/**
 * The disk mirror's problems, told in VS Code: a mass delete held back (with the choice to delete
 * the files everywhere or write them back), writes that failed (a full disk, no permission), the
 * join that could not write every file, and a file nobody in the session can send. File names may
 * come from peers: each goes through the one sanitiser (session/untrusted.ts) before it is shown.
 */
import * as vscode from 'vscode';
import type { Logger } from '../session/log';
import { escapeUntrusted } from '../session/untrusted';
import type { FileEntry } from '../sync/api';
import type { Halt } from '../sync/folder-guard';
import type { RunningPeer } from '../app/peer';
import { summarizeFailures, type WriteFailure } from '../sync/write-failures';

/**
 * What to tell of a file no member could send (the workspace reports it once): it stays missing here
 * until someone who has it joins. Listened to from the workspace's start (runtime.ts): the first copy reports it.
 */
export function unavailableText(e: FileEntry): string {
  return `nobody in the session could send ${escapeUntrusted(e.path)}; it is written when someone who has it joins.`;
}

export function showDiskProblems(peer: RunningPeer, logger: Logger): vscode.Disposable {
  const mirror = peer.mirror;
  const onHalt = (h: Halt) => {
    void vscode.window.showErrorMessage(`Hyperpair: ${escapeUntrusted(h.message)}`, { modal: false }, 'Delete Everywhere', 'Write Them Back').then(async (choice) => {
      if (!choice || !mirror.halted) return;
      try {
        const n = choice === 'Delete Everywhere' ? await mirror.confirmMassDelete() : await mirror.restoreMassDelete();
        void vscode.window.showInformationMessage(`Hyperpair: ${n} files ${choice === 'Delete Everywhere' ? 'deleted on every peer' : 'written back'}.`);
      } catch (err) {
        logger.error(`mass delete: ${(err as Error).message}`);
        void vscode.window.showErrorMessage(`Hyperpair: ${(err as Error).message}`);
      }
    });
  };
  // One notification until every file is written again: a full disk fails every file at once.
  let told = false;
  const onFailed = (f: WriteFailure) => {
    if (told) return;
    told = true;
    void vscode.window.showErrorMessage(`Hyperpair: could not write ${escapeUntrusted(f.path)}: ${f.why}. Hyperpair tries again every few seconds (the log lists every file).`);
  };
  const onRecovered = () => {
    if (mirror.writeFailures().length === 0) told = false;
  };
  mirror.on('halted', onHalt);
  // Halted before this window followed the session: the join found most of the folder deleted.
  if (mirror.halted) onHalt(mirror.halted);
  mirror.on('write-failed', onFailed);
  mirror.on('write-recovered', onRecovered);
  const failed = peer.joined?.failed ?? [];
  if (failed.length > 0) {
    told = true;
    const total = peer.workspace.files().length;
    void vscode.window.showErrorMessage(
      `Hyperpair: joined, but only ${total - failed.length} of ${total} files are on disk; ${summarizeFailures(failed)}. Hyperpair tries again every few seconds.`,
    );
  }
  return {
    dispose: () => {
      mirror.off('halted', onHalt);
      mirror.off('write-failed', onFailed);
      mirror.off('write-recovered', onRecovered);
    },
  };
}
