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
