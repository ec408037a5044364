/**
 * The connection report ("Hyperpair: Diagnose Connection") as a read-only virtual document of the
 * `hyperpair-report:` scheme, with Copy Report: no Untitled document, nothing to save, no unsaved
 * badge. In a session it reports the session's connections; outside one it tests this machine's
 * network (session/probe.ts), which is exactly when someone cannot connect.
 */
import * as vscode from 'vscode';
import { Disposable } from '../session/disposable';
import type { Logger } from '../session/log';
import type { SessionController } from './controller';

export const REPORT_SCHEME = 'hyperpair-report';
const REPORT_URI = vscode.Uri.from({ scheme: REPORT_SCHEME, path: '/Hyperpair connection report.txt' });

export class ConnectionReport extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private text = '';

  constructor(
    private readonly controller: SessionController,
    private readonly logger: Logger,
  ) {
    super();
    this.registerAll(
      this.changed,
      vscode.workspace.registerTextDocumentContentProvider(REPORT_SCHEME, this),
      vscode.commands.registerCommand('hyperpair.diagnose', () => this.guard(() => this.show())),
      vscode.commands.registerCommand('hyperpair.copyReport', () => this.guard(() => this.copy())),
    );
  }

  provideTextDocumentContent(): string {
    return this.text;
  }

  /** The report of this moment, shown beside the editor; returns its text. */
  async show(): Promise<string> {
    const session = this.controller.session;
    this.text = session
      ? session.diagnose().text
      : (
          await vscode.window.withProgress(
            { location: vscode.ProgressLocation.Notification, title: 'Hyperpair: testing how this machine reaches the network…' },
            () => this.controller.probe(),
          )
        ).text;
    this.changed.fire(REPORT_URI);
    const doc = await vscode.workspace.openTextDocument(REPORT_URI);
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
    void vscode.window.showInformationMessage('Hyperpair: connection report (no secrets in it).', 'Copy Report').then((choice) => {
      if (choice === 'Copy Report') void this.copy();
    });
    return this.text;
  }

  private async copy(): Promise<void> {
    if (!this.text) throw new Error('No connection report yet: run Hyperpair: Diagnose Connection first.');
    await vscode.env.clipboard.writeText(this.text);
    void vscode.window.setStatusBarMessage('Connection report copied', 3000);
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      const message = (err as Error).message;
      this.logger.error(`diagnose: ${message}`);
      void vscode.window.showErrorMessage(`Hyperpair: ${message}`);
      return undefined;
    }
  }

  override dispose(): void {
    super.dispose();
  }
}
