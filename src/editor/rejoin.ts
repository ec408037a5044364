/**
 * A session survives a window reload (issue 11, item 3). While a session runs, this window notes its
 * folder and when it was last in the session (workspaceState; the code itself in SecretStorage,
 * keyed by folder). When the extension activates again soon after (a reload, or VS Code restarted
 * at once), it rejoins the same session into the same folder: the folder's sync record makes that a
 * rejoin that merges both ways, never a fresh copy over the person's files. Leave Session forgets it;
 * so does time: a note older than MAX_AGE_MS (the window was closed for a while) is not acted on.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SessionController } from './controller';

const NOTE_KEY = 'hyperpair.activeSession';
/** How often the note is refreshed while a session runs. */
const REFRESH_MS = 15_000;
/** A note older than this is from a window closed a while ago, not a reload. */
const MAX_AGE_MS = 3 * 60_000;

interface Note {
  folder: string;
  at: number;
}

function secretKey(folder: string): string {
  return `hyperpair.activeSessionCode.${createHash('sha256').update(path.resolve(folder)).digest('hex').slice(0, 24)}`;
}

export class SessionMemory implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private readonly subscription: vscode.Disposable;
  private noted: string | undefined;
  /** The code kept for `noted`: the owner may rotate it during the session (rotation.ts). */
  private notedCode: string | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly controller: SessionController,
    private readonly now: () => number = Date.now,
  ) {
    this.subscription = controller.onDidChange(() => this.follow());
  }

  /** The code of the session this folder was in when the window went away, if that was just now. */
  async recall(folder: string): Promise<string | undefined> {
    const note = this.context.workspaceState.get<Note>(NOTE_KEY);
    if (!note || path.resolve(note.folder) !== path.resolve(folder)) return undefined;
    if (this.now() - note.at > MAX_AGE_MS) {
      await this.forget(folder);
      return undefined;
    }
    return this.context.secrets.get(secretKey(folder));
  }

  /** The person left (or a rejoin failed): a reload must not bring them back. */
  async forget(folder = this.controller.session?.root ?? this.noted): Promise<void> {
    this.stop();
    await this.context.workspaceState.update(NOTE_KEY, undefined);
    if (folder) await this.context.secrets.delete(secretKey(folder));
    this.noted = undefined;
    this.notedCode = undefined;
  }

  dispose(): void {
    this.stop();
    this.subscription.dispose();
  }

  private follow(): void {
    const session = this.controller.session;
    if (!session) return this.stop(); // the note stays: a reload within MAX_AGE_MS rejoins
    if (this.noted === session.root && this.notedCode === session.code && this.timer) return;
    this.noted = session.root;
    this.notedCode = session.code;
    const root = session.root;
    void this.context.secrets.store(secretKey(root), session.code).then(() => this.touch(root));
    this.stop();
    this.timer = setInterval(() => void this.touch(root), REFRESH_MS);
  }

  private touch(folder: string): Thenable<void> {
    if (this.controller.session?.root !== folder) return Promise.resolve();
    return this.context.workspaceState.update(NOTE_KEY, { folder, at: this.now() } satisfies Note);
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
