/**
 * A notebook binding's runs that bring the editor's cells to the shared model's, one at a time:
 * requests made while one is queued share it, and a run that failed (VS Code threw) or stopped before
 * the editor showed the model is tried again after a pause that doubles, a bounded number of times.
 * Before, a failure was only logged, and the cells stayed apart from the model until the next change
 * (two copies differing with nobody told). No `vscode` import: tested in plain Node.
 */

/** The first pause before a run is tried again; it doubles with each try. */
const RETRY_MS = 250;
/** Tries before giving up until the next request (notebooks.ts checks every few seconds). */
export const MAX_RETRIES = 6;

export class ReconcileRuns {
  private running: Promise<void> = Promise.resolve();
  private queued = false;
  private active = false;
  private retries = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** A fault a test injects into the next runs (see injectFault). */
  private fault: { kind: 'throw' | 'skip'; count: number } | undefined;

  /**
   * @param run brings the editor to the model; resolves true when the editor shows it (or there is
   *   nothing left to do), false when it stopped before.
   * @param warn a failure or a give-up, in words.
   * @param retryMs the first pause before a try again.
   */
  constructor(
    private readonly run: () => Promise<boolean>,
    private readonly warn: (why: string) => void,
    private readonly retryMs = RETRY_MS,
  ) {}

  /** No run queued, running or waiting to be tried again. */
  get settled(): boolean {
    return !this.queued && !this.active && this.retryTimer === undefined;
  }

  /** A run after whatever runs now; `first`, if given, runs before it (its failure is reported). */
  soon(first?: () => Promise<void>): void {
    if (this.closed) return;
    if (first) this.running = this.running.then(first).catch((err: Error) => this.warn(err.message));
    if (this.queued) return;
    this.queued = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.running = this.running.then(async () => {
      this.queued = false;
      this.active = true;
      let done = false;
      try {
        done = await this.runOrFault();
      } catch (err) {
        this.warn((err as Error).message);
      } finally {
        this.active = false;
      }
      this.after(done);
    });
  }

  /**
   * Makes the next `count` runs fail (`throw`) or do nothing while reporting success (`skip`): the
   * two-editor test of the tries again and of the structure check has no other way to make one fail.
   */
  injectFault(kind: 'throw' | 'skip', count: number): void {
    this.fault = { kind, count };
  }

  private runOrFault(): Promise<boolean> {
    const f = this.fault;
    if (!f || f.count <= 0) return this.run();
    f.count--;
    if (f.kind === 'throw') throw new Error('a fault injected by a test');
    return Promise.resolve(true);
  }

  dispose(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private after(done: boolean): void {
    if (done || this.closed || this.queued) {
      if (done) this.retries = 0;
      return;
    }
    if (this.retries >= MAX_RETRIES) {
      this.retries = 0;
      this.warn(`the cells still differ from the shared model after ${MAX_RETRIES + 1} tries; the next change, or the next check, tries again`);
      return;
    }
    const wait = this.retryMs * 2 ** this.retries++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.soon();
    }, wait);
  }
}
