/**
 * Composing and rebasing lists of text edits without the texts themselves, so that the cost of a
 * keystroke depends on the number of edits in play, never on the size of the file. The buffer
 * binding keeps "what the buffer still lacks" as an edit list and uses these to fold in a peer's
 * change (compose) or a keystroke the buffer made meanwhile (rebase).
 *
 * Edit lists are as in textdiff: non-overlapping, every offset relative to the same text.
 */
import { diffEdits, mapOffset, type TextEdit } from './textdiff';

/**
 * Accumulates retain/delete/insert runs into an edit list. Text inserted before a deletion forms one
 * edit with it (a replacement, its text at the start); text inserted after a deletion is an edit of
 * its own at the deletion's end. The difference matters when another change inserts at that end: a
 * peer typing over a bracket and then on after it must stay two things (see `rebase`).
 */
export class EditBuilder {
  private readonly edits: TextEdit[] = [];
  private offset = 0;
  private open: { offset: number; deleteCount: number; insert: string } | undefined;
  retain(n: number): void {
    if (n <= 0) return;
    this.close();
    this.offset += n;
  }
  delete(n: number): void {
    if (n <= 0) return;
    this.open ??= { offset: this.offset, deleteCount: 0, insert: '' };
    this.open.deleteCount += n;
    this.offset += n;
  }
  insert(text: string): void {
    if (!text) return;
    if (this.open?.deleteCount) this.close();
    this.open ??= { offset: this.offset, deleteCount: 0, insert: '' };
    this.open.insert += text;
  }
  done(): TextEdit[] {
    this.close();
    return this.edits;
  }
  private close(): void {
    if (this.open) this.edits.push(this.open);
    this.open = undefined;
  }
}

const ascending = (edits: readonly TextEdit[]): TextEdit[] =>
  edits.filter((e) => e.deleteCount > 0 || e.insert).sort((a, b) => a.offset - b.offset);

/** A run of the original text (`from`, `length`), one deleted from it (`gone`), or inserted text. */
type Piece = { from: number; length: number; gone?: true } | { text: string };

/** The text after `edits`, as pieces of the text before them (the last run is open-ended). */
function piecesOf(edits: readonly TextEdit[]): Piece[] {
  const pieces: Piece[] = [];
  let at = 0;
  for (const e of ascending(edits)) {
    if (e.offset > at) pieces.push({ from: at, length: e.offset - at });
    if (e.insert) pieces.push({ text: e.insert });
    if (e.deleteCount) pieces.push({ from: e.offset, length: e.deleteCount, gone: true });
    at = e.offset + e.deleteCount;
  }
  pieces.push({ from: at, length: Infinity });
  return pieces;
}

const lengthOf = (p: Piece): number => ('text' in p ? p.text.length : p.gone ? 0 : p.length);

function slice(p: Piece, start: number, end: number): Piece {
  if ('text' in p) return { text: p.text.slice(start, end) };
  if (p.gone) return p;
  return { from: p.from + start, length: Math.min(end, p.length) - start };
}

/**
 * One edit list with the effect of `first` followed by `second` (whose offsets refer to the text
 * after `first`). The result's offsets refer to the text before `first`.
 */
export function compose(first: readonly TextEdit[], second: readonly TextEdit[]): TextEdit[] {
  if (!second.length) return ascending(first);
  const input = piecesOf(first);
  const output: Piece[] = [];
  let i = 0; // index into input
  let within = 0; // offset inside input[i]
  /** Moves `n` characters of the text after `first` to the output (keep) or drops them. */
  const advance = (n: number, keep: boolean): void => {
    while (n > 0 && i < input.length) {
      const p = input[i];
      const take = Math.min(n, lengthOf(p) - within);
      if (keep || ('from' in p && p.gone)) output.push(slice(p, within, within + take));
      else if ('from' in p && take > 0) output.push({ from: p.from + within, length: take, gone: true });
      within += take;
      n -= take;
      if (within >= lengthOf(p)) {
        i++;
        within = 0;
      }
    }
  };
  let at = 0;
  for (const e of ascending(second)) {
    advance(e.offset - at, true);
    // As in a Y.Text, text inserted where something was deleted goes after the deleted run.
    while (i < input.length && within === 0 && lengthOf(input[i]) === 0) output.push(input[i++]);
    if (e.insert) output.push({ text: e.insert });
    advance(e.deleteCount, false);
    at = e.offset + e.deleteCount;
  }

  if (i < input.length) output.push(slice(input[i], within, lengthOf(input[i])), ...input.slice(i + 1));
  const out = new EditBuilder();
  let next = 0; // the next character of the original text not yet accounted for
  for (const p of output) {
    if ('text' in p) out.insert(p.text);
    else if (p.gone) {
      out.delete(p.from + p.length - next);
      next = p.from + p.length;
    } else if (p.length > 0) {
      out.delete(p.from - next);
      if (p.length === Infinity) break;
      out.retain(p.length);
      next = p.from + p.length;
    }
  }
  return out.done();
}

