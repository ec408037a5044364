/**
 * What every command does with a failure: one readable message, in the log and in the UI.
 */
import * as vscode from 'vscode';
import type { Logger } from '../session/log';

export async function guarded<T>(logger: Logger, id: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    const message = (err as Error).message;
    logger.error(`${id}: ${message}`);
    void vscode.window.showErrorMessage(`Hyperpair: ${message}`);
    return undefined;
  }
}

/** Registers a command whose failures are shown as `guarded` shows them. */
export function registerGuarded(logger: Logger, id: string, fn: (...args: never[]) => Promise<unknown>): vscode.Disposable {
  return vscode.commands.registerCommand(id, (...args: never[]) => guarded(logger, id, () => fn(...args)));
}
