/**
 * The workspace's notices (a file kept as a conflict copy, a deleted file brought back), gathered in
 * bursts for a front end that shows each as a notification: a join into a folder that differs from
 * the session in hundreds of files tells each, and hundreds of notifications bury the one that
 * matters. A burst of at most `max` notices is shown whole; a larger one as its first `max - 1` and
 * a count of the rest (the log keeps every one).
 */
export class NoticeBursts {
  private burst: string[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly show: (shown: readonly string[], more: number) => void,
    private readonly max = 3,
    private readonly windowMs = 500,
  ) {}

  add(message: string): void {
    this.burst.push(message);
    this.timer ??= setTimeout(() => this.flush(), this.windowMs);
  }

  /** Shows what is gathered now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const burst = this.burst;
    this.burst = [];
    if (burst.length === 0) return;
    const shown = burst.length <= this.max ? burst : burst.slice(0, this.max - 1);
    this.show(shown, burst.length - shown.length);
  }

  /** Shows what is still gathered (it is about files on disk, still true after leaving). */
  dispose(): void {
    this.flush();
  }
}
