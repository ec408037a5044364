/**
 * Shared terminals for the headless peer: `--terminal` (or "terminal" on standard input) shares a
 * shell; every terminal's output is printed (as plain text lines, or as `--json` events carrying the
 * raw text); "type <text>" types a line into the newest terminal this peer may type in, and the
 * sharer answers "terminal allow <name>", "terminal revoke <name>", "terminal stop".
 */
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import type { Logger } from '../session/log';
import type { Session } from '../session/session';
import { SharedTerminals, type TerminalState } from '../session/terminal';
import type { PtyModule } from '../session/terminal-pty';
import type { Output } from './run';

const COMMAND = /^\s*(terminal(?:\s+(allow|revoke|stop|interrupt)(?:\s+(.+?))?)?|type\s(.*))\s*$/i;
/** A line of output longer than this is printed in pieces. */
const MAX_LINE = 4096;

/** Whether a line of standard input is for the terminals (other prompts leave it alone). */
export function isTerminalLine(line: string): boolean {
  return COMMAND.test(line);
}

/**
 * Terminal output as plain lines: escape sequences (colours, cursor movement, titles) are dropped and
 * a carriage return keeps what was written after it. What is left is escaped again when printed.
 */
export function plainLines(pending: string, chunk: string): { lines: string[]; rest: string } {
  const text = (pending + chunk)
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b\[[0-?]*[ -/]*[@-~]|\x1b[PX^_][^\x1b]*\x1b\\|\x1b[ -/]*[0-~]/g, '');
  const parts = text.split('\n');
  let rest = parts.pop() ?? '';
  const lines = parts.map((l) => overstrike(l.replace(/\r+$/, '')));
  while (rest.length > MAX_LINE) {
    lines.push(overstrike(rest.slice(0, MAX_LINE)));
    rest = rest.slice(MAX_LINE);
  }
  return { lines, rest };
}

function overstrike(line: string): string {
  const at = line.lastIndexOf('\r');
  return at < 0 ? line : line.slice(at + 1);
}

export class CliTerminals {
  readonly terminals: SharedTerminals;
  private readonly lines: readline.Interface;
  private readonly pending = new Map<string, string>();
  private readonly access = new Map<string, string>();

  constructor(
    private readonly session: Session,
    private readonly out: Output,
    input: Readable,
    logger: Logger,
    private readonly json: boolean,
    shareAtStart: boolean,
    pty?: PtyModule,
  ) {
    this.terminals = new SharedTerminals(session, { logger, pty });
    const t = this.terminals;
    t.on('opened', (s) => this.out.line(`Terminal "${s.title}" (${s.mine ? 'yours' : s.owner.name}) is shared${s.mine ? '' : '; its output follows'}`, { event: 'terminal-opened', key: s.key, owner: s.owner.id, name: s.owner.name, title: s.title, mine: s.mine }));
    t.on('output', (key, bytes) => this.output(key, bytes));
    t.on('typed', (key, by) => this.out.line(`${by.name} is typing in the terminal`, { event: 'terminal-typed', key, by: by.id, name: by.name }));
    t.on('changed', (s) => {
      // Said when what this peer may do changes (or who may type in its own), not on every resize.
      const access = this.describeAccess(s);
      if (this.access.get(s.key) === access) return;
      this.access.set(s.key, access);
      this.out.line(access, { event: 'terminal-changed', key: s.key, cols: s.cols, rows: s.rows, writers: s.writers, canType: t.canType(s.key) });
    });
    t.on('closed', (key, reason) => {
      this.flush(key);
      this.access.delete(key);
      this.out.line(`Terminal closed: ${reason}`, { event: 'terminal-closed', key, reason });
    });
    if (shareAtStart) this.share();
    this.lines = readline.createInterface({ input, terminal: false });
    this.lines.on('line', (line) => this.onLine(line));
  }

  close(): void {
    this.lines.close();
    this.terminals.close();
  }

  private share(): void {
    try {
      this.terminals.share({ cwd: process.cwd(), title: `${this.session.self.name}'s shell` });
    } catch (err) {
      this.problem((err as Error).message);
    }
  }

  private onLine(line: string): void {
    const m = COMMAND.exec(line);
    if (!m) return;
    try {
      if (m[4] !== undefined) return this.type(`${m[4]}\r`);
      const verb = m[2]?.toLowerCase();
      if (!verb) return this.share();
      if (verb === 'interrupt') return this.type('\x03');
      const own = this.terminals.terminals().filter((s) => s.mine);
      if (own.length === 0) return this.problem('you share no terminal: type "terminal" to share one');
      const key = own[own.length - 1].key;
      if (verb === 'stop') return void this.terminals.stop(key);
      const who = this.session.peers().filter((p) => p.name === m[3] || (m[3] && m[3].length >= 4 && p.id.startsWith(m[3].toLowerCase())));
      if (who.length !== 1) return this.problem(who.length ? `${who.length} people are called "${m[3]}": use the start of their id` : `nobody called "${m[3] ?? ''}" is in the session`);
      if (verb === 'allow') this.terminals.allow(key, who[0].id);
      else this.terminals.revoke(key, who[0].id);
    } catch (err) {
      this.problem((err as Error).message);
    }
  }

  /** Into the newest terminal this peer may type in (another member's first: one's own is local). */
  private type(data: string): void {
    const all = this.terminals.terminals().filter((s) => this.terminals.canType(s.key));
    const target = all.filter((s) => !s.mine).pop() ?? all.pop();
    if (!target) return this.problem('there is no terminal you may type in');
    this.terminals.input(target.key, data);
  }

  private output(key: string, bytes: Buffer): void {
    if (this.json) return this.out.line('', { event: 'terminal-output', key, data: bytes.toString('utf8') });
    const { lines, rest } = plainLines(this.pending.get(key) ?? '', bytes.toString('utf8'));
    this.pending.set(key, rest);
    for (const l of lines) this.out.line(`| ${l}`, { event: 'terminal-output', key, data: l });
  }

  private flush(key: string): void {
    const rest = this.pending.get(key);
    this.pending.delete(key);
    if (rest && !this.json) this.out.line(`| ${rest}`, { event: 'terminal-output', key, data: rest });
  }

  private describeAccess(s: TerminalState): string {
    if (s.mine) {
      const names = s.writers.map((id) => this.session.peers().find((p) => p.id === id)?.name ?? id.slice(0, 8));
      return names.length ? `May type in your terminal: ${names.join(', ')}` : 'Only you may type in your terminal';
    }
    return this.terminals.canType(s.key) ? `${s.owner.name} lets you type in the terminal: "type <text>" on standard input` : `${s.owner.name}'s terminal is read-only for you`;
  }

  private problem(message: string): void {
    this.out.line(`! ${message}`, { event: 'terminal-problem', message });
  }
}
