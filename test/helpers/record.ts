/**
 * A sync record's file (`files.json`, src/sync/record-file.ts) made whole, as DiskRecord writes it a
 * slice at a time: for tests that write or alter a record on disk.
 */
import { fileLine, recordHead, type StoredFile } from '../../src/sync/record-file';

export function recordText(session: string, files: Iterable<[string, StoredFile]>, tree: Record<string, unknown> = {}): string {
  let text = recordHead(session, tree);
  for (const [rel, f] of files) text += `${fileLine(rel, f)}\n`;
  return text;
}
