/**
 * One sentence for a person about why a member is no longer here, from the reason the connection
 * closed with (connection.ts) or the admission state that ended the membership (session.ts). The
 * same words go to the log, the editor's notifications and the headless peer, so that nobody reads
 * "Bob left (left: left the session)" or, when they leave themselves, that Bob "disconnected".
 */
export type Departure = 'left' | 'removed' | 'dropped' | 'you-left' | 'you-removed';

/** The reason a member leaves this peer's list when a member turned this peer itself away. */
export const SELF_REMOVED = 'you were turned away';

/** What kind of departure a close reason and a goodbye flag describe. */
export function departureOf(reason: string, bye: boolean, selfLeaving = false): Departure {
  if (selfLeaving) return 'you-left';
  if (reason === SELF_REMOVED) return 'you-removed';
  if (reason === 'denied' || reason === 'removed') return 'removed';
  if (bye || reason === 'peer left' || reason.startsWith('left')) return 'left';
  return 'dropped';
}

/** "Bob left the session", "Bob was removed from the session by Alice", "the connection to Bob dropped (…)". */
export function describeDeparture(name: string, reason: string, bye: boolean, options: { selfLeaving?: boolean; owner?: string } = {}): string {
  switch (departureOf(reason, bye, options.selfLeaving)) {
    case 'you-left':
      return `you left the session; closed the connection to ${name}`;
    case 'you-removed':
      return `${name} no longer lets you in: you were removed from the session`;
    case 'removed':
      return `${name} was removed from the session${options.owner ? ` by ${options.owner}` : ''}`;
    case 'left':
      return `${name} left the session`;
    case 'dropped':
      return `the connection to ${name} dropped (${reason})`;
  }
}
