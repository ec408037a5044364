/**
 * The session's call as this window holds it (issue 19): made on the first Join Call, with the local
 * call page (session/voice/page-server.ts) that the person's own browser opens — VS Code's webviews
 * cannot use the microphone. Part of the runtime bundle; the commands and the status bar item
 * (call-commands.ts) reach it through `RunningSession.call`.
 */
import * as vscode from 'vscode';
import { Disposable } from '../session/disposable';
import type { Logger } from '../session/log';
import type { Session } from '../session/session';
import { SessionCall, type CallMember } from '../session/voice/call';
import { CallPage } from '../session/voice/page-server';

export class EditorCall extends Disposable implements vscode.Disposable {
  private call: SessionCall | undefined;
  private page: CallPage | undefined;
  private readonly changed = this.register(new vscode.EventEmitter<void>());
  /** Fires when this window joins, leaves or mutes, and when who is in the call or speaking changes. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly session: Session,
    private readonly logger: Logger,
  ) {
    super();
  }

  get inCall(): boolean {
    return this.call?.state().inCall ?? false;
  }

  get muted(): boolean {
    return this.call?.state().muted ?? false;
  }

  /** The others in the call (with their level: > 0 while they speak). */
  members(): CallMember[] {
    return this.call?.members() ?? [];
  }

  /**
   * Joins (or rejoins) the call and returns a fresh one-time link to the call page, as the person's
   * browser reaches it (through VS Code's port forwarding when the window is remote, e.g. code-server).
   */
  async join(): Promise<string> {
    if (this.disposed) throw new Error('The session has ended.');
    if (!this.call) {
      const call = new SessionCall(this.session, { logger: this.logger });
      this.call = call;
      this.register({ dispose: () => call.close() });
      call.on('members', () => this.changed.fire());
      const page = new CallPage(call, this.logger);
      await page.ready();
      this.page = page;
      this.register({ dispose: () => void page.close() });
    }
    this.call.join();
    this.changed.fire();
    // Mapped at the server's root and the page's path added after: code-server's forwarding maps an
    // address to its proxy root and drops the path.
    const link = new URL(this.page!.link());
    const root = await vscode.env.asExternalUri(vscode.Uri.parse(link.origin + '/'));
    this.page!.allowHost(root.authority);
    return root.toString(true).replace(/\/$/, '') + link.pathname;
  }

  leave(): void {
    this.call?.leave();
    // The page's link is spent and its stream ends: a later Join opens a new page.
    this.page?.link();
    this.changed.fire();
  }

  setMuted(muted: boolean): void {
    this.call?.setMuted(muted);
    this.changed.fire();
  }

  /** Frames sent and dropped (for the connection report). */
  stats(): { sent: number; dropped: number; received: number } {
    return { sent: this.call?.sent ?? 0, dropped: this.call?.dropped ?? 0, received: this.call?.received ?? 0 };
  }
}
