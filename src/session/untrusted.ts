/**
 * Strings that come from elsewhere — peers (names, reasons, paths) or a disk (file names) — made safe
 * to show a person. A terminal obeys escape sequences, a newline forges a line of output, and bidi
 * controls reorder what is displayed; none of these may pass through raw. The one place that decides:
 * `escapeUntrusted` for text whose exact value matters (file names in a terminal or log), the display
 * functions below for names and labels a peer supplies (removed rather than escaped). What comes out is
 * plain text: callers that render Markdown must still escape it (MarkdownString.appendText).
 */
import { parseColour } from './format';

// C0 and C1 controls, DEL, line and paragraph separators, bidi marks, embeddings, overrides, isolates.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `s` with every unsafe character shown as a visible escape (`\x1b`, `\n`, `\u202e`): for text whose
 * exact value matters to the reader, such as a file name. A backslash stays as it is.
 */
export function escapeUntrusted(s: string): string {
  return s.replace(UNSAFE, (ch) => {
    if (ESCAPES[ch]) return ESCAPES[ch];
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Longest display name, in code points. */
export const MAX_DISPLAY_NAME = 64;

// C0/C1 controls, line and paragraph separators, bidi embeddings/overrides/isolates/marks, zero-width
// characters and the byte order mark: none has a visible meaning in a name, each can disguise one.
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;
// Tabs and line breaks separate words: they become spaces before the other controls are removed.
const LINE_BREAKS = /[\t\n\v\f\r\u2028\u2029]/g;
// Markup that user interfaces interpret inside plain strings: `$(icon)` in VS Code labels and status
// bars, `[text](command:…)` links in its notifications. A space breaks each up, visibly harmless.
const MARKUP = /(\$|\])\(/g;
export const NEUTRAL_COLOUR = '#888888';

/**
 * A peer-supplied string made safe to show: invisible and control characters removed, runs of
 * white space folded to one space, icon and link markup broken up, trimmed, cut to `max` code points
 * (never inside a surrogate pair). Returns `fallback` when nothing is left or the value is not a string.
 */
export function displayText(value: unknown, max = MAX_DISPLAY_NAME, fallback = ''): string {
  if (typeof value !== 'string') return fallback;
  // Bound the work first: a 10 MB "name" is cut before any regular expression sees it.
  const head = value.length > max * 8 ? value.slice(0, max * 8) : value;
  const cleaned = head.replace(LINE_BREAKS, ' ').replace(INVISIBLE, '').replace(/\s+/g, ' ').replace(MARKUP, '$1 (').trim();
  const cut = [...cleaned].slice(0, max).join('').trim();
  return cut || fallback;
}

/** A display name from a peer: `displayText` with the name bound, or `fallback` when empty. */
export function displayName(value: unknown, fallback = 'Anonymous'): string {
  return displayText(value, MAX_DISPLAY_NAME, fallback);
}

/** A colour from a peer as lowercase `#rrggbb`, or a neutral grey: it ends up in CSS. */
export function displayColour(value: unknown): string {
  return parseColour(value) ?? NEUTRAL_COLOUR;
}

/** A long peer-supplied string (a path) shortened for a narrow place, keeping its end. */
export function shortenMiddle(value: string, max: number): string {
  const chars = [...value];
  if (chars.length <= max) return value;
  const keep = max - 1;
  const tail = Math.ceil(keep / 2);
  return `${chars.slice(0, keep - tail).join('')}…${chars.slice(chars.length - tail).join('')}`;
}
