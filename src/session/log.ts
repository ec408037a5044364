/**
 * The logging surface of the core. It mirrors VS Code's LogOutputChannel methods so that the editor
 * glue can pass its channel straight in, while the core never imports `vscode`.
 * Never log the session code or anything derived from it that could be used to join.
 */
import { escapeUntrusted } from './untrusted';
export interface Logger {
  trace(message: string, ...args: unknown[]): void;
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string | Error, ...args: unknown[]): void;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'off';

const LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'off'];

function format(args: unknown[]): string {
  return args
    .map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a)))
    .join(' ');
}

/** A logger that writes to a stream (stderr by default) at or above `level`. */
export function createStreamLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
  prefix = '',
): Logger {
  const min = LEVELS.indexOf(level);
  const at = (l: Exclude<LogLevel, 'off'>) => (message: string | Error, ...args: unknown[]) => {
    if (LEVELS.indexOf(l) < min) return;
    const text = message instanceof Error ? message.message : message;
    const rest = args.length ? ' ' + format(args) : '';
    // Messages quote peers and file names: nothing in them reaches a terminal raw.
    write(`${new Date().toISOString()} [${l}] ${prefix}${escapeUntrusted(text + rest)}`);
  };
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A logger that discards everything. */
export const silentLogger: Logger = createStreamLogger('off');

/** Prefixes every message, e.g. with a component name. */
export function childLogger(parent: Logger, prefix: string): Logger {
  return {
    trace: (m, ...a) => parent.trace(`${prefix} ${m}`, ...a),
    debug: (m, ...a) => parent.debug(`${prefix} ${m}`, ...a),
    info: (m, ...a) => parent.info(`${prefix} ${m}`, ...a),
    warn: (m, ...a) => parent.warn(`${prefix} ${m}`, ...a),
    error: (m, ...a) => parent.error(m instanceof Error ? m : `${prefix} ${m}`, ...a),
  };
}
