/**
 * What a chat message's text means to a reader: plain text, `@name` mentions and `path:line`
 * references to a file of the session. Pure functions over already-sanitised text (chat.ts passes
 * every message through untrusted.ts first); whoever renders the spans inserts them as text.
 */

export type ChatSpan =
  | { kind: 'text'; text: string }
  | { kind: 'mention'; text: string; name: string }
  | { kind: 'ref'; text: string; path: string; line: number };

/** Longest message, in code points. */
export const MAX_CHAT_TEXT = 2000;

// A path needs a slash or a file extension, so that "at 10:30" is not a reference; it may not start
// with a slash (references are relative to the shared folder) and must be preceded by a boundary.
const REF = /(?<![\w./\\-])((?:[\w.-]+\/)*[\w-][\w.-]*\.[A-Za-z0-9]+|(?:[\w.-]+\/)+[\w.-]+):(\d{1,7})(?![\w])/g;
const MENTION = /(?<![\w@])@([\p{L}\p{N}_.-]+(?: [\p{L}\p{N}_.-]+)?)/gu;

/** Whether `text` mentions a person called `name`: `@` and the whole name, or its first word. */
export function mentions(text: string, name: string): boolean {
  const full = name.trim().toLowerCase();
  if (!full) return false;
  const first = full.split(/\s+/)[0];
  const lower = text.toLowerCase();
  for (let at = lower.indexOf('@'); at >= 0; at = lower.indexOf('@', at + 1)) {
    if (at > 0 && /[\p{L}\p{N}_@]/u.test(lower[at - 1])) continue; // an e-mail address, not a mention
    for (const candidate of [full, first]) {
      if (!lower.startsWith(candidate, at + 1)) continue;
      const after = lower[at + 1 + candidate.length];
      if (after === undefined || !/[\p{L}\p{N}_]/u.test(after)) return true;
    }
  }
  return false;
}

/** `text` cut into plain text, mentions and file references, in order; joined they give `text` back. */
export function chatSpans(text: string): ChatSpan[] {
  const marks: Array<{ start: number; end: number; span: ChatSpan }> = [];
  for (const m of text.matchAll(REF)) {
    const line = Number(m[2]);
    if (line < 1 || m[1].split('/').some((part) => part === '..' || part === '.')) continue;
    marks.push({ start: m.index!, end: m.index! + m[0].length, span: { kind: 'ref', text: m[0], path: m[1], line } });
  }
  for (const m of text.matchAll(MENTION)) {
    const start = m.index!;
    if (marks.some((r) => start < r.end && start + m[0].length > r.start)) continue;
    marks.push({ start, end: start + m[0].length, span: { kind: 'mention', text: m[0], name: m[1] } });
  }
  marks.sort((a, b) => a.start - b.start);
  const spans: ChatSpan[] = [];
  let at = 0;
  for (const r of marks) {
    if (r.start > at) spans.push({ kind: 'text', text: text.slice(at, r.start) });
    spans.push(r.span);
    at = r.end;
  }
  if (at < text.length) spans.push({ kind: 'text', text: text.slice(at) });
  return spans;
}
