/**
 * Strings that come from elsewhere — peers (names, reasons, paths) or a disk (file names) — made safe
 * to show a person. A terminal obeys escape sequences, a newline forges a line of output, and bidi
 * controls reorder what is displayed; none of these may pass through raw. The one place that decides.
 */

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

/**
 * `s` without unsafe characters, trimmed and cut to `maxChars` code points; `fallback` when nothing is
 * left. For display names, where an escape would only be noise.
 */
export function stripUntrusted(s: string, maxChars: number, fallback: string): string {
  const cleaned = s.replace(UNSAFE, '').trim();
  return [...cleaned].slice(0, maxChars).join('') || fallback;
}
