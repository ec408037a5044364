/**
 * The workspace's notices (a file kept as a conflict copy, a deleted file brought back), gathered in
 * bursts for a front end that shows each as a notification: a join into a folder that differs from
 * the session in hundreds of files tells each, and hundreds of notifications bury the one that
 * matters. A burst lasts while notices keep coming less than `quietMs` apart (at most `longestMs`:
 * a join tells them over seconds); at most `max` notices are shown whole, more as the first `max - 1`
 * and a count of the rest (the log keeps every one).
 */
export class NoticeBursts {
  private burst: string[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private began = 0;

  constructor(
    private readonly show: (shown: readonly string[], more: number) => void,
    private readonly max = 3,
    private readonly quietMs = 500,
    private readonly longestMs = 5000,
  ) {}

  add(message: string): void {
    if (this.burst.length === 0) this.began = Date.now();
    this.burst.push(message);
    clearTimeout(this.timer);
    const left = this.began + this.longestMs - Date.now();
    this.timer = setTimeout(() => this.flush(), Math.max(0, Math.min(this.quietMs, left)));
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
