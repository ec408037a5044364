/**
 * Activation and wiring only: the log channel, the session controller, commands, the status bar.
 * Nothing here loads the networking stack; that happens when a session starts.
 */
import * as vscode from 'vscode';
import { Commands } from './editor/commands';
import { SessionController } from './editor/controller';
import { StatusItem } from './editor/status';
import { createTestApi, type TestApi } from './editor/test-api';

export interface HyperpairExports {
  /** A read-only view of the extension's state, for the editor test suite and other extensions. */
  testApi: TestApi;
}

let controller: SessionController | undefined;

export function activate(context: vscode.ExtensionContext): HyperpairExports {
  const log = vscode.window.createOutputChannel('Hyperpair', { log: true });
  controller = new SessionController(
    log,
    (message) => void vscode.window.setStatusBarMessage(`Hyperpair: ${message}`, 5000),
    context.globalStorageUri.fsPath,
  );
  const commands = new Commands(context, controller, log, log);
  context.subscriptions.push(log, controller, commands, new StatusItem(controller));
  void vscode.commands.executeCommand('setContext', 'hyperpair.state', 'idle');
  void commands.resumePendingJoin();
  log.info(`Hyperpair ${context.extension.packageJSON.version as string} activated`);
  return { testApi: createTestApi(controller) };
}

export async function deactivate(): Promise<void> {
  await controller?.leave();
  controller = undefined;
}
