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
import type { CallMark } from './call-marks';

export class EditorCall extends Disposable implements vscode.Disposable {
  /**
   * Made with the session, not on the first Join: its channel tells who is in the call, which the
   * participants view shows before this person joins.
   */
  private readonly call: SessionCall;
  private page: CallPage | undefined;
  private readonly changed = this.register(new vscode.EventEmitter<void>());
  /** Fires when this window joins, leaves or mutes, and when who is in the call or speaking changes. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly session: Session,
    private readonly logger: Logger,
  ) {
    super();
    const call = new SessionCall(session, { logger });
    this.call = call;
    this.register({ dispose: () => call.close() });
    call.on('members', () => this.changed.fire());
  }

  get inCall(): boolean {
    return this.call.state().inCall;
  }

  get muted(): boolean {
    return this.call.state().muted;
  }

  /** The others in the call (speaking and level as of the call's last meter tick). */
  members(): CallMember[] {
    return this.call.members();
  }

  /** How the participants view marks a person (this window's own person included); undefined if not in the call. */
  markOf(peerId: string): CallMark | undefined {
    if (peerId === this.session.self.id) {
      const self = this.call.self();
      return self.inCall ? { muted: self.muted, speaking: self.speaking, level: self.level } : undefined;
    }
    const m = this.call.members().find((x) => x.peer.id === peerId);
    return m && { muted: m.muted, speaking: m.speaking, level: m.level };
  }

  /**
   * Joins (or rejoins) the call and returns a fresh one-time link to the call page, as the person's
   * browser reaches it (through VS Code's port forwarding when the window is remote, e.g. code-server).
   * A page already open keeps the call until the new one attaches, and is then told and stops.
   */
  async join(): Promise<string> {
    if (this.disposed) throw new Error('The session has ended.');
    if (!this.page) {
      const page = new CallPage(this.call, this.logger);
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
    this.call.leave();
    // Every page of the call is told that it ended (its microphone stops): a later Join opens a new one.
    this.page?.end();
    this.changed.fire();
  }

  setMuted(muted: boolean): void {
    this.call.setMuted(muted);
    this.changed.fire();
  }

  /** Frames sent and dropped (for the connection report). */
  stats(): { sent: number; dropped: number; received: number } {
    return { sent: this.call.sent, dropped: this.call.dropped, received: this.call.received };
  }
}
