/**
 * Join Call, Leave Call and the mute toggle, with a status bar item while this window is in the call
 * (issue 19). The call itself lives in the runtime bundle (call.ts); this module only asks it and
 * tells the person what happens: the call page opens in their browser, which asks for the microphone.
 */
import * as vscode from 'vscode';
import { Disposable } from '../session/disposable';
import type { Logger } from '../session/log';
import type { SessionController } from './controller';
import { registerGuarded } from './guard';
import { SessionFollower } from './session-follower';
import type { RunningSession } from './runtime';

export class CallCommands extends Disposable implements vscode.Disposable {
  private readonly item = this.register(vscode.window.createStatusBarItem('hyperpair.call', vscode.StatusBarAlignment.Left, 99));

  constructor(
    private readonly controller: SessionController,
    private readonly logger: Logger,
  ) {
    super();
    this.item.name = 'Hyperpair call';
    this.item.command = 'hyperpair.toggleMute';
    const reg = (id: string, fn: () => Promise<unknown>) => this.register(registerGuarded(this.logger, id, fn));
    reg('hyperpair.joinCall', () => this.join());
    reg('hyperpair.leaveCall', async () => this.running().call.leave());
    reg('hyperpair.toggleMute', async () => {
      const call = this.running().call;
      call.setMuted(!call.muted);
    });
    this.register(new SessionFollower(controller, (running) => this.watch(running))).follow();
  }

  private running(): RunningSession {
    const running = this.controller.session;
    if (!running) throw new Error('No session is running. Start or join one first: the call is among the people in it.');
    return running;
  }

  private async join(): Promise<void> {
    const link = await this.running().call.join();
    const opened = await vscode.env.openExternal(vscode.Uri.parse(link, true));
    if (!opened) {
      // No browser could be opened (a remote window): the person can open the link themselves.
      await vscode.env.clipboard.writeText(link);
      void vscode.window.showWarningMessage('Hyperpair: the call page could not be opened; its one-time link is on the clipboard. Open it in a browser on this machine.');
      return;
    }
    void vscode.window.showInformationMessage('Hyperpair: the call opened in your browser. Allow the microphone there; keep the tab open while you talk.');
  }

  private watch(running: RunningSession | undefined): (() => void) | void {
    this.render(running?.call);
    if (!running) return;
    const sub = running.call.onDidChange(() => this.render(running.call));
    return () => sub.dispose();
  }


  private render(call: RunningSession['call'] | undefined): void {
    void vscode.commands.executeCommand('setContext', 'hyperpair.inCall', !!call?.inCall);
    if (!call?.inCall) return this.item.hide();
    const members = call.members();
    const speaking = members.filter((m) => m.speaking).map((m) => m.peer.name);
    this.item.text = `${call.muted ? '$(mute)' : '$(unmute)'} Call: ${members.length + 1}`;
    this.item.tooltip = [
      call.muted ? 'You are muted: click to unmute.' : 'Click to mute.',
      members.length ? `In the call: ${members.map((m) => m.peer.name + (m.muted ? ' (muted)' : '')).join(', ')}` : 'Nobody else is in the call yet.',
      speaking.length ? `Speaking: ${speaking.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join('\n');
    this.item.show();
  }
}
