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
import diff from 'fast-diff';
import { diffEdits, type TextEdit } from './textdiff';

/** Distinct lines a diff can tell apart (one UTF-16 unit each, surrogates left out). */
const MAX_LINES = 0xffff - 0x800;

export function diffLineEdits(from: string, to: string): TextEdit[] {
  if (from === to) return [];
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
  const a = encode(from);
  const b = encode(to);
  if (a === undefined || b === undefined) return diffEdits(from, to);
  const lines = [...ids.keys()];
  const decode = (s: string) => Array.from(s, (c) => {
    const n = c.charCodeAt(0);
    return lines[n < 0xd800 ? n : n - 0x800];
  }).join('');

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
  for (const [op, encoded] of diff(a, b)) {
    const text = decode(encoded);
    if (op === diff.EQUAL) {
      close();
      offset += text.length;
      continue;
    }
    block ??= { offset, deleted: '', inserted: '' };
    if (op === diff.DELETE) {
      block.deleted += text;
      offset += text.length;
    } else block.inserted += text;
  }
  close();
  return edits;
}