/**
 * A change made to a text (`local`) while edits towards another copy were still pending (`pending`,
 * on the same text). Returns `local` as it applies to the pending result, and what is still pending
 * after `local`. Nothing is lost either way: text one side deleted that the other inserted into
 * stays; at one spot, the local insertion goes first (before the pending text), so that text arriving
 * at someone's caret lands after it and a word being typed stays whole; `localFirst` false puts it
 * after (the pending text is the person's own earlier keystrokes, see BufferBinding's hand-over). A
 * function decides spot by spot (given the offset, in the text both apply to, where both insert).
 */
export function rebase(
  local: readonly TextEdit[],
  pending: readonly TextEdit[],
  localFirst: boolean | ((at: number) => boolean) = true,
): { local: TextEdit[]; pending: TextEdit[] } {
  const L = ascending(local);
  const P = ascending(pending);
  if (!P.length) return { local: L, pending: [] };
  if (!L.length) return { local: [], pending: P };
  const cuts = new Set<number>([0]);
  for (const e of [...L, ...P]) cuts.add(e.offset).add(e.offset + e.deleteCount);
  const points = [...cuts].sort((a, b) => a - b);
  const covers = (edits: TextEdit[], from: number): boolean => edits.some((e) => e.offset <= from && from < e.offset + e.deleteCount);
  const insertAt = (edits: TextEdit[], at: number): string =>
    edits
      .filter((e) => e.offset === at)
      .map((e) => e.insert)
      .join('');
  const toShared = new EditBuilder(); // offsets in the pending result
  const stillPending = new EditBuilder(); // offsets in the text after `local`
  for (let k = 0; k < points.length; k++) {
    const at = points[k];
    const mine = insertAt(L, at);
    const theirs = insertAt(P, at);
    const first = typeof localFirst === 'boolean' || !mine || !theirs ? localFirst !== false : localFirst(at);
    if (first) {
      toShared.insert(mine);
      stillPending.retain(mine.length);
    }
    toShared.retain(theirs.length);
    stillPending.insert(theirs);
    if (!first) {
      toShared.insert(mine);
      stillPending.retain(mine.length);
    }
    if (k === points.length - 1) break; // the rest is untouched by both
    const length = points[k + 1] - at;
    const goneHere = covers(L, at);
    const goneThere = covers(P, at);
    if (!goneThere) (goneHere ? toShared.delete(length) : toShared.retain(length));
    if (!goneHere) (goneThere ? stillPending.delete(length) : stillPending.retain(length));
  }
  return { local: toShared.done(), pending: stillPending.done() };
}

/**
 * Maps an offset in the text after `edits` back to the text before them. An offset inside text the
 * edits inserted maps to where that insertion happened.
 */
export function mapBack(edits: readonly TextEdit[], offset: number): number {
  let shift = 0;
  for (const e of ascending(edits)) {
    const start = e.offset + shift;
    if (offset < start) break;
    if (offset <= start + e.insert.length) return offset === start + e.insert.length ? e.offset + e.deleteCount : e.offset;
    shift += e.insert.length - e.deleteCount;
  }
  return offset - shift;
}

/** A Yjs text delta (retain/delete/insert runs) as edits relative to the text before it. */
export function deltaToEdits(delta: ReadonlyArray<{ retain?: number; delete?: number; insert?: unknown }>): TextEdit[] {
  const out = new EditBuilder();
  for (const op of delta) {
    if (op.retain !== undefined) out.retain(op.retain);
    else if (op.delete !== undefined) out.delete(op.delete);
    else if (typeof op.insert === 'string') out.insert(op.insert);
  }
  return out.done();
}

