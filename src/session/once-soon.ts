/**
 * A function run once on a later turn, however often it is asked for before then: a burst of changes
 * becomes one run (a render, a flush, a publish, a pump, a drain). `when` chooses the turn: the end
 * of the current task (`endOfTask`, so that a burst in one task is one run and nothing else runs
 * first), or after the I/O waiting (`afterIo`, so that other work gets in between).
 */
export type Turn = (run: () => void) => void;

export const endOfTask: Turn = (run) => queueMicrotask(run);
export const afterIo: Turn = (run) => void setImmediate(run);

export class OnceSoon {
  private waiting = false;

  constructor(
    private readonly run: () => void,
    private readonly when: Turn = afterIo,
  ) {}

  /** A run is asked for and has not started yet. */
  get queued(): boolean {
    return this.waiting;
  }

  request(): void {
    if (this.waiting) return;
    this.waiting = true;
    this.when(() => {
      this.waiting = false;
      this.run();
    });
  }
}
