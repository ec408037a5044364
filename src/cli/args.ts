/** Command-line arguments of the headless peer. */
import { parseArgs } from 'node:util';
import { checkBindHost, parseBootstrap, parseRelayKey, type NetworkOptions } from '../session/network';
import { parseSessionCode } from '../session/code';
import { parseColour } from '../session/format';

export const USAGE = `Usage:
  hyperpair share <dir> [options]        share a folder; prints the session code
  hyperpair join <code> <dir> [options]  join a session into a new or empty folder, or into one
                                         joined before (its changes since are merged, not lost)
  hyperpair relay [options]              run a blind relay for peers that cannot connect directly;
                                         prints its key (for the hyperpair.relays setting, --relay)
  hyperpair restore <dir> [<path>] [--version N]
                                         list the versions kept of files that peers replaced or
                                         deleted in <dir>, or write version N of <path> back

Options:
  --name <name>              your display name (default: your OS user name)
  --colour <#rrggbb>         your colour, as others see it (default: one picked from your key)
  --bootstrap <host:port,…>  DHT bootstrap nodes (default: the public hyperswarm DHT)
  --host <address>           local address to bind (e.g. 127.0.0.1); also used for LAN discovery
  --relay <key>              a relay's key (repeatable): used when a direct connection fails
  --no-lan                   do not look for peers on the local network (multicast DNS)
  --relay-only               reach peers only through the relays (never a direct UDP path, so
                             that peers do not learn your address); needs --relay
  --key-file <path>          relay: keep the relay's key in this file across restarts
  --exclude <glob>           leave matching files out (repeatable; .gitignore is honoured)
  --max-file-size <MB>       leave out files larger than this (default 50)
  --admission <anyone|ask>   share: who gets in with the code (default anyone); with ask, each
                             request is printed and answered on standard input with
                             "admit <name>", "read-only <name>" or "deny <name>"
  --guests <edit|read-only>  share: what people let in may do (default edit)
  --port <N>                 share a server of this machine (a local port) with every member
                             (repeatable); members reach it on 127.0.0.1 of their own, and each
                             peer prints where the servers shared with it are reachable
  --terminal                 share a shell of this machine (a pseudo-terminal) with every member;
                             read-only for them until you type "terminal allow <name>"
  --record-call <file.ogg>   join the session's call as a listener and record what each member
                             says (Ogg Opus; further speakers beside it as <file>.<name>.ogg)
  --force                    join into a folder that already has other files (they are shared;
                             where the session has the same path, yours is kept beside it)
  --version <N>              restore: which version to write back (1 is the newest)
  --json                     print one JSON object per line instead of text
  --log-level <level>        trace, debug, info, warn, error (default warn; logs go to stderr)
  -h, --help                 show this help

If many files vanish from the folder at once (or the folder itself), the peer stops sharing from it
and asks: type "confirm delete" to delete them on every peer, or "restore files" to get them back.
What peers replace or delete is kept in $HYPERPAIR_STATE_DIR, else $XDG_STATE_HOME/hyperpair, else
~/.local/state/hyperpair (see hyperpair restore).

Session chat: messages from members are printed; type "say <text>" on standard input to send one.
Shared terminals: their output is printed. On standard input, "terminal" shares a shell,
"terminal allow <name>" / "terminal revoke <name>" / "terminal stop" manage yours, and
"type <text>" types a line into a terminal you are allowed to type in ("terminal interrupt": Ctrl+C).

Stops cleanly on Ctrl+C (SIGINT) or SIGTERM, or when its output is closed.`;

export interface CliCommand {
  command: 'share' | 'join' | 'relay' | 'restore' | 'help';
  dir: string;
  code?: string;
  name?: string;
  /** `#rrggbb` (lower case, as on the wire); undefined: the session picks one from the key. */
  colour?: string;
  network: NetworkOptions;
  /** LAN discovery beside the DHT (`--no-lan` switches it off). */
  lan: boolean;
  relays: Buffer[];
  /** relay: where the relay keeps its key. */
  keyFile?: string;
  excludes: string[];
  maxFileSize: number;
  /** share: "anyone" with the code gets in, or the sharer is asked for each person. */
  admission: 'anyone' | 'ask';
  /** share: whether people let in may edit. */
  guests: 'edit' | 'read-only';
  force: boolean;
  /** Local ports shared with every member (`--port`, repeatable). */
  ports: number[];
  /** Share a terminal when the session starts (`--terminal`). */
  terminal: boolean;
  /** Record the session's call to this Ogg Opus file (`--record-call`). */
  recordCall?: string;
  json: boolean;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** restore: the file whose versions are listed or restored. */
  restorePath?: string;
  /** restore: the version to write back. */
  version?: number;
}

export class UsageError extends Error {}

