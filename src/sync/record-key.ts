/**
 * What tells one session's sync record from another's, and whether a folder has one: light enough
 * for the extension's activation bundle (no Yjs), which asks it before a session runs (Join Session
 * offers "this folder" when the folder was synced with that session before).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { folderStateDir, stateRoot } from './state-dir';

/** The record's file of shared files (disk-state.ts writes it). */
export const RECORD_FILE = 'files.json';
export const RECORD_VERSION = 1;

/** What a record stores to tell sessions apart: a hash of the code, never the code. */
export function sessionTag(code: string): string {
  return createHash('sha256').update(`hyperpair sync record\n${code}`).digest('hex');
}

/** Whether a folder has a record of this session: it was synced here before, and can be rejoined. */
export async function wasSyncedBefore(folder: string, code: string, root = stateRoot()): Promise<boolean> {
  try {
    const raw = await fs.readFile(path.join(folderStateDir(path.resolve(folder), root), RECORD_FILE), 'utf8');
    const parsed = JSON.parse(raw) as { version?: unknown; session?: unknown; files?: unknown };
    return parsed.version === RECORD_VERSION && parsed.session === sessionTag(code) && typeof parsed.files === 'object' && parsed.files !== null;
  } catch {
    return false;
  }
}