/**
 * The same change with touching edits merged into one replacement, as an editor reports it (VS Code
 * merges edits whose ranges touch when it applies them). Used to send edits to an editor and to
 * recognise them when the editor reports them back.
 */
export function mergeTouching(edits: readonly TextEdit[]): TextEdit[] {
  const out: TextEdit[] = [];
  // At one offset, an insertion comes before a deletion that starts there (it is applied first).
  const sorted = ascending(edits).sort((a, b) => a.offset - b.offset || Number(a.deleteCount > 0) - Number(b.deleteCount > 0));
  for (const e of sorted) {
    const last = out[out.length - 1];
    if (last && last.offset + last.deleteCount === e.offset) {
      out[out.length - 1] = { offset: last.offset, deleteCount: last.deleteCount + e.deleteCount, insert: last.insert + e.insert };
    } else out.push({ offset: e.offset, deleteCount: e.deleteCount, insert: e.insert });
  }
  return out;
}

/** Whether two changes (each an edit list on the same text) have the same effect. */
export function sameChange(a: readonly TextEdit[], b: readonly TextEdit[]): boolean {
  const x = mergeTouching(a);
  const y = mergeTouching(b);
  return x.length === y.length && x.every((e, i) => e.offset === y[i].offset && e.deleteCount === y[i].deleteCount && e.insert === y[i].insert);
}

/** Reads `length` code units of a text from `offset`. */
export type Reader = (offset: number, length: number) => string;

/** Above this many characters in a run, a removed text is looked for at its start and end only (a diff costs more). */
const TRIM_DIFF_MAX = 4096;

/**
 * For `trimNoOps`: whether a replacement in `compose(first, then)` was made by compose, of a removal
 * in one and an insertion in the other (an undo, then its redo), rather than being a replacement in
 * either (a peer typing over a closing bracket makes one in one transaction).
 */
export function formedBy(first: readonly TextEdit[], then: readonly TextEdit[]): (e: TextEdit) => boolean {
  const replacements = [...first, ...then].filter((x) => x.deleteCount > 0 && x.insert);
  // Coordinates differ between the two lists; overlap in either is taken for a replacement's own.
  return (e) => !replacements.some((x) => x.offset < e.offset + e.deleteCount && e.offset < x.offset + x.deleteCount);
}

/**
 * `edits` (relative to a text that `read` gives slices of) without what puts back the very text it
 * removes: each run of touching edits loses the text its removal and its insertion start or end with
 * alike, or, when the whole removed text is inserted again with other text around or between its
 * pieces, all of it. That is what the buffer sees of an undo followed by its redo (Yjs redoes with new
 * items, each beside its own tombstone, so a redone word can come back in pieces with a peer's text
 * between them), or of a peer typing over a closing bracket. Left in, it would stand for "their text
 * replaced yours": a keystroke deleting that text would delete only the old copy, and the text would
 * come back (undo/redo fuzz, seed 1160: the redone "{" of "{B0}" stayed when its owner deleted it).
 */
