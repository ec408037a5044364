/**
 * How the participants view shows the call (issue 19): a row's description starts with "in call",
 * "in call, muted" or "speaking" and a level meter of one to four bars, and a speaker's colour dot
 * gets sound waves. The marks come from the session's call (session/voice/speaking.ts), which moves
 * them a few times a second at most, so the view redraws at that pace, not per audio frame.
 */
import { levelBars, type Loudness } from '../session/voice/speaking';

export interface CallMark extends Loudness {
  muted: boolean;
}

const BARS = '▂▄▆█';

/** The words a participant row starts with; '' for someone not in the call. */
export function callMarkText(mark: CallMark | undefined): string {
  if (!mark) return '';
  if (mark.muted) return 'in call, muted';
  if (!mark.speaking) return 'in call';
  return `speaking ${BARS.slice(0, levelBars(mark))}`;
}

/** The colour dot of a participant: plain, or with sound waves while they speak. */
export function participantIconSvg(colour: string, speaking: boolean): string {
  const dot = speaking ? `<circle cx="6" cy="8" r="5" fill="${colour}"/>` : `<circle cx="8" cy="8" r="6" fill="${colour}"/>`;
  const waves = speaking ? `<path d="M12 5.5a3.5 3.5 0 0 1 0 5M13.5 3a7 7 0 0 1 0 10" fill="none" stroke="${colour}" stroke-width="1.3" stroke-linecap="round"/>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16">${dot}${waves}</svg>`;
}
