/**
 * Refused connections, told to a person without flooding them: the first refusal after a quiet spell
 * is reported at once, the ones that follow are counted and reported together once per window
 * ("12 connections refused in the last minute …"). A stranger can open thousands of connections;
 * each would otherwise print a line.
 */
export interface RefusalSummary {
  /** For a person. */
  message: string;
  /** Connections this report covers. */
  count: number;
}

/** At most this many distinct reasons are named in one summary; the rest are counted. */
const MAX_REASONS_SHOWN = 3;

export class RefusalReport {
  private count = 0;
  private readonly reasons = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly report: (summary: RefusalSummary) => void,
    private readonly windowMs = 60_000,
  ) {}

  add(reason: string): void {
    if (this.closed) return;
    if (!this.timer) {
      this.report({ message: `Refused a connection: ${reason}`, count: 1 });
      this.startWindow();
      return;
    }
    this.count++;
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
  }

  /** Reports what was counted and stops. */
  close(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
    this.closed = true;
  }

  /** What an owner's DisposableStore calls. */
  dispose(): void {
    this.close();
  }

  private startWindow(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A window with refusals opens another, so a sustained flood stays at one line per window.
      if (this.flush()) this.startWindow();
    }, this.windowMs);
    this.timer.unref();
  }

  private flush(): boolean {
    const n = this.count;
    if (n === 0) return false;
    const sorted = [...this.reasons].sort((a, b) => b[1] - a[1]);
    const shown = sorted.slice(0, MAX_REASONS_SHOWN).map(([r, k]) => `${k} × ${r}`);
    if (sorted.length > MAX_REASONS_SHOWN) shown.push(`${sorted.length - MAX_REASONS_SHOWN} other reasons`);
    const ms = this.windowMs;
    const window = ms === 60_000 ? 'the last minute' : ms % 60_000 === 0 ? `the last ${ms / 60_000} minutes` : ms >= 1000 ? `the last ${Math.round(ms / 1000)} s` : `the last ${ms} ms`;
    this.count = 0;
    this.reasons.clear();
    this.report({ message: `${n} connection${n === 1 ? '' : 's'} refused in ${window} (${shown.join('; ')})`, count: n });
    return true;
  }
}
