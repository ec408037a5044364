/**
 * The Hyperpair commands, in VS Code's idioms: InputBox and QuickPick for input, withProgress for
 * anything long, notifications that say what happened and what to do.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Disposable } from '../session/disposable';
import type { Logger } from '../session/log';
import { checkPartialCode, parseSessionCode } from '../session/code';
import { formatSize, inviteLink } from '../session/format';
import { isEmptyOrMissingDirSync } from '../sync/fsutil';
import { wasSyncedBefore } from '../sync/record-key';
import { readConfig } from './config';
import type { SessionController } from './controller';
import { joinedText, uniqueFolder } from './join-wording';
import { SessionMemory } from './rejoin';
import { restoreFile } from './restore';


/** A pending join survives the window reload into the joined folder. The code lives in SecretStorage. */
const PENDING_KEY = 'hyperpair.pendingJoin';
const PENDING_SECRET = 'hyperpair.pendingJoinCode';
const PENDING_MAX_AGE_MS = 10 * 60 * 1000;

interface PendingJoin {
  folder: string;
  at: number;
}

export interface JoinArgs {
  /** A code or invite link; skips the input box. */
  code?: string;
  /** Join into this folder (must be empty) instead of asking. Defaults to asking. */
  folder?: string;
}

export class Commands extends Disposable {
  private readonly memory: SessionMemory;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly controller: SessionController,
    private readonly logger: Logger,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    const reg = (id: string, fn: (...args: never[]) => unknown) =>
      this.registerAll(vscode.commands.registerCommand(id, (...args: never[]) => this.guard(id, () => fn(...args))));
    this.memory = new SessionMemory(context.globalStorageUri.fsPath, controller, logger);
    this.registerAll(this.memory);
    reg('hyperpair.startSession', () => this.start());
    reg('hyperpair.joinSession', (args?: JoinArgs) => this.join(args));
    reg('hyperpair.leaveSession', () => this.leave());
    reg('hyperpair.copySessionCode', () => this.copy('code'));
    reg('hyperpair.copyInviteLink', () => this.copy('link'));
    reg('hyperpair.showLog', () => this.log.show());
    reg('hyperpair.showMenu', () => this.menu());
    reg('hyperpair.undo', () => this.undoRedo('undo'));
    reg('hyperpair.redo', () => this.undoRedo('redo'));
    reg('hyperpair.restoreFile', () => this.restoreFile());
    this.registerAll(
      vscode.window.registerUriHandler({
        handleUri: (uri) => void this.guard('uri', () => this.handleUri(uri)),
      }),
    );
  }

  override dispose(): void {
    super.dispose();
  }

  /**
   * On activation: finish a join that reloaded the window into its folder, or rejoin the session this
   * folder was in when the window reloaded (its sync record makes that a merge both ways).
   */
  async resumeSession(): Promise<void> {
    if (await this.resumePendingJoin()) return;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    if (folder?.scheme !== 'file') return;
    const note = await this.memory.recall(folder.fsPath);
    if (!note) return;
    this.logger.info(`rejoining the session this folder was in (${note.role === 'started' ? 'started here' : 'joined'}) before the window reloaded`);
    this.memory.expect(note.role);
    const rejoined = await this.guard('rejoin', async () => {
      await this.joinInto(note.code, folder.fsPath);
      return true;
    });
    if (!rejoined) await this.memory.forget(folder.fsPath, { anyWindow: true }); // cancelled or failed: not again at the next reload
  }

  /** After a reload into a folder chosen by Join, finish that join. Whether there was one. */
  private async resumePendingJoin(): Promise<boolean> {
    const pending = this.context.globalState.get<PendingJoin>(PENDING_KEY);
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!pending || !folder || path.resolve(pending.folder) !== path.resolve(folder)) return false;
    const code = await this.context.secrets.get(PENDING_SECRET);
    await this.clearPending();
    if (!code || Date.now() - pending.at > PENDING_MAX_AGE_MS) return false;
    await this.guard('resume', () => this.joinInto(code, folder));
    return true;
  }

  private async guard(id: string, fn: () => unknown): Promise<unknown> {
    try {
      return await fn();
    } catch (err) {
      const message = (err as Error).message;
      this.logger.error(`${id}: ${message}`);
      void vscode.window.showErrorMessage(`Hyperpair: ${message}`, 'Show Log').then((c) => c && this.log.show());
      return undefined;
    }
  }

  private async start(): Promise<string | undefined> {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder || folder.uri.scheme !== 'file') {
      throw new Error('Open a folder first: Hyperpair shares the folder of this window.');
    }
    // The code as soon as people can join; the folder is read meanwhile (they receive it as it is).
    const announce = (code: string) =>
      void vscode.window
        .showInformationMessage(`Hyperpair session started. Session code: ${code}`, 'Copy Code', 'Copy Invite Link')
        .then((choice) => {
          // This code, not the controller's: the start may still be reading the folder.
          if (choice === 'Copy Code') void this.copy('code', code);
          if (choice === 'Copy Invite Link') void this.copy('link', code);
        });
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Hyperpair: sharing the folder' }, (progress) => {
      this.memory.expect('started');
      return this.controller.start(folder.uri.fsPath, announce, (s) => progress.report({ message: `${s.files} files, ${formatSize(s.bytes)} so far` }));
    });
  }

  private async join(args?: JoinArgs): Promise<void> {
    const code = args?.code !== undefined ? validCode(args.code) : await this.askForCode();
    if (!code) return;
    if (args?.folder) return this.joinInto(code, args.folder);
    const current = vscode.workspace.workspaceFolders?.[0]?.uri;
    if (args?.code !== undefined && current?.scheme === 'file' && isEmptyOrMissingDirSync(current.fsPath)) {
      return this.joinInto(code, current.fsPath);
    }
    const target = await this.pickJoinFolder(code, current?.scheme === 'file' ? current.fsPath : undefined);
    if (!target) return;
    if (current && path.resolve(current.fsPath) === path.resolve(target)) return this.joinInto(code, target);
    // Reload into the new folder; the session resumes there (resumePendingJoin).
    fs.mkdirSync(target, { recursive: true });
    await this.context.globalState.update(PENDING_KEY, { folder: target, at: Date.now() } satisfies PendingJoin);
    await this.context.secrets.store(PENDING_SECRET, code);
    await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(target), { forceNewWindow: false });
  }

  private async joinInto(code: string, folder: string): Promise<void> {
    // A folder synced here before is rejoined: what changed in it meanwhile is merged, not overwritten.
    if (!isEmptyOrMissingDirSync(folder) && !(await wasSyncedBefore(folder, code))) {
      throw new Error(`${folder} is not empty. Join into a new or empty folder so that none of your files are overwritten.`);
    }
    let cancelled = false;
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Hyperpair: joining', cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => (cancelled = true));
        progress.report({ message: 'looking for the session…' });
        let lastPct = 0;
        await this.controller.join(
          code,
          folder,
          (p) => {
            const pct = p.totalBytes > 0 ? Math.floor((100 * p.bytes) / p.totalBytes) : 0;
            progress.report({
              message: `${p.files}/${p.totalFiles} files, ${formatSize(p.bytes)} of ${formatSize(p.totalBytes)}`,
              increment: Math.max(0, pct - lastPct),
            });
            lastPct = Math.max(lastPct, pct);
          },
          token,
          (message) => progress.report({ message }),
        ).catch((err: unknown) => {
          // Cancelling is the person's choice, not a failure: no error; the empty folder is reused.
          if (!cancelled) throw err;
        });
      },
    );
    if (cancelled) {
      this.logger.info(`you cancelled joining; ${folder} is reused by the next join`);
      void vscode.window.setStatusBarMessage('Hyperpair: joining cancelled', 5000);
      return;
    }
    void vscode.window.showInformationMessage(`Hyperpair: ${joinedText(this.controller)}`);
  }

  private async askForCode(initial?: string): Promise<string | undefined> {
    const input = await vscode.window.showInputBox({
      title: 'Join a Hyperpair session',
      prompt: 'Paste the session code or invite link you were given',
      placeHolder: 'XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX',
      value: initial,
      ignoreFocusOut: true,
      validateInput: (value) => {
        if (!value.trim()) return undefined;
        const partial = checkPartialCode(value);
        return partial.ok ? undefined : { message: partial.message, severity: vscode.InputBoxValidationSeverity.Error };
      },
    });
    return input === undefined ? undefined : validCode(input);
  }

  private async pickJoinFolder(code: string, current: string | undefined): Promise<string | undefined> {
    const base = readConfig().joinFolder;
    const fresh = uniqueFolder(base);
    // A folder synced with this session before can be rejoined: its changes since are merged.
    const here = current && (isEmptyOrMissingDirSync(current) ? 'This empty folder' : (await wasSyncedBefore(current, code)) ? 'This folder (joined before)' : undefined);
    const items: (vscode.QuickPickItem & { folder?: string; browse?: boolean })[] = [
      { label: '$(new-folder) New folder', description: fresh, folder: fresh },
      ...(current && here ? [{ label: `$(folder-active) ${here}`, description: current, folder: current }] : []),
      { label: '$(folder-opened) Choose an empty folder…', browse: true },
    ];
    const choice = await vscode.window.showQuickPick(items, { title: 'Where should the shared workspace go?', ignoreFocusOut: true });
    if (!choice) return undefined;
    if (!choice.browse) return choice.folder;
    const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Join here' });
    const folder = picked?.[0]?.fsPath;
    if (folder && !isEmptyOrMissingDirSync(folder) && !(await wasSyncedBefore(folder, code))) {
      throw new Error(`${folder} is not empty. Pick an empty folder, a new one, or one that joined this session before.`);
    }
    return folder;
  }

  private async leave(): Promise<void> {
    await this.memory.forget(this.controller.session?.root); // left on purpose: a reload does not rejoin
    await this.controller.leave();
    void vscode.window.showInformationMessage('Hyperpair: you left the session. Your files stay on disk.');
  }

  private async copy(what: 'code' | 'link', code = this.controller.code): Promise<void> {
    if (!code) throw new Error('No session is running. Start or join one first.');
    await vscode.env.clipboard.writeText(what === 'code' ? code : inviteLink(code));
    void vscode.window.setStatusBarMessage(what === 'code' ? 'Session code copied' : 'Invite link copied', 3000);
  }

  private async menu(): Promise<void> {
    const inSession = this.controller.state !== 'idle';
    const items = inSession
      ? [
          { label: '$(copy) Copy Session Code', command: 'hyperpair.copySessionCode' },
          { label: '$(link) Copy Invite Link', command: 'hyperpair.copyInviteLink' },
          ...(this.controller.session?.participants.followed === undefined
            ? [{ label: '$(eye) Follow Participant', command: 'hyperpair.followParticipant' }]
            : [{ label: '$(eye-closed) Stop Following', command: 'hyperpair.stopFollowing' }]),
          { label: '$(organization) Bring Everyone Here', command: 'hyperpair.bringEveryoneHere' },
          { label: '$(radio-tower) Share Server…', command: 'hyperpair.shareServer' },
          { label: '$(comment-discussion) Open Chat', command: 'hyperpair.openChat' },
          ...(this.controller.session?.rotation.canRotate ? [{ label: '$(key) Change Session Code', command: 'hyperpair.rotateSessionCode' }] : []),
          { label: '$(sign-out) Leave Session', command: 'hyperpair.leaveSession' },
          { label: '$(pulse) Diagnose Connection', command: 'hyperpair.diagnose' },
          { label: '$(output) Show Log', command: 'hyperpair.showLog' },
        ]
      : [
          { label: '$(broadcast) Start Session', command: 'hyperpair.startSession' },
          { label: '$(plug) Join Session', command: 'hyperpair.joinSession' },
          { label: '$(pulse) Diagnose Connection', command: 'hyperpair.diagnose' },
          { label: '$(output) Show Log', command: 'hyperpair.showLog' },
        ];
    const choice = await vscode.window.showQuickPick(items, { title: 'Hyperpair' });
    if (choice) await vscode.commands.executeCommand(choice.command);
  }

  /** Works with or without a session: the history belongs to the folder. */
  private async restoreFile(): Promise<void> {
    const root = this.controller.session?.root ?? vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;
    if (!root) throw new Error('Open a folder first: Hyperpair keeps the versions of a shared folder\'s files.');
    await restoreFile(this.controller.history(root));
  }

  private async undoRedo(which: 'undo' | 'redo'): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const binding = editor && this.controller.session?.documents.bindingOf(editor.document);
    if (!binding) {
      await vscode.commands.executeCommand(which);
      return;
    }
    if (which === 'undo') await binding.undo();
    else await binding.redo();
  }

  private async handleUri(uri: vscode.Uri): Promise<void> {
    if (uri.path !== '/join') throw new Error(`Unknown Hyperpair link: ${uri.path}`);
    const code = new URLSearchParams(uri.query).get('code') ?? '';
    const checked = await this.askForCode(code);
    if (checked) await this.join({ code: checked });
  }

  private async clearPending(): Promise<void> {
    await this.context.globalState.update(PENDING_KEY, undefined);
    await this.context.secrets.delete(PENDING_SECRET);
  }
}

function validCode(input: string): string {
  const parsed = parseSessionCode(input);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.code;
}
