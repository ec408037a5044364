/** Command-line arguments of the headless peer. */
import { parseArgs } from 'node:util';
import { parseBootstrap, type NetworkOptions } from '../session/network';
import { parseSessionCode } from '../session/code';

export const USAGE = `Usage:
  hyperpair share <dir> [options]        share a folder; prints the session code
  hyperpair join <code> <dir> [options]  join a session into a new or empty folder

Options:
  --name <name>              your display name (default: your OS user name)
  --bootstrap <host:port,…>  DHT bootstrap nodes (default: the public hyperswarm DHT)
  --host <address>           local address to bind (e.g. 127.0.0.1)
  --exclude <glob>           leave matching files out (repeatable; .gitignore is honoured)
  --max-file-size <MB>       leave out files larger than this (default 50)
  --force                    join into a folder that already has files
  --json                     print one JSON object per line instead of text
  --log-level <level>        trace, debug, info, warn, error (default warn; logs go to stderr)
  -h, --help                 show this help

Stops cleanly on Ctrl+C (SIGINT) or SIGTERM.`;

export interface CliCommand {
  command: 'share' | 'join' | 'help';
  dir: string;
  code?: string;
  name?: string;
  network: NetworkOptions;
  excludes: string[];
  maxFileSize: number;
  force: boolean;
  json: boolean;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
}

export class UsageError extends Error {}

export function parseCli(argv: string[]): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        bootstrap: { type: 'string' },
        host: { type: 'string' },
        exclude: { type: 'string', multiple: true },
        'max-file-size': { type: 'string' },
        force: { type: 'boolean' },
        json: { type: 'boolean' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const base = {
    name: values.name,
    network: {
      bootstrap: values.bootstrap ? parseBootstrapOrUsage(values.bootstrap) : undefined,
      host: values.host,
      firewalled: values.bootstrap ? false : undefined,
    },
    excludes: values.exclude ?? [],
    maxFileSize: parseSize(values['max-file-size']),
    force: values.force ?? false,
    json: values.json ?? false,
    logLevel: parseLevel(values['log-level']),
  };
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') return { ...base, command: 'help', dir: '' };
  if (command === 'share') {
    if (rest.length !== 1) throw new UsageError('share takes one folder: hyperpair share <dir>');
    return { ...base, command, dir: rest[0] };
  }
  if (command === 'join') {
    if (rest.length !== 2) throw new UsageError('join takes a code and a folder: hyperpair join <code> <dir>');
    const code = parseSessionCode(rest[0]);
    if (!code.ok) throw new UsageError(code.message);
    return { ...base, command, code: code.code, dir: rest[1] };
  }
  throw new UsageError(`unknown command "${command}"`);
}

function parseBootstrapOrUsage(spec: string) {
  try {
    return parseBootstrap(spec);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function parseSize(value: string | undefined): number {
  if (value === undefined) return 50 * 1024 * 1024;
  const mb = Number(value);
  if (!Number.isFinite(mb) || mb <= 0) throw new UsageError(`--max-file-size takes a number of megabytes, not "${value}"`);
  return Math.round(mb * 1024 * 1024);
}

function parseLevel(value: string | undefined): CliCommand['logLevel'] {
  const levels = ['trace', 'debug', 'info', 'warn', 'error'] as const;
  if (value === undefined) return 'warn';
  if (!(levels as readonly string[]).includes(value)) throw new UsageError(`--log-level takes one of ${levels.join(', ')}`);
  return value as CliCommand['logLevel'];
}
