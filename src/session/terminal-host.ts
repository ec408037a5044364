/**
 * A terminal this peer shares: a real shell in a pseudo-terminal, its recent output, and who besides
 * the sharer may type into it. It decides nothing about the network; SharedTerminals carries it.
 */
import { defaultShell, type Pty, type PtyModule } from './terminal-pty';
import { OutputRing } from './terminal-ring';
import { MAX_DIMENSION, MAX_TITLE, MAX_WRITERS, type TerminalInfo } from './terminal-wire';
import { displayText } from './untrusted';

export interface ShareTerminalOptions {
  /** The program to run (default: $SHELL). */
  shell?: string;
  args?: string[];
  cwd?: string;
  cols?: number;
  rows?: number;
  title?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Bytes of recent output kept for people who arrive later (default 256 KiB). */
  replayBytes?: number;
}

export interface HostTerminalEvents {
  output(bytes: Buffer): void;
  exit(reason: string): void;
}

export class HostTerminal {
  readonly ring: OutputRing;
  readonly writers = new Set<string>();
  readonly title: string;
  cols: number;
  rows: number;
  private readonly pty: Pty;
  private exited = false;
  private paused = false;
  private pending: Buffer[] = [];
  private flushing: NodeJS.Immediate | undefined;
  /** Every open view's size, by viewer ('' for the sharer's own): the shell gets the smallest. */
  private readonly views = new Map<string, { cols: number; rows: number }>();

  constructor(
    readonly id: number,
    pty: PtyModule,
    options: ShareTerminalOptions,
    events: HostTerminalEvents,
  ) {
    this.cols = dimension(options.cols ?? 80);
    this.rows = dimension(options.rows ?? 24);
    const shell = options.shell ?? defaultShell();
    this.title = displayText(options.title ?? shellName(shell), MAX_TITLE, 'terminal');
    this.ring = new OutputRing(options.replayBytes);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (typeof v === 'string') env[k] = v;
    this.pty = pty.spawn(shell, options.args ?? [], {
      name: 'xterm-256color',
      cols: this.cols,
      rows: this.rows,
      cwd: options.cwd ?? process.cwd(),
      env: { ...env, ...options.env, HYPERPAIR_SHARED_TERMINAL: '1' },
    });
    // A busy shell writes in small pieces: those of one turn of the event loop go out as one message.
    this.pty.onData((data) => {
      this.pending.push(Buffer.from(data, 'utf8'));
      this.flushing ??= setImmediate(() => this.flush(events));
    });
    this.pty.onExit(({ exitCode, signal }) => {
      this.flush(events); // the shell's last words go out before its end
      this.exited = true;
      events.exit(signal ? `the shell ended (signal ${signal})` : `the shell exited with code ${exitCode}`);
    });
  }

  private flush(events: HostTerminalEvents): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = undefined;
    if (this.pending.length === 0) return;
    const bytes = Buffer.concat(this.pending);
    this.pending = [];
    this.ring.push(bytes);
    events.output(bytes);
  }

  info(): TerminalInfo {
    return { id: this.id, title: this.title, cols: this.cols, rows: this.rows, writers: [...this.writers] };
  }

  allow(peerId: string): void {
    if (!this.writers.has(peerId) && this.writers.size >= MAX_WRITERS) throw new Error(`at most ${MAX_WRITERS} people can type in one terminal`);
    this.writers.add(peerId);
  }

  write(data: string): void {
    if (!this.exited) this.pty.write(data);
  }

  /**
   * A view of this terminal opened or changed size (0 × 0: closed). The shell gets the smallest size
   * of all views, as tmux does, so that full-screen programs draw right in every one of them.
   */
  setViewSize(viewer: string, cols: number, rows: number): boolean {
    if (cols <= 0 || rows <= 0) this.views.delete(viewer);
    // A member cannot shrink everyone's terminal below a usable size.
    else this.views.set(viewer, viewer ? { cols: Math.max(MIN_COLS, cols), rows: Math.max(MIN_ROWS, rows) } : { cols, rows });
    if (this.views.size === 0) return false;
    const sizes = [...this.views.values()];
    return this.resize(Math.min(...sizes.map((s) => s.cols)), Math.min(...sizes.map((s) => s.rows)));
  }

  private resize(cols: number, rows: number): boolean {
    const c = dimension(cols);
    const r = dimension(rows);
    if (c === this.cols && r === this.rows) return false;
    this.cols = c;
    this.rows = r;
    if (!this.exited) this.pty.resize(c, r);
    return true;
  }

  /** Stops reading the shell's output while a member's connection is congested (the shell waits). */
  setPaused(paused: boolean): void {
    if (paused === this.paused || this.exited) return;
    this.paused = paused;
    if (paused) this.pty.pause();
    else this.pty.resume();
  }

  kill(): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = undefined;
    this.pending = [];
    if (this.exited) return;
    this.exited = true;
    try {
      this.pty.kill(process.platform === 'win32' ? undefined : 'SIGHUP');
    } catch {
      // already gone
    }
  }
}

const MIN_COLS = 20;
const MIN_ROWS = 5;

function dimension(n: number): number {
  if (!Number.isFinite(n)) return 80;
  return Math.max(1, Math.min(MAX_DIMENSION, Math.floor(n)));
}

function shellName(shell: string): string {
  return shell.split(/[\\/]/).pop() ?? 'shell';
}
