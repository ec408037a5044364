/** The headless peer as a child process: the compiled entry point, a testnet for a file's tests, and
 * a child whose output is parsed line by line (JSON events or text). */
import { before, after } from 'node:test';
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
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

export interface Proc {
  child: ChildProcessWithoutNullStreams;
  events: Array<Record<string, unknown>>;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Starts `hyperpair <args>` (with --json unless `json` is false); pushes the child to `children` to kill after. */
export function spawnCli(args: string[], children: ChildProcess[], json = true, env: NodeJS.ProcessEnv = process.env): Proc {
  const child = spawn(process.execPath, [CLI, ...args, ...(json ? ['--json'] : [])], { stdio: 'pipe', env });
  children.push(child);
  const events: Array<Record<string, unknown>> = [];
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const lines = out.split('\n');
    out = lines.pop()!;
    for (const l of lines) events.push(json ? (JSON.parse(l) as Record<string, unknown>) : { text: l });
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, events, stderr: () => err, exit };
}
