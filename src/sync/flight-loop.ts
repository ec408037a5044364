/**
 * When the buffer binding's edits go to the editor: one flight at a time, and the next only once the
 * editor has reported the last applied one (its echo), so that a change reported meanwhile is never
 * mistaken for typing or for the echo. A refused flight is prepared again at once if the buffer moved
 * (the binding re-reads it), or a little later if it did not (a closed or busy editor). The binding
 * decides what a flight holds and what an answer means; this loop only sequences them.
 */
import type { Logger } from '../session/log';
import type { EditorBuffer, Flight } from './editor-buffer';
import type { StaleFlight } from './stale-flights';

const ECHO_TIMEOUT_MS = 10_000;
/** How soon to try again when the editor refused a flight without reporting any change. */
const RETRY_MS = 100;

export interface FlightSource {
  /** The next flight (now the one out), or undefined when the buffer lacks nothing. */
  next(): Flight | undefined;
  /** The editor's answer to the flight. */
  answered(f: Flight, applied: boolean): void;
  /** The editor said it applied the flight, and will never report it (EditorBuffer.reportsBeforeAnswer). */
  unreported(f: Flight): void;
  closed(): boolean;
}

export class FlightLoop {
  private running = false;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private idle: Promise<void> = Promise.resolve();
  /** The flight out, until the editor has answered it and, if it applied it, reported it. */
  private out: StaleFlight | undefined;

  constructor(
    private readonly buffer: EditorBuffer,
    private readonly source: FlightSource,
    private readonly options: { logger: Logger; echoTimeoutMs?: number },
  ) {}

  /** A flight is out, or being prepared. */
  get busy(): boolean {
    return this.running;
  }

  /** Resolves once the loop has nothing more to send. */
  whenIdle(): Promise<void> {
    return this.idle;
  }

  /** There may be something to send: now, or once the flight out has been echoed. */
  schedule(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.retryTimer);
    this.running = true;
    this.idle = this.run().finally(() => {
      this.running = false;
      // A request that came in as the loop was finishing.
      if (this.again && !this.source.closed()) {
        this.again = false;
        this.schedule();
      }
    });
  }

  /**
   * The edit sent and not yet answered, or applied and not yet reported: it may still land on the
   * buffer, after this loop is gone (stale-flights.ts).
   */
  unanswered(): StaleFlight | undefined {
    return this.out;
  }

  dispose(): void {
    clearTimeout(this.retryTimer);
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (!this.source.closed()) {
      this.again = false;
      const f = this.source.next();
      if (!f) return;
      const answer = this.apply(f);
      const out = (this.out = { sent: f.sent, answer });
      const applied = await answer;
      if (!applied || f.echoed) this.out = undefined;
      if (this.source.closed()) return;
      this.source.answered(f, applied);
      if (!applied) {
        // Refused without any change reported (closed, held): try again a little later.
        if (this.buffer.version() === f.baseVersion && !this.again) {
          this.retryTimer = setTimeout(() => this.schedule(), RETRY_MS);
          return;
        }
        continue;
      }
      if (!f.echoed && this.buffer.reportsBeforeAnswer && this.buffer.version() === f.baseVersion) {
        // Applied and not reported by an editor that reports first: it changed nothing, and nothing will
        // come. Waiting would hold every later edit; try again a little later (it may say so again).
        this.out = undefined;
        this.source.unreported(f);
        this.retryTimer = setTimeout(() => this.schedule(), RETRY_MS);
        return;
      }
      if (!f.echoed) await this.echoOf(f);
      if (this.out === out) this.out = undefined;
    }
  }

  /** The editor's answer to a flight; false if applying it failed (also by a synchronous throw). */
  private async apply(f: Flight): Promise<boolean> {
    try {
      return await this.buffer.applyEdits(f.sent, f.baseVersion);
    } catch (err) {
      this.options.logger.warn(`binding: applying remote edits failed: ${(err as Error).message}`);
      return false;
    }
  }

  /**
   * Waits until the editor reports the applied edit (it may do so before or after applyEdits
   * resolves). The next change it reports is that edit, however late: taking it for a keystroke would
   * send a collaborator's text back as ours. So a slow editor is only logged, never given up on.
   */
  private echoOf(f: Flight): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.options.logger.warn('binding: the editor has not reported an applied edit yet; still waiting for it');
      }, this.options.echoTimeoutMs ?? ECHO_TIMEOUT_MS);
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      f.onEcho = done;
      this.wake = done;
    });
  }
}
