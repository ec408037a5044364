/**
 * A sharer that opened its session before it finished reading its folder says so in its awareness
 * state (docs/PROTOCOL.md §6.1, field `scanning`: `{files, bytes}` shared so far, absent once done),
 * so that a joiner knows the index it received is still growing: it keeps writing files as entries
 * arrive and reports itself joined only once nobody is scanning any more.
 */
import type { Awareness } from 'y-protocols/awareness';
import type { SharedWorkspace } from './workspace';

export interface ScanningState {
  files: number;
  bytes: number;
}

/** How often the count in the awareness state is brought up to date while scanning. */
const ANNOUNCE_MS = 500;

/** Publishes this peer's scanning state until `done()`; the count follows the workspace. */
export class ScanAnnouncer {
  private readonly timer: ReturnType<typeof setInterval>;
  private finished = false;

  constructor(
    private readonly ws: SharedWorkspace,
    private readonly onProgress?: (s: ScanningState) => void,
  ) {
    this.publish();
    this.timer = setInterval(() => this.publish(), ANNOUNCE_MS);
    this.timer.unref?.();
  }

  private publish(): void {
    const files = this.ws.files();
    const state = { files: files.length, bytes: files.reduce((n, e) => n + e.size, 0) };
    this.ws.awareness.setLocalStateField('scanning', state);
    this.onProgress?.(state);
  }

  done(): void {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.timer);
    this.ws.awareness.setLocalStateField('scanning', null);
  }
}

/** A peer's scanning state, read from untrusted awareness data. */
export function readScanning(state: unknown): ScanningState | undefined {
  if (typeof state !== 'object' || state === null) return undefined;
  const s = (state as { scanning?: unknown }).scanning;
  if (typeof s !== 'object' || s === null) return undefined;
  const { files, bytes } = s as { files?: unknown; bytes?: unknown };
  if (!Number.isSafeInteger(files) || !Number.isSafeInteger(bytes) || (files as number) < 0 || (bytes as number) < 0) return undefined;
  return { files: files as number, bytes: bytes as number };
}

/** Whether another member is still reading its folder into the session. */
export function othersScanning(awareness: Awareness): boolean {
  for (const [client, state] of awareness.getStates()) {
    if (client !== awareness.clientID && readScanning(state)) return true;
  }
  return false;
}

/**
 * Resolves at the next change that may matter to a joiner waiting for a scan to end: an awareness
 * change, or `ms` passing (entries keep arriving in between).
 */
export function nextScanTick(awareness: Awareness, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      awareness.off('change', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    awareness.on('change', done);
  });
}
