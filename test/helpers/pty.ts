/**
 * node-pty for tests and the bench: the copy code-server ships (N-API, so plain Node loads it), else
 * whatever `loadPty` finds. Same module the extension borrows from VS Code at run time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadPty, type PtyModule } from '../../src/session/terminal-pty';

const ROOT = path.resolve(__dirname, '..', '..', '..');
export const CODE_SERVER_PTY = path.join(ROOT, '.cache/code-server/node_modules/code-server/lib/vscode/node_modules/node-pty');

export function testPty(): PtyModule {
  return loadPty(fs.existsSync(CODE_SERVER_PTY) ? [CODE_SERVER_PTY] : []);
}

/** A shell that reads no start-up files, so that its prompt and output are the same everywhere. */
export const PLAIN_SHELL = { shell: '/bin/bash', args: ['--norc', '--noprofile'], env: { PS1: '$ ', TERM: 'xterm-256color' } };
