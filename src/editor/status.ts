/**
 * The status bar item: what the session is doing at a glance, and a click menu of its actions.
 */
import * as vscode from 'vscode';
import type { SessionController } from './controller';

export class StatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly controller: SessionController) {
    this.item = vscode.window.createStatusBarItem('hyperpair.status', vscode.StatusBarAlignment.Left, 100);
    this.item.name = 'Hyperpair';
    this.item.command = 'hyperpair.showMenu';
    this.subscription = controller.onDidChange(() => this.render());
    this.render();
    this.item.show();
  }

  private render(): void {
    const people = this.controller.peers().length + 1;
    switch (this.controller.state) {
      case 'idle':
        this.item.text = '$(live-share) Hyperpair';
        this.item.tooltip = 'Hyperpair: start or join a session';
        break;
      case 'starting':
        this.item.text = '$(sync~spin) Hyperpair: starting…';
        this.item.tooltip = 'Announcing the session on the network';
        break;
      case 'joining':
        this.item.text = '$(sync~spin) Hyperpair: connecting…';
        this.item.tooltip = 'Looking for the session on the network';
        break;
      case 'alone':
        this.item.text = '$(broadcast) Hyperpair: waiting for others';
        this.item.tooltip = 'Session running; nobody else has joined yet. Share the code.';
        break;
      case 'connected': {
        const readOnly = this.controller.session?.peer.session.readOnly;
        this.item.text = `$(broadcast) Hyperpair: ${people} people${readOnly ? ' (read-only)' : ''}`;
        const names = this.controller
          .peers()
          .map((p) => (p.readOnly ? `${p.name} (read-only)` : p.name))
          .join(', ');
        this.item.tooltip = readOnly ? `${names}\nYou joined read-only: you can follow along, but not edit.` : names;
        break;
      }
      case 'reconnecting':
        this.item.text = '$(debug-disconnect) Hyperpair: offline, reconnecting…';
        this.item.tooltip = 'The connection to the others dropped; Hyperpair keeps trying.';
        break;
    }
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
