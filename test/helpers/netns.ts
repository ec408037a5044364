/** Network namespaces for tests that need a network of their own (root, iproute2). */
import { execFileSync } from 'node:child_process';

export function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function hasCommand(cmd: string): boolean {
  try {
    run('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

/** Why namespaces cannot be used here (with `tools` installed), or undefined when they can. */
export function netnsUnavailable(probeName: string, tools: string[], install: string): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root (run as root to include these tests)';
  for (const tool of tools) if (!hasCommand(tool)) return `${tool} is not installed (${install})`;
  try {
    run('ip', ['netns', 'add', probeName]);
    run('ip', ['netns', 'del', probeName]);
  } catch (err) {
    return `ip netns does not work here: ${(err as Error).message.split('\n')[0]}`;
  }
  return undefined;
}
