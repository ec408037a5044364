/**
 * A text changed on disk that no binding follows (disk-bindings.ts), taken into the shared text:
 * merged three-way from the version the disk's writer read (mergeBase) across the peers' edits since,
 * once the text is here.
 */
import type * as Y from 'yjs';
import type { FileEntry } from './api';
import { earlierTexts, keepBesideAsNew, mergeBase } from './disk-merge';
import type { DiskWriter } from './disk-writer';
import { contentHash } from './hash';
import { diffLineEdits } from './line-diff';
import type { MirrorCore } from './mirror-core';
import { mapOffset, withCommonChanges } from './textdiff';

export class DiskTextMerge {
  /** Texts whose disk change waits, alone, for a version nobody here can send (told once each). */
  private readonly toldWaiting = new Set<string>();

  constructor(
    private readonly core: MirrorCore,
    private readonly writer: DiskWriter,
  ) {}

  /** The file's new text, merged now if the text is here or can be built from this peer's own copy. */
  async take(entry: FileEntry, bytes: Buffer, text: string): Promise<void> {
    const loaded = this.core.ws.loadedText(entry.id) ?? (await this.core.ws.textHere(entry.id));
    if (!loaded) return this.waitForText(entry);
    await this.merge(entry, loaded, bytes, text);
  }

  /**
   * A text changed on disk that only a member can send (a joiner still fetching; a record whose copy
   * of it no longer reads back): the change is merged once the text is here. Alone in the session,
   * nobody may send it for a long time: the person is told where the change waits.
   */
  private waitForText(entry: FileEntry): void {
    this.writer.afterContent(entry.id, true, () => this.core.ws.text(entry.id));
    if (this.core.ws.hasMembers() || this.toldWaiting.has(entry.id)) return;
    this.toldWaiting.add(entry.id);
    this.core.ws.emit(
      'notice',
      `${entry.path} changed on disk, but the version it changed is not readable here and nobody else is in the session: the change stays on disk, and is merged when someone who has that version joins`,
    );
  }

  /**
   * Merges a change found on disk into the shared text three-way, for a file no binding follows (its
   * text was never read here, or an editor just let go of it): from the version the disk's writer read
   * (mergeBase) across the peers' edits since; a change both already have is taken once.
   */
  async merge(entry: FileEntry, ytext: Y.Text, bytes: Buffer, text: string): Promise<void> {
    const hash = contentHash(bytes);
    const known = this.core.known.get(entry.path);
    // A restore undoing exactly what just arrived is deliberate, not a stale tool's write-back.
    const restored = await this.core.options.history?.wasRestored(entry.path, hash);
    // Read only now, with nothing awaited until the edits are applied: peers' changes that arrived
    // during the await above, mapped with offsets of the text before them, spliced lines into
    // each other (the chaos suite's last lost lines: 'cw1-s-1cw1-s-21', '5').
    const shared = ytext.toString();
    // A record whose copy of the text no longer reads back still holds its hash: the shared text,
    // when it has that hash, is exactly what the disk last held.
    const seen = restored ? known?.text : (mergeBase(known, text) ?? (known && contentHash(Buffer.from(shared, 'utf8')) === known.hash ? shared : undefined));
    if (seen === undefined) {
      // Never read here as text (its record keeps no text): nothing says what the file deleted. Taken
      // as the base, the shared text had every line the file had not received yet (a collaborator's)
      // deleted as if the person had. The file is kept beside as a new file, as a version this peer
      // never saw is, and the shared text takes the path.
      const copy = keepBesideAsNew(this.core.ws, entry.path, bytes, this.core.logger);
      if (copy) this.core.enqueue(() => this.writer.writeEntry(copy));
      this.core.known.set(entry.path, { hash, size: bytes.byteLength });
      this.writer.scheduleText(entry);
      return;
    }
    // A change the disk and the shared text both have since (the disk got it from the session) is
    // part of the base: taken once, not twice.
    const base = withCommonChanges(seen, text, shared);
    // Three-way: apply what changed on disk since we last saw it onto the shared text, mapping
    // offsets across the peers' edits that have not reached the disk yet.
    const local = diffLineEdits(base, text);
    const pending = diffLineEdits(base, shared);
    ytext.doc!.transact(() => {
      for (const e of [...local].sort((a, b) => b.offset - a.offset)) {
        const start = mapOffset(pending, e.offset);
        const end = mapOffset(pending, e.offset + e.deleteCount);
        if (end > start) ytext.delete(start, end - start);
        if (e.insert) ytext.insert(start, e.insert);
      }
    }, 'disk');
    this.core.known.set(entry.path, { hash, size: bytes.byteLength, text, earlier: earlierTexts(known) });
    if (ytext.toString() !== text) this.writer.scheduleText(entry); // bring the peers' edits to disk too
  }
}
