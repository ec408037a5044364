/** Tests of the headless peer as a process: the compiled entry point, and a testnet for the file's tests. */
import { before, after } from 'node:test';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createTestNetwork, type TestNetwork } from './testnet';

/** The compiled CLI (`out/src/cli/main.js`). */
export const CLI = path.resolve(__dirname, '../../src/cli/main.js');

/**
 * Registers a testnet made before the file's tests and, after them, kills every tracked process
 * still running (also after a failed assertion) and destroys the testnet.
 */
export function cliTestbed(): { net: () => TestNetwork; track: <C extends ChildProcess>(child: C) => C } {
  let net: TestNetwork | undefined;
  const children: ChildProcess[] = [];
  before(async () => {
    net = await createTestNetwork();
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await net?.destroy();
  });
  return {
    net: () => net!,
    track: (child) => {
      children.push(child);
      return child;
    },
  };
}
