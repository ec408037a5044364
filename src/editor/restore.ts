/**
 * "Hyperpair: Restore File…": a QuickPick of the files that have kept versions (what remote changes
 * replaced or deleted in this folder, see sync/history.ts), then of their versions; the chosen one is
 * written into the folder, where the mirror shares it as a local change (or, with no session, it
 * simply stays).
 */
import * as vscode from 'vscode';
import { formatSize } from '../session/format';
import type { FileHistory, FileVersion } from '../sync/history';

export async function restoreFile(history: FileHistory): Promise<FileVersion | undefined> {
  const files = await history.files();
  if (files.length === 0) {
    void vscode.window.showInformationMessage(`Hyperpair: no versions are kept for this folder yet. They are kept in ${history.dir}.`);
    return undefined;
  }
  const file = await vscode.window.showQuickPick(
    files.map((f) => ({ label: f })),
    { title: 'Restore which file?', placeHolder: 'Files a peer replaced or deleted here', ignoreFocusOut: true },
  );
  if (!file) return undefined;
  const versions = await history.versions(file.label);
  const picked = await vscode.window.showQuickPick(
    versions.map((v) => ({ label: `${v.n}. ${v.at.toLocaleString()}`, description: `${formatSize(v.size)}, ${describe(v.reason)}`, version: v })),
    { title: `Restore which version of ${file.label}?`, placeHolder: 'Newest first', ignoreFocusOut: true },
  );
  if (!picked) return undefined;
  const v = await history.restore(file.label, picked.version.n);
  const uri = vscode.Uri.file(`${history.root}/${file.label}`);
  void vscode.window.showInformationMessage(`Hyperpair: restored ${file.label} (version ${v.n}).`, 'Open File').then((choice) => {
    if (choice) void vscode.window.showTextDocument(uri);
  });
  return v;
}

function describe(reason: FileVersion['reason']): string {
  if (reason === 'deleted') return 'before a peer deleted it';
  if (reason === 'restored-over') return 'before a restore replaced it';
  return "before a peer's change replaced it";
}

