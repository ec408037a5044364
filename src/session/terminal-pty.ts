/**
 * The one door to a pseudo-terminal. Hyperpair ships no native pty module of its own: a VSIX would
 * need a build per platform. It loads `node-pty` (N-API, so one binary serves every Node/Electron
 * version of its platform) from where it already is: VS Code's own app (`vscode.env.appRoot`), an
 * explicit path (`HYPERPAIR_NODE_PTY` or `--pty`), or an installed `node-pty` (or a prebuilt fork) next to
 * the CLI. When none loads, `loadPty` throws one readable error saying where it looked.
 */
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

/** What Hyperpair uses of a pseudo-terminal (a subset of node-pty's `IPty`). */
export interface Pty {
  readonly pid: number;
  onData(listener: (data: string) => void): { dispose(): void };
  onExit(listener: (e: { exitCode: number; signal?: number }) => void): { dispose(): void };
  write(data: string): void;
  resize(cols: number, rows: number): void;
  kill(signal?: string): void;
  pause(): void;
  resume(): void;
}

export interface PtySpawnOptions {
  name: string;
  cols: number;
  rows: number;
  cwd: string;
  env: Record<string, string>;
}

/** node-pty's module shape, as far as Hyperpair calls it. */
export interface PtyModule {
  spawn(file: string, args: string[], options: PtySpawnOptions): Pty;
}

export class PtyUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PtyUnavailableError';
  }
}

/** Packages that provide node-pty's API, tried when installed beside Hyperpair. */
const PACKAGES = ['node-pty', '@homebridge/node-pty-prebuilt-multiarch', '@lydell/node-pty'];

/** Where VS Code keeps node-pty inside its app folder (`vscode.env.appRoot`), newest layout first. */
export function appRootCandidates(appRoot: string): string[] {
  return [
    path.join(appRoot, 'node_modules', 'node-pty'),
    path.join(appRoot, 'node_modules.asar.unpacked', 'node-pty'),
    path.join(appRoot, 'node_modules.asar', 'node-pty'),
  ];
}

/** VS Code installs a headless peer may borrow node-pty from, for this platform. */
function wellKnownAppRoots(): string[] {
  switch (process.platform) {
    case 'darwin':
      return ['/Applications/Visual Studio Code.app/Contents/Resources/app'];
    case 'win32':
      return [path.join(process.env.LOCALAPPDATA ?? '', 'Programs', 'Microsoft VS Code', 'resources', 'app')];
    default:
      return ['/usr/share/code/resources/app', '/usr/lib/code/resources/app', '/opt/visual-studio-code/resources/app', path.join(os.homedir(), '.vscode-server', 'bin')];
  }
}

function isPtyModule(m: unknown): m is PtyModule {
  return typeof m === 'object' && m !== null && typeof (m as { spawn?: unknown }).spawn === 'function';
}

/**
 * Loads node-pty from, in order: `explicit` paths, `HYPERPAIR_NODE_PTY`, the packages above, VS Code's
 * app folders. Throws PtyUnavailableError listing what was tried.
 */
export function loadPty(explicit: string[] = []): PtyModule {
  const req = createRequire(__filename);
  const tried: string[] = [];
  const env = process.env.HYPERPAIR_NODE_PTY;
  const candidates = [...explicit, ...(env ? [env] : []), ...PACKAGES, ...wellKnownAppRoots().flatMap(appRootCandidates)];
  for (const c of candidates) {
    try {
      const m: unknown = req(c);
      if (isPtyModule(m)) return m;
      tried.push(`${c} (not node-pty)`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      tried.push(code === 'MODULE_NOT_FOUND' ? `${c} (absent)` : `${c} (${(err as Error).message.split('\n')[0]})`);
    }
  }
  throw new PtyUnavailableError(
    'No pseudo-terminal is available to share a terminal: Hyperpair uses node-pty from VS Code, or one installed beside it ' +
      `(npm install node-pty), or the path in HYPERPAIR_NODE_PTY. Tried: ${tried.join('; ')}.`,
  );
}

/** The shell a shared terminal runs: $SHELL, else the platform's default. */
export function defaultShell(): string {
  if (process.platform === 'win32') return process.env.COMSPEC ?? 'powershell.exe';
  return process.env.SHELL || '/bin/bash';
}
