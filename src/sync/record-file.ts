/**
 * The sync record's list of files (`files.json`, disk-state.ts) as text. Version 2 is a line each:
 *
 *     {"version":2,"session":S}
 *     {"tree":{path: {kind, target?}}}
 *     [path, {hash, size, text?}]        one line per file, each ending with a newline
 *
 * so that it is read a slice of the event loop at a time (LINES_A_PARSE lines a parse): version 1,
 * one JSON object `{version: 1, session, files: {path: {…}}, tree}`, was one JSON.parse of the whole
 * list (15 MB at 100,000 files, 70–130 ms in one turn before a second start could open its session).
 * Version 1 is still read. The first line alone says whose record it is (record-key.ts reads no more).
 * The file is written whole (temporary file, rename): a line cut short or not JSON means the file
 * is not one this peer wrote, and the record is not used, as a damaged version 1 was not.
 */
import { RECORD_VERSION, readHead } from './record-key';
import { Slicer } from './slicer';

/** A file as the record stores it: its content's hash and size, and `text` (that hash) if its text is in the pack. */
export interface StoredFile {
  hash: string;
  size: number;
  text?: string;
}

export interface RecordList {
  session: unknown;
  /** Each file as stored, unchecked (the reader judges each one, as a peer's entry is judged). */
  files: [string, StoredFile][];
  tree: unknown;
}

/** Lines of files parsed in one call: well inside a slice (about a millisecond). */
const LINES_A_PARSE = 1024;

/** The first two lines: whose record, and the links and empty folders. */
export function recordHead(session: string, tree: Record<string, unknown>): string {
  return `${JSON.stringify({ version: RECORD_VERSION, session })}\n${JSON.stringify({ tree })}\n`;
}

/** A file's line, without its newline. */
export function fileLine(rel: string, file: StoredFile): string {
  return JSON.stringify([rel, file]);
}

/** The record's list read from its text (either version); throws if it is neither. */
export async function parseRecordList(raw: string): Promise<RecordList> {
  const firstEnd = raw.indexOf('\n');
  const head = readHead(firstEnd < 0 ? raw : raw.slice(0, firstEnd));
  if (head?.version === 1) {
    // One object (the file has no line breaks), parsed whole as it always was.
    if (typeof head.files !== 'object' || head.files === null) throw new Error('unknown format');
    return { session: head.session, files: Object.entries(head.files as Record<string, StoredFile>), tree: head.tree };
  }
  if (head?.version !== RECORD_VERSION || firstEnd < 0) throw new Error('unknown format');
  const treeEnd = raw.indexOf('\n', firstEnd + 1);
  if (treeEnd < 0) throw new Error('cut short');
  const tree = (JSON.parse(raw.slice(firstEnd + 1, treeEnd)) as { tree?: unknown }).tree;
  const files: [string, StoredFile][] = [];
  const slicer = new Slicer();
  for (let at = treeEnd + 1; at < raw.length; ) {
    let end = at;
    for (let n = 0; n < LINES_A_PARSE && end < raw.length; n++) {
      const newline = raw.indexOf('\n', end);
      if (newline < 0) throw new Error('cut short');
      end = newline + 1;
    }
    // JSON strings hold no raw line break, so each one ends a line.
    const rows = JSON.parse(`[${raw.slice(at, end - 1).replaceAll('\n', ',')}]`) as unknown[];
    for (const row of rows) {
      if (!Array.isArray(row) || typeof row[0] !== 'string' || typeof row[1] !== 'object' || row[1] === null) throw new Error('not a file\'s line');
      files.push([row[0], row[1] as StoredFile]);
    }
    at = end;
    await slicer.maybeYield();
  }
  return { session: head.session, files, tree };
}
