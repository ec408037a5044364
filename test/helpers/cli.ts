/** The headless peer as a child process, its output parsed line by line (JSON events or text). */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';

export const CLI = path.resolve(__dirname, '../../src/cli/main.js');

export interface Proc {
  child: ChildProcessWithoutNullStreams;
  events: Array<Record<string, unknown>>;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Starts `hyperpair <args>` (with --json unless `json` is false); pushes the child to `children` to kill after. */
export function spawnCli(args: string[], children: ChildProcessWithoutNullStreams[], json = true, env: NodeJS.ProcessEnv = process.env): Proc {
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
