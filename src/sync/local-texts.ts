/**
 * A joiner's own files, read before it asks for the index: the texts among them build the index's
 * bases this folder holds already (own-bases.ts). Read with the scan a start uses, so that the same
 * files are found, and with its cache, so that the joiner's own scan afterwards hashes nothing again.
 */
import { isTextBytes, MAX_TEXT_BYTES } from './classify';
import { readIfFile } from './fsutil';
import { sortByPathSliced, type BaseFile } from './index-bases';
import { isNotebookPath } from './notebook/first-state';
import type { LocalTexts } from './own-bases';
import { resolveInside } from './paths';
import { scanFolder, type ExcludeRules, type ScanOptions, type ScanReport, type ScannedFile } from './scan';
import { forEachSliced } from './slicer';

/** What a joiner read of its folder: its texts for the bases, and the scan, once, for the restart intake. */
export interface FolderRead extends LocalTexts {
  /**
   * The scan these texts came from, handed over once (Mirror.resume), so that a clone join walks
   * its folder once, not twice; the restart intake reads each file anyway, and what changed after
   * the scan is found by the mirror's look when it starts (mirror.ts).
   */
  takeScan(): { report: ScanReport; rules: ExcludeRules } | undefined;
}

/**
 * `keep`: told each text the scan read (not a notebook's), with its hash, so that the record can
 * hold it as the base of the file that turns out to be the session's (restart-intake.ts).
 */
export async function readLocalTexts(root: string, options: ScanOptions, keep?: (hash: string, text: Uint8Array) => void): Promise<FolderRead> {
  // What the scan read to hash (every file the cache did not know) is judged as it passes: the
  // bases' ranges that hold binaries then need no second read of their files.
  const verdicts = new Map<string, boolean>();
  const onFiles = (batch: readonly ScannedFile[], _report: unknown, read: ReadonlyMap<string, Buffer>) => {
    const hashes = keep && read.size ? new Map(batch.map((f) => [f.rel, f.hash])) : undefined;
    for (const [rel, bytes] of read) {
      const text = isTextBytes(bytes, MAX_TEXT_BYTES);
      verdicts.set(rel, text);
      const hash = hashes?.get(rel);
      // Valid UTF-8 (classify.ts): the record keeps the bytes as the text (record-texts.ts TextContent).
      if (text && hash !== undefined && !isNotebookPath(rel)) keep?.(hash, bytes);
    }
  };
  let scanned: { report: ScanReport; rules: ExcludeRules } | undefined = await scanFolder(root, { ...options, onFiles });
  const { report } = scanned;
  // A slice at a time, as the sort (100,000 files: 15–20 ms in one turn).
  const candidates: BaseFile[] = [];
  await forEachSliced(report.files, (f) => {
    if (f.hash !== undefined && !isNotebookPath(f.rel)) candidates.push({ path: f.rel, size: f.size, hash: f.hash });
  });
  const files = await sortByPathSliced(candidates, (f) => f.path);
  // Each file read once at most, whatever the bases a member lists (their ranges may overlap).
  const judged = new Map<string, Promise<boolean>>();
  const judge = async (rel: string) => {
    const bytes = await readIfFile(resolveInside(root, rel)).catch(() => undefined);
    return bytes !== undefined && isTextBytes(bytes, MAX_TEXT_BYTES);
  };
  return {
    files,
    takeScan: () => {
      const taken = scanned;
      scanned = undefined; // not kept for the session's life with the bases' file list
      return taken;
    },
    isText: (rel) => {
      const known = verdicts.get(rel);
      if (known !== undefined) return Promise.resolve(known);
      let verdict = judged.get(rel);
      if (!verdict) judged.set(rel, (verdict = judge(rel)));
      return verdict;
    },
  };
}