export function parseCli(argv: string[]): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: negativeNumbersAsValues(argv),
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        colour: { type: 'string' },
        bootstrap: { type: 'string' },
        host: { type: 'string' },
        relay: { type: 'string', multiple: true },
        'no-lan': { type: 'boolean' },
        'relay-only': { type: 'boolean' },
        'key-file': { type: 'string' },
        exclude: { type: 'string', multiple: true },
        port: { type: 'string', multiple: true },
        terminal: { type: 'boolean' },
        'record-call': { type: 'string' },
        'max-file-size': { type: 'string' },
        admission: { type: 'string' },
        guests: { type: 'string' },
        force: { type: 'boolean' },
        json: { type: 'boolean' },
        version: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // parseArgs calls a value that starts with "-" "ambiguous"; say what is missing instead.
    const ambiguous = /^Option '(--[\w-]+)[^']*' argument is ambiguous/.exec((err as Error).message);
    if (ambiguous) throw new UsageError(`${ambiguous[1]} needs a value; what follows it starts with "-", so it reads as an option (write ${ambiguous[1]}=<value> if it is the value)`);
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const hostProblem = checkBindHost(values.host);
  if (hostProblem) throw new UsageError(`--host: ${hostProblem}`);
  const base = {
    name: values.name,
    colour: parseColourOrUsage(values.colour),
    network: {
      bootstrap: values.bootstrap ? parseBootstrapOrUsage(values.bootstrap) : undefined,
      host: values.host,
      // A private DHT is mostly a LAN or loopback, where peers reach each other directly; a peer
      // that must only be relayed says it is firewalled, so that nobody tries it directly.
      firewalled: values['relay-only'] ? true : values.bootstrap ? false : undefined,
      holepunch: values['relay-only'] ? false : undefined,
    },
    lan: !values['no-lan'],
    relays: (values.relay ?? []).map(parseRelayOrUsage),
    keyFile: values['key-file'],
    excludes: values.exclude ?? [],
    ports: (values.port ?? []).map(parsePort),
    terminal: values.terminal ?? false,
    recordCall: values['record-call'],
    maxFileSize: parseSize(values['max-file-size']),
    admission: oneOf('--admission', values.admission, ['anyone', 'ask'] as const, 'anyone'),
    guests: oneOf('--guests', values.guests, ['edit', 'read-only'] as const, 'edit'),
    force: values.force ?? false,
    json: values.json ?? false,
    logLevel: parseLevel(values['log-level']),
  };
  if (values['relay-only'] && base.relays.length === 0) throw new UsageError('--relay-only needs at least one --relay <key>');
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') return { ...base, command: 'help', dir: '' };
  if (values.version !== undefined && command !== 'restore') throw new UsageError('--version is for restore: hyperpair restore <dir> <path> --version N');
  if (command === 'share') {
    if (rest.length !== 1) throw new UsageError('share takes one folder: hyperpair share <dir>');
    return { ...base, command, dir: rest[0] };
  }
  if (values.admission !== undefined || values.guests !== undefined) {
    throw new UsageError('--admission and --guests are for share: the one who shares decides who gets in');
  }
  if (command === 'join') {
    if (rest.length !== 2) throw new UsageError('join takes a code and a folder: hyperpair join <code> <dir>');
    const code = parseSessionCode(rest[0]);
    if (!code.ok) throw new UsageError(code.message);
    return { ...base, command, code: code.code, dir: rest[1] };
  }
  if (command === 'restore') {
    if (rest.length < 1 || rest.length > 2) throw new UsageError('restore takes a folder and optionally a file: hyperpair restore <dir> [<path>] [--version N]');
    const version = values.version === undefined ? undefined : Number(values.version);
    if (version !== undefined && (!Number.isInteger(version) || version < 1)) throw new UsageError(`--version takes a version number (1 is the newest), not "${values.version}"`);
    if (version !== undefined && rest.length < 2) throw new UsageError('--version needs the file: hyperpair restore <dir> <path> --version N');
    return { ...base, command, dir: rest[0], restorePath: rest[1]?.replace(/\\/g, '/').replace(/^\.\//, ''), version };
  }
  if (command === 'relay') {
    if (rest.length !== 0) throw new UsageError('relay takes no arguments: hyperpair relay [--key-file <path>]');
    return { ...base, command, dir: '' };
  }
  throw new UsageError(`unknown command "${command}"`);
}

/** Written as people write colours (`#A1B2C3` too); sent in lower case, as `hello` requires (PROTOCOL §5). */
function parseColourOrUsage(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const colour = parseColour(value.trim());
  if (!colour) throw new UsageError(`--colour takes a colour as #rrggbb (six hex digits), not "${value}"`);
  return colour;
}

function parseRelayOrUsage(spec: string): Buffer {
  try {
    return parseRelayKey(spec);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function parseBootstrapOrUsage(spec: string) {
  try {
    return parseBootstrap(spec);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag} takes ${allowed.join(' or ')}, not "${value}"`);
}

/** `--max-file-size -5` is a value, however wrong: turned into `--max-file-size=-5` so it is checked as one. */
function negativeNumbersAsValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (/^--[\w-]+$/.test(argv[i]) && /^-\d/.test(argv[i + 1] ?? '')) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

function parseSize(value: string | undefined): number {
  if (value === undefined) return 50 * 1024 * 1024;
  const mb = Number(value);
  if (!Number.isFinite(mb) || mb <= 0) throw new UsageError(`--max-file-size takes a number of megabytes greater than 0, not "${value}"`);
  return Math.round(mb * 1024 * 1024);
}

function parseLevel(value: string | undefined): CliCommand['logLevel'] {
  const levels = ['trace', 'debug', 'info', 'warn', 'error'] as const;
  if (value === undefined) return 'warn';
  if (!(levels as readonly string[]).includes(value)) throw new UsageError(`--log-level takes one of ${levels.join(', ')}`);
  return value as CliCommand['logLevel'];
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) throw new UsageError(`--port: "${value}" is not a port number (1–65535)`);
  return n;
}
