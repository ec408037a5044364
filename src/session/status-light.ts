/**
 * The session's one-word status (session-types.ts) and how many members it counts, worked out from
 * what the session knows, and told only when either changes. `closed` is final.
 */
import type { SessionStatus } from './session-types';

/** What the status is made of, as the session sees it at one moment. */
export interface StatusFacts {
  left: boolean;
  members: number;
  /** Held back by the owner's admission (§8). */
  waiting: boolean;
  /** The DHT says the network is gone. */
  offline: boolean;
  /** Announced on the DHT at least once. */
  announced: boolean;
  /** Members this peer had and lost, still being redialled. */
  missing: boolean;
}

export class StatusLight {
  private current: SessionStatus = 'connecting';
  private members = 0;

  constructor(private readonly changed: (status: SessionStatus, members: number) => void) {}

  get status(): SessionStatus {
    return this.current;
  }

  update(f: StatusFacts): void {
    if (f.left) return this.set('closed', 0);
    if (f.members) return this.set('connected', f.members);
    if (f.waiting) return this.set('waiting', 0);
    if (!f.announced) return this.set(f.offline ? 'offline' : 'connecting', 0);
    this.set(f.missing || f.offline ? 'offline' : 'alone', 0);
  }

  close(): void {
    this.set('closed', 0);
  }

  private set(status: SessionStatus, members: number): void {
    if (this.current === 'closed' || (this.current === status && this.members === members)) return;
    this.current = status;
    this.members = members;
    this.changed(status, members);
  }
}