export function trimNoOps(edits: readonly TextEdit[], read: Reader, loneReplacement: (e: TextEdit, removed: () => string) => boolean = () => false): TextEdit[] {
  const sorted = ascending(edits);
  const out: TextEdit[] = [];
  for (let i = 0; i < sorted.length; ) {
    const start = sorted[i].offset;
    let end = start + sorted[i].deleteCount;
    let j = i + 1;
    while (j < sorted.length && sorted[j].offset === end) end += sorted[j++].deleteCount;
    const run = sorted.slice(i, j);
    i = j;
    const inserted = run.map((e) => e.insert).join('');
    // One replacement is a peer typing over text (a closing bracket): the new copy stands apart from
    // the old in the Y.Text, and keystrokes next to it must see that. Only a removal followed by a
    // separate insertion (an undo, then its redo) is trimmed, or a lone replacement the caller knows
    // to be one (`loneReplacement`: compose merged the two).
    if (end === start || !inserted || (run.length < 2 && !loneReplacement(run[0], () => read(start, end - start)))) {
      out.push(...run);
      continue;
    }
    const removed = read(start, end - start);
    if (removed.length !== end - start) {
      out.push(...run); // not readable: left as it is
      continue;
    }
    // The removed text back whole, with other text around or between its pieces: only that other text
    // is new. (Characters merely alike, "(A11)" removed and "<A12>" inserted, are not the same text.)
    if (removed.length + inserted.length <= TRIM_DIFF_MAX && removed.length < inserted.length) {
      const around = diffEdits(removed, inserted);
      if (around.every((e) => e.deleteCount === 0)) {
        out.push(...around.map((e) => ({ offset: start + e.offset, deleteCount: 0, insert: e.insert })));
        continue;
      }
    }
    let head = 0;
    while (head < removed.length && head < inserted.length && removed[head] === inserted[head]) head++;
    let tail = 0;
    while (tail < removed.length - head && tail < inserted.length - head && removed[removed.length - 1 - tail] === inserted[inserted.length - 1 - tail]) tail++;
    // Never between the halves of a surrogate pair or of a CRLF: an editor cannot address that.
    while (head > 0 && (splits(removed, head) || splits(inserted, head))) head--;
    while (tail > 0 && (splits(removed, removed.length - tail) || splits(inserted, inserted.length - tail))) tail--;
    if (!head && !tail) out.push(...run);
    else if (head + tail < Math.max(removed.length, inserted.length)) {
      out.push({ offset: start + head, deleteCount: removed.length - head - tail, insert: inserted.slice(head, inserted.length - tail) });
    }
  }
  return out;
}

function splits(text: string, at: number): boolean {
  const before = text.charCodeAt(at - 1);
  const after = text.charCodeAt(at);
  return (before === 13 && after === 10) || (before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff);
}

/**
 * A reader of the text some edits removed (`removed`, each at its offset in the text before them), and
 * of the rest of that text through `rest` where known; where neither reads, the slice comes back
 * short, which `trimNoOps` takes for unreadable.
 */
export function readerOfRemoved(removed: ReadonlyArray<{ offset: number; text: string }>, rest: Reader = () => ''): Reader {
  const sorted = [...removed].sort((a, b) => a.offset - b.offset);
  return (offset, length) => {
    let out = '';
    let at = offset;
    const end = offset + length;
    for (const r of sorted) {
      const rEnd = r.offset + r.text.length;
      if (rEnd <= at || r.offset >= end) continue;
      if (r.offset > at) out += rest(at, r.offset - at);
      out += r.text.slice(Math.max(0, at - r.offset), Math.min(r.text.length, end - r.offset));
      at = Math.min(rEnd, end);
    }
    if (at < end) out += rest(at, end - at);
    return out;
  };
}

/** A reader of the text after `edits`, given a reader of the text before them. */
export function readerAfter(edits: readonly TextEdit[], read: Reader): Reader {
  const pieces = piecesOf(edits);
  return (offset, length) => {
    const end = offset + length;
    let out = '';
    let at = 0; // where the current piece starts in the text after `edits`
    for (const p of pieces) {
      const n = lengthOf(p);
      const lo = Math.max(offset, at);
      const hi = Math.min(end, at + n);
      if (lo < hi) out += 'text' in p ? p.text.slice(lo - at, hi - at) : read(p.from + lo - at, hi - lo);
      at += n;
      if (at >= end) break;
    }
    return out;
  };
}

/** The edits in ascending order, each with where its inserted text starts in the text after them all. */
export function landed(edits: readonly TextEdit[]): Array<{ edit: TextEdit; at: number }> {
  let shift = 0;
  return ascending(edits).map((edit) => {
    const at = edit.offset + shift;
    shift += edit.insert.length - edit.deleteCount;
    return { edit, at };
  });
}

/** A reader of the text before `edits`, given a reader of the text after them (what they deleted reads as nothing). */
export function readerBefore(edits: readonly TextEdit[], read: Reader): Reader {
  return (offset, length) => {
    let out = '';
    for (let o = offset; o < offset + length; o++) {
      if (!edits.some((e) => e.offset <= o && o < e.offset + e.deleteCount)) out += read(mapOffset(edits, o, true), 1);
    }
    return out;
  };
}
