/**
 * The last contents the disk mirror wrote, by path and hash. An editor that reloads a clean document
 * whose file the mirror wrote as the editor was opening it reloads an older copy of the shared text,
 * not someone's change: the document layer asks here to tell the two apart (DocumentBindings).
 */

/** Paths remembered; the oldest written is forgotten first. A reload follows its write closely. */
const PATHS = 256;
/** Contents remembered per path. */
const PER_PATH = 8;

export class RecentWrites {
  private readonly byPath = new Map<string, string[]>();

  note(rel: string, hash: string): void {
    const hashes = this.byPath.get(rel) ?? [];
    this.byPath.delete(rel); // to the end: the most recently written
    hashes.push(hash);
    if (hashes.length > PER_PATH) hashes.shift();
    this.byPath.set(rel, hashes);
    if (this.byPath.size > PATHS) this.byPath.delete(this.byPath.keys().next().value!);
  }

  has(rel: string, hash: string): boolean {
    return this.byPath.get(rel)?.includes(hash) ?? false;
  }
}
