/**
 * Diffing two versions of a text line by line first, then character by character inside the lines
 * that changed (diff-match-patch's "line mode").
 *
 * The three-way merge of a disk change (mirror) applies the disk's edits to the shared text through
 * the peers' edits since the same base. A plain character diff is free to place an inserted line
 * anywhere its characters repeat: "a-19\n" + "a-48\n" may come out as "9\na-4" inserted after "a-1"
 * and before "8". Alone that is the same text; mapped next to a peer's insertion at the same place it
 * splices one line into another (measured in the chaos suite: `a-1`, `a-489`). Whole lines inserted
 * or deleted stay whole lines here, so two insertions at one place only stack.
 */
import { DELETE, EQUAL, diffCodeUnits } from './code-unit-diff';
import { diffEdits, withCommonChanges, type CommonRule, type TextEdit } from './textdiff';

/** Distinct lines a diff can tell apart (one UTF-16 unit each, surrogates left out). */
const MAX_LINES = 0xffff - 0x800;

/**
 * The texts with each distinct line (up to and with its '\n') as one UTF-16 unit, and the way back;
 * undefined past MAX_LINES distinct lines.
 */
function lineCodes(texts: readonly string[]): { codes: string[]; decode: (s: string) => string } | undefined {
  const ids = new Map<string, string>();
  const encode = (text: string): string | undefined => {
    let out = '';
    for (let i = 0; i < text.length; ) {
      const nl = text.indexOf('\n', i);
      const end = nl < 0 ? text.length : nl + 1;
      const line = text.slice(i, end);
      let id = ids.get(line);
      if (id === undefined) {
        if (ids.size >= MAX_LINES) return undefined;
        const n = ids.size;
        id = String.fromCharCode(n < 0xd800 ? n : n + 0x800);
        ids.set(line, id);
      }
      out += id;
      i = end;
    }
    return out;
  };
  const codes: string[] = [];
  for (const text of texts) {
    const code = encode(text);
    if (code === undefined) return undefined;
    codes.push(code);
  }
  const lines = [...ids.keys()];
  const decode = (s: string) => Array.from(s, (c) => {
    const n = c.charCodeAt(0);
    return lines[n < 0xd800 ? n : n - 0x800];
  }).join('');
  return { codes, decode };
}

export function diffLineEdits(from: string, to: string): TextEdit[] {
  if (from === to) return [];
  const coded = lineCodes([from, to]);
  if (coded === undefined) return diffEdits(from, to);
  const [a, b] = coded.codes;
  const decode = coded.decode;

  const edits: TextEdit[] = [];
  let offset = 0;
  let block: { offset: number; deleted: string; inserted: string } | undefined;
  const close = () => {
    if (!block) return;
    if (block.deleted && block.inserted) {
      // Lines replaced: what changed inside them, to the character (a peer's edit elsewhere in the
      // same lines survives).
      for (const e of diffEdits(block.deleted, block.inserted)) edits.push({ ...e, offset: e.offset + block.offset });
    } else edits.push({ offset: block.offset, deleteCount: block.deleted.length, insert: block.inserted });
    block = undefined;
  };
  for (const [op, encoded] of diffCodeUnits(a, b)) {
    const text = decode(encoded);
    if (op === EQUAL) {
      close();
      offset += text.length;
      continue;
    }
    block ??= { offset, deleted: '', inserted: '' };
    if (op === DELETE) {
      block.deleted += text;
      offset += text.length;
    } else block.inserted += text;
  }
  close();
  return edits;
}

/**
 * `base` (what this peer last recorded of a file) with the lines that both the file (`disk`) and the
 * shared text inserted at one place since: lines the peer wrote to the file from the shared text
 * after its record was last written (the record follows the file by a few hundred milliseconds, so a
 * restart can find them on disk and not in the record). Of two insertions at one place, the whole
 * lines both hold in the same order (a line diff's common lines): others may have inserted lines at
 * that place since, before, after and between them (a rewrite inserts anywhere: the chaos suite's
 * create-then-leave took 'ctl1-s-2' twice when 'ctl1-s-3\nctl1-s-2\n' on disk had twenty lines
 * between them in the shared text). Compared line by line, so that an inserted line is one edit on
 * both sides. Only for such a record: in general, the same line added at one place by two people is
 * two lines (withCommonChanges's default rule, sameEdit, takes only the very same edit as common). It
 * is withCommonChanges with the line diff and this wider rule.
 */
export function withLinesFromShared(base: string, disk: string, shared: string): string {
  return withCommonChanges(base, disk, shared, sameOrCommonLines, diffLineEdits);
}

/** The very same edit, or of two insertions at one place the whole lines both hold (commonLines). */
const sameOrCommonLines: CommonRule = (mine, theirs) => {
  if (mine.insert === theirs.insert) return mine;
  if (mine.deleteCount !== 0) return undefined;
  const lines = commonLines(mine.insert, theirs.insert);
  return lines ? { offset: mine.offset, deleteCount: 0, insert: lines } : undefined;
};

/** The lines two insertions both hold, in the order both have them ('' if none). */
function commonLines(x: string, y: string): string {
  const coded = lineCodes([x, y]);
  if (coded === undefined) return '';
  let common = '';
  for (const [op, encoded] of diffCodeUnits(coded.codes[0], coded.codes[1])) if (op === EQUAL) common += coded.decode(encoded);
  return common;
}
