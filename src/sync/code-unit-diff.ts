/**
 * The one entry to fast-diff: a diff of two JavaScript strings, code unit by code unit, that is
 * correct and never throws whatever the strings hold.
 *
 * fast-diff assumes well-formed UTF-16: its common prefix and suffix never end between a high and a
 * low surrogate, so a lone surrogate (a peer can send one in a Y.Text; a file read from disk cannot
 * hold one) can stop it from ever trimming the texts it recurses on, until the stack overflows
 * (`'\uD83Db\uDE00'` against `'😀'`). Here each lone surrogate is first replaced by a code unit that
 * neither text uses (one per distinct surrogate value, so the replacement is one-to-one), fast-diff
 * runs on those well-formed texts of the same lengths, and the parts are cut back out of the original
 * texts at the same offsets. Should both texts use so many code units that there are not enough left
 * (only a hostile input can), the diff is the texts' common prefix and suffix around one replacement:
 * coarser, still exact.
 */
import fastDiff from 'fast-diff';

/** A stretch of text both have (EQUAL), only the old one has (DELETE), or only the new one (INSERT). */
export const EQUAL = fastDiff.EQUAL;
export const DELETE = fastDiff.DELETE;
export const INSERT = fastDiff.INSERT;
export type DiffPart = [op: number, text: string];

/** Parts whose EQUAL and DELETE texts concatenate to `from`, and EQUAL and INSERT texts to `to`. */
export function diffCodeUnits(from: string, to: string): DiffPart[] {
  if (isWellFormed(from) && isWellFormed(to)) return fastDiff(from, to);
  const masked = maskLoneSurrogates(from, to);
  const parts = masked ? fastDiff(masked.from, masked.to) : prefixSuffixDiff(from, to);
  // Same lengths as the originals: cut each part out of the text it came from.
  const out: DiffPart[] = [];
  let i = 0;
  let j = 0;
  for (const [op, text] of parts) {
    const n = text.length;
    if (op === EQUAL) {
      out.push([op, from.slice(i, i + n)]);
      i += n;
      j += n;
    } else if (op === DELETE) {
      out.push([op, from.slice(i, i + n)]);
      i += n;
    } else {
      out.push([op, to.slice(j, j + n)]);
      j += n;
    }
  }
  return out;
}

type WellFormedCheck = { isWellFormed?: () => boolean };
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** No lone surrogate (String.prototype.isWellFormed where the runtime has it: Node 20). */
export function isWellFormed(text: string): boolean {
  const native = (text as unknown as WellFormedCheck).isWellFormed;
  return native ? native.call(text) : !LONE_SURROGATE.test(text);
}

/**
 * `text` with each lone surrogate replaced by U+FFFD, as UTF-8 encoding writes it (and so as Yjs
 * sends it to peers, and as a file holds it): the same length, every other code unit kept.
 */
export function wellFormed(text: string): string {
  return isWellFormed(text) ? text : text.replace(new RegExp(LONE_SURROGATE.source, 'g'), '\uFFFD');
}

/**
 * Both texts with every lone surrogate replaced by a code unit (not a surrogate) that neither text
 * holds, the same one for the same surrogate value; undefined if the texts leave too few unused.
 */
function maskLoneSurrogates(from: string, to: string): { from: string; to: string } | undefined {
  const used = new Uint8Array(0x10000);
  for (const text of [from, to]) for (let k = 0; k < text.length; k++) used[text.charCodeAt(k)] = 1;
  const stand = new Map<number, string>();
  // Candidates in order: private use first (never meaningful to a diff), then the rest of the BMP
  // below the surrogates.
  let candidate = 0;
  const unitOf = (c: number) => (c < 0x2000 ? 0xe000 + c : c - 0x2000);
  const standFor = (unit: number): string | undefined => {
    let s = stand.get(unit);
    if (s !== undefined) return s;
    while (candidate < 0x2000 + 0xd800 && used[unitOf(candidate)]) candidate++;
    if (candidate >= 0x2000 + 0xd800) return undefined;
    s = String.fromCharCode(unitOf(candidate++));
    stand.set(unit, s);
    return s;
  };
  const mask = (text: string): string | undefined => {
    let out = '';
    let copied = 0;
    for (let k = 0; k < text.length; k++) {
      const unit = text.charCodeAt(k);
      if (unit < 0xd800 || unit > 0xdfff) continue;
      if (unit <= 0xdbff) {
        const after = text.charCodeAt(k + 1);
        if (after >= 0xdc00 && after <= 0xdfff) {
          k++; // a pair: kept as it is
          continue;
        }
      }
      const s = standFor(unit);
      if (s === undefined) return undefined;
      out += text.slice(copied, k) + s;
      copied = k + 1;
    }
    return out + text.slice(copied);
  };
  const maskedFrom = mask(from);
  const maskedTo = maskedFrom === undefined ? undefined : mask(to);
  return maskedFrom === undefined || maskedTo === undefined ? undefined : { from: maskedFrom, to: maskedTo };
}

/** The texts' common prefix and suffix around one replacement (any two strings). */
function prefixSuffixDiff(from: string, to: string): DiffPart[] {
  let start = 0;
  const max = Math.min(from.length, to.length);
  while (start < max && from.charCodeAt(start) === to.charCodeAt(start)) start++;
  let end = 0;
  while (end < max - start && from.charCodeAt(from.length - 1 - end) === to.charCodeAt(to.length - 1 - end)) end++;
  const parts: DiffPart[] = [];
  if (start) parts.push([EQUAL, from.slice(0, start)]);
  if (from.length - end > start) parts.push([DELETE, from.slice(start, from.length - end)]);
  if (to.length - end > start) parts.push([INSERT, to.slice(start, to.length - end)]);
  if (end) parts.push([EQUAL, from.slice(from.length - end)]);
  return parts;
}
