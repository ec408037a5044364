/**
 * What tells one session's sync record from another's, and whether a folder has one: light enough
 * for the extension's activation bundle (no Yjs), which asks it before a session runs (Join Session
 * offers "this folder" when the folder was synced with that session before).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { folderStateDir, stateRoot } from './state-dir';

/** The record's file of shared files (disk-state.ts writes it, record-file.ts says how). */
export const RECORD_FILE = 'files.json';
/** A line per file (record-file.ts); version 1 (one JSON object) is still read. */
export const RECORD_VERSION = 2;

/** What a record says in its first line: version 2's head, or a whole version-1 record (it has one line). */
export interface RecordHead {
  version?: unknown;
  session?: unknown;
  files?: unknown;
  tree?: unknown;
}

/** The record's first line parsed, or undefined if it is not a JSON object. */
export function readHead(line: string): RecordHead | undefined {
  try {
    const head: unknown = JSON.parse(line);
    return typeof head === 'object' && head !== null && !Array.isArray(head) ? (head as RecordHead) : undefined;
  } catch {
    return undefined;
  }
}

/** What a record stores to tell sessions apart: a hash of the code, never the code. */
export function sessionTag(code: string): string {
  return createHash('sha256').update(`hyperpair sync record\n${code}`).digest('hex');
}

/** Bytes read for a version-2 head (~100); a first line longer than this is read whole. */
const HEAD_BYTES = 4096;

/**
 * Whether a folder has a record of this session: it was synced here before, and can be rejoined.
 * Reads the first line only (a version-1 record, one line, is read whole).
 */
export async function wasSyncedBefore(folder: string, code: string, root = stateRoot()): Promise<boolean> {
  const file = path.join(folderStateDir(path.resolve(folder), root), RECORD_FILE);
  try {
    const handle = await fs.open(file, 'r');
    let start: string;
    try {
      const buf = Buffer.alloc(HEAD_BYTES);
      const { bytesRead } = await handle.read(buf, 0, HEAD_BYTES, 0);
      start = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
    const newline = start.indexOf('\n');
    const head = readHead(newline >= 0 ? start.slice(0, newline) : await fs.readFile(file, 'utf8'));
    if (head?.session !== sessionTag(code)) return false;
    return head.version === RECORD_VERSION ? newline >= 0 : head.version === 1 && typeof head.files === 'object' && head.files !== null;
  } catch {
    return false;
  }
}
