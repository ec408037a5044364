/**
 * Text edits in UTF-16 offsets, as both VS Code and Y.Text count them, and the few operations the
 * bindings need on them: diffing two texts into edits, applying edits, and mapping an offset across
 * edits. Editor-agnostic.
 */
import { DELETE, EQUAL, diffCodeUnits } from './code-unit-diff';

/** Replace `deleteCount` code units at `offset` with `insert`; offsets refer to the text before. */
export interface TextEdit {
  readonly offset: number;
  readonly deleteCount: number;
  readonly insert: string;
}

/** Minimal, non-overlapping edits (ascending offsets, all relative to `from`) that turn `from` into `to`. */
export function diffEdits(from: string, to: string): TextEdit[] {
  if (from === to) return [];
  const edits: TextEdit[] = [];
  let offset = 0;
  let pending: { offset: number; deleteCount: number; insert: string } | undefined;
  for (const [op, text] of diffCodeUnits(from, to)) {
    if (op === EQUAL) {
      if (pending) edits.push(pending);
      pending = undefined;
      offset += text.length;
      continue;
    }
    pending ??= { offset, deleteCount: 0, insert: '' };
    if (op === DELETE) {
      pending.deleteCount += text.length;
      offset += text.length;
    } else {
      pending.insert += text;
    }
  }
  if (pending) edits.push(pending);
  return widenToUnits(from, edits);
}

/**
 * The diff works on UTF-16 code units and can cut an astral character (emoji) in half, or a CRLF
 * line break in two; a half surrogate corrupts the text, and an editor cannot even address a position
 * between CR and LF. Widen such edits to whole units. A widened edit can then start where the one
 * before it ends (an insertion before a CR, another between it and its LF: "x\r\ny" to
 * "x\n\r\nz\ny"); two edits at one offset would be applied in no defined order, so they become one.
 */
function widenToUnits(from: string, edits: TextEdit[]): TextEdit[] {
  const out: TextEdit[] = [];
  for (const e of edits) {
    let { offset, deleteCount, insert } = e;
    if (offset > 0 && isPair(from, offset)) {
      offset -= 1;
      deleteCount += 1;
      insert = from[offset] + insert;
    }
    const end = offset + deleteCount;
    if (end > 0 && end < from.length && isPair(from, end)) {
      deleteCount += 1;
      insert = insert + from[end];
    }
    const last = out[out.length - 1];
    if (last && last.offset + last.deleteCount >= offset) {
      // Adjacent (the unit between them was taken into this one): one edit over both.
      out[out.length - 1] = { offset: last.offset, deleteCount: offset + deleteCount - last.offset, insert: last.insert + insert };
    } else out.push({ offset, deleteCount, insert });
  }
  return out;
}

/** Whether `at` falls inside a unit that must not be split: a surrogate pair or a CRLF. */
function isPair(text: string, at: number): boolean {
  const before = text.charCodeAt(at - 1);
  const after = text.charCodeAt(at);
  if (before === 13 && after === 10) return true;
  return before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
}

/**
 * Edits that add to `from` what `to` has and `from` lacks, keeping everything `from` has: a merge
 * that loses nothing (what one side deleted comes back rather than the other side's text going).
 */
export function unionEdits(from: string, to: string): TextEdit[] {
  return diffEdits(from, to)
    .filter((e) => e.insert)
    .map((e) => ({ offset: e.offset + e.deleteCount, deleteCount: 0, insert: e.insert }));
}

/** Applies edits whose offsets all refer to `text` (any order, non-overlapping). */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const sorted = [...edits].sort((a, b) => b.offset - a.offset);
  let out = text;
  for (const e of sorted) out = out.slice(0, e.offset) + e.insert + out.slice(e.offset + e.deleteCount);
  return out;
}

/**
 * Maps an offset in the text before `edits` to the text after them. An offset strictly inside a
 * replaced range moves to the end of its replacement; an offset at an edit's start stays before the
 * inserted text unless `after` is set.
 */
export function mapOffset(edits: readonly TextEdit[], offset: number, after = false): number {
  let shift = 0;
  for (const e of [...edits].sort((a, b) => a.offset - b.offset)) {
    if (offset < e.offset) break;
    const end = e.offset + e.deleteCount;
    if (offset === e.offset) return e.offset + shift + (after ? e.insert.length : 0);
    if (offset < end) return e.offset + shift + e.insert.length;
    shift += e.insert.length - e.deleteCount;
  }
  return offset + shift;
}

/** A place in a text as editors address it: a line (split at LF) and a UTF-16 column within it. */
export interface LineColumn {
  readonly line: number;
  readonly column: number;
}

/** The line and column of each offset of `text` (ascending offsets, one pass). */
export function positionsOf(text: string, offsets: readonly number[]): LineColumn[] {
  const out: LineColumn[] = [];
  let line = 0;
  let lineStart = 0;
  let scanned = 0;
  for (const offset of offsets) {
    for (; scanned < offset && scanned < text.length; scanned++) {
      if (text.charCodeAt(scanned) === 10) {
        line++;
        lineStart = scanned + 1;
      }
    }
    out.push({ line, column: offset - lineStart });
  }
  return out;
}

/**
 * The offset of a line and column in `text`, clamped as editors clamp a position: past the last line
 * to the end of the text, past the end of a line to its end (before its CR LF or LF).
 */
export function offsetOf(text: string, pos: LineColumn): number {
  let lineStart = 0;
  for (let line = 0; line < pos.line; line++) {
    const nl = text.indexOf('\n', lineStart);
    if (nl < 0) return text.length;
    lineStart = nl + 1;
  }
  let lineEnd = text.indexOf('\n', lineStart);
  if (lineEnd < 0) lineEnd = text.length;
  else if (lineEnd > lineStart && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
  return Math.min(lineStart + pos.column, lineEnd);
}

/**
 * Of an edit of each side at the same place (the same offset and extent in the base), what both
 * made, to be taken once; undefined when nothing.
 */
export type CommonRule = (mine: TextEdit, theirs: TextEdit) => TextEdit | undefined;

/** The very same edit, and nothing less: in general, the same line added by two people is two lines. */
export const sameEdit: CommonRule = (mine, theirs) => (mine.insert === theirs.insert ? mine : undefined);

/**
 * `base` with the changes that both `a` and `b` made to it (by default the very same edit at the same
 * place): the base of a three-way merge that takes such a change once. Two copies that each received
 * one change (one filled from the other) would otherwise each bring it, and it would be in the result
 * twice. `rule` says what two edits at one place have in common, and `diffOf` how each side's edits are
 * found (line-diff.ts's withLinesFromShared takes whole lines, with a wider rule); a diff gives at most
 * one edit at each place (offset and extent), so each edit of `a` meets at most one of `b`.
 */
export function withCommonChanges(base: string, a: string, b: string, rule: CommonRule = sameEdit, diffOf: (from: string, to: string) => TextEdit[] = diffEdits): string {
  const fromB = new Map(diffOf(base, b).map((e) => [`${e.offset}:${e.deleteCount}`, e]));
  const common: TextEdit[] = [];
  for (const e of diffOf(base, a)) {
    const theirs = fromB.get(`${e.offset}:${e.deleteCount}`);
    const taken = theirs && rule(e, theirs);
    if (taken) common.push(taken);
  }
  return common.length ? applyEdits(base, common) : base;
}
