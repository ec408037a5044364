/**
 * "Who is speaking" from the `level` each frame carries (PROTOCOL.md §9.7: the speaker's page measures
 * its own microphone, so a receiver decodes nothing to know it). Frames come every 20 ms; a view that
 * redrew on each would redraw 50 times a second per speaker, so a meter keeps the loudest level heard
 * since it was last read, and is read on a slow tick: what is shown changes a few times a second.
 */

/** A frame at least this loud (0–255, about -42 dBFS) is speech; quieter is a room's noise. */
export const SPEAKING_LEVEL = 8;
/** Speaking lasts this long after the last loud frame, so the pauses between words do not flicker. */
export const SPEAKING_HOLD_MS = 400;
/** How often what is shown is brought up to date. */
export const METER_TICK_MS = 250;

export interface Loudness {
  /** Whether they are speaking (a loud frame within the hold time). */
  speaking: boolean;
  /** Loudest level since the last tick while speaking, 0–255; 0 when not speaking. */
  level: number;
}

/** Steps of the level meter (1–4 while speaking, 0 when not): the resolution a view shows and redraws for. */
export function levelBars(l: Loudness): number {
  if (!l.speaking) return 0;
  return Math.max(1, Math.min(4, Math.ceil(l.level / 64)));
}

export class SpeakingMeter {
  private loudest = 0;
  private lastLoud = -Infinity;
  private current: Loudness = { speaking: false, level: 0 };

  /** One frame's level, heard at `now`. */
  hear(level: number, now: number): void {
    this.loudest = Math.max(this.loudest, level);
    if (level >= SPEAKING_LEVEL) this.lastLoud = now;
  }

  /** What is shown, as of the last tick. */
  get shown(): Loudness {
    return this.current;
  }

  /** Brings what is shown up to date; true if that changed by a step a view shows. */
  tick(now: number): boolean {
    const speaking = now - this.lastLoud <= SPEAKING_HOLD_MS;
    const next = { speaking, level: speaking ? Math.max(this.loudest, SPEAKING_LEVEL) : 0 };
    this.loudest = 0;
    const changed = levelBars(next) !== levelBars(this.current);
    this.current = next;
    return changed;
  }

  /** Silent at once (they left the call or muted). */
  reset(): void {
    this.loudest = 0;
    this.lastLoud = -Infinity;
    this.current = { speaking: false, level: 0 };
  }
}
