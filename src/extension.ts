/**
 * Activation and wiring only: the log channel, the session controller, commands, the status bar.
 * Nothing here loads the networking stack; that happens when a session starts.
 */
import * as vscode from 'vscode';
import { AccessCommands } from './editor/access-commands';
import { ChatView } from './editor/chat-view';
import { ServersView } from './editor/servers';
import { TerminalCommands } from './editor/terminal-commands';
import { CallCommands } from './editor/call-commands';
import { Commands } from './editor/commands';
import { readConfig } from './editor/config';
import { SessionController } from './editor/controller';
import { PeerNotices } from './editor/notices';
import { ConnectionReport } from './editor/report';
import { StatusItem } from './editor/status';
import { createTestApi, type TestApi } from './editor/test-api';

export interface HyperpairExports {
  /** A read-only view of the extension's state, for the editor test suite and other extensions. */
  testApi: TestApi;
}

/** Set by the bundle's first line (esbuild banner); absent when the module was compiled by tsc alone. */
declare const __hyperpairLoadStart: number | undefined;

let controller: SessionController | undefined;

export function activate(context: vscode.ExtensionContext): HyperpairExports {
  const activateStart = performance.now();
  const loadStart = typeof __hyperpairLoadStart === 'number' ? __hyperpairLoadStart : activateStart;
  const log = vscode.window.createOutputChannel('Hyperpair', { log: true });
  const notices = new PeerNotices(() => readConfig().peerNotifications, {
    popup: (message) => void vscode.window.showInformationMessage(`Hyperpair: ${message}`),
    quiet: (message) => void vscode.window.setStatusBarMessage(`Hyperpair: ${message}`, 5000),
  });
  controller = new SessionController(log, notices, context.globalStorageUri.fsPath);
  const commands = new Commands(context, controller, log, log);
  const servers = new ServersView(controller, log);
  const chat = new ChatView(controller, log);
  context.subscriptions.push(log, controller, commands, new StatusItem(controller), new AccessCommands(controller, log), new TerminalCommands(controller, log), new CallCommands(controller, log), new ConnectionReport(controller, log), servers, chat);
  void vscode.commands.executeCommand('setContext', 'hyperpair.state', 'idle');
  void commands.resumeSession();
  const activation = { loadMs: activateStart - loadStart, activateMs: performance.now() - activateStart };
  log.info(`Hyperpair ${context.extension.packageJSON.version as string} activated in ${(activation.loadMs + activation.activateMs).toFixed(1)} ms (code ${activation.loadMs.toFixed(1)} ms, activate() ${activation.activateMs.toFixed(1)} ms)`);
  return { testApi: createTestApi(controller, activation, { servers, chat }) };
}

export async function deactivate(): Promise<void> {
  await controller?.leave();
  controller = undefined;
}
