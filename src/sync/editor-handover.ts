/**
 * The hand-over of files between the disk mirror and an editor: a file an editor has open is the
 * editor's to write (it saves it), and a rename of such a file is carried out by the editor, so that
 * its tab, unsaved text and history follow. The mirror asks here before it writes or reads a file.
 */
import * as path from 'node:path';
import type { FileEntry } from './api';
import type { Known } from './disk-state';
import { pruneEmptyDirs, readIfFile } from './fsutil';
import { contentHash } from './hash';
import type { MirrorCore } from './mirror-core';
import { resolveInside } from './paths';

/** How long a move VS Code announced stays expected (the watcher reports it well before). */
const ANNOUNCED_MS = 15_000;

/** What the hand-over needs of the writing and reading sides. */
export interface EntryWriter {
  moveEntry(e: FileEntry, oldPath: string): Promise<void>;
  /** The editor let go of the file: its last save merged, then the file follows its text again. */
  handBack(e: FileEntry): Promise<void>;
  /** An editor takes the file: the mirror's binding of it lets go of the text (disk-bindings.ts). */
  release(rel: string): void;
}

export class EditorHandover {
  private readonly owned = new Set<string>();
  /** Paths the editor writes and removes itself, outside the session (see leaveAlone). */
  private readonly leftAlone = new Set<string>();
  /** Renames of open files that the editor carries out, by new path (see handOverMove). */
  private readonly moves = new Map<string, { oldPath: string; known?: Known }>();
  /** What the editor last saved into each file it has open (see `saved`). */
  private readonly saves = new Map<string, Known>();
  /** Moves of files or folders the editor announced (see announceMove): old path → new path, and until when. */
  private readonly announced = new Map<string, { to: string; until: number }>();

  constructor(
    private readonly core: MirrorCore,
    private readonly writer: () => EntryWriter,
  ) {}

  /** Whether an editor has this file open (and writes it itself). */
  owns(rel: string): boolean {
    return this.owned.has(rel);
  }

  /**
   * The editor saves a document under a name that left the session (a moved file's old tab, so that
   * it closes without asking) and removes that file again: its coming and going is not a change.
   */
  leaveAlone(rel: string, on: boolean): void {
    if (on) this.leftAlone.add(rel);
    else this.leftAlone.delete(rel);
  }

  isLeftAlone(rel: string): boolean {
    return this.leftAlone.has(rel);
  }

  /** Whether an editor is moving a file to this path: its absence there is not a delete. */
  movingTo(rel: string): boolean {
    return this.moves.has(rel);
  }

  setOwned(rel: string, owned: boolean): void {
    if (owned) {
      this.owned.add(rel);
      this.writer().release(rel);
      return;
    }
    this.owned.delete(rel);
    // Closed without saving, the disk may lag the shared text: the mirror owns the file again. Unless
    // the file left the disk (VS Code closes a document it has just moved or deleted): the watcher's
    // report says whether that was a rename or a delete, and writing it back first would bring the
    // old name back beside the renamed file (issue 11, item 2).
    const e = this.core.ws.byPath(rel);
    if (e) {
      this.core.enqueue(async () => {
        if (!(await this.vanished(rel))) await this.writer().handBack(e);
      });
    }
  }

  /**
   * The editor saved `text` into the file (see Mirror.editorSaved): remembered at once, since a
   * change of the file may be read before anything queued now, and after the editor let go of it.
   */
  saved(rel: string, text: string): void {
    if (!this.owned.has(rel)) return;
    const bytes = Buffer.from(text, 'utf8');
    this.saves.set(rel, { hash: contentHash(bytes), size: bytes.byteLength, text });
  }

  /**
   * What the editor last saved into this file, if the file holds that now (`hash`): a copy of the
   * shared text at some moment, so nobody's edit. Forgotten once read.
   */
  lastSave(rel: string, hash: string): Known | undefined {
    const save = this.saves.get(rel);
    if (save?.hash !== hash) return undefined;
    this.saves.delete(rel);
    return save;
  }

  /** A file this mirror saw on disk that is gone now (its removal not yet handled). */
  private async vanished(rel: string): Promise<boolean> {
    return this.core.known.has(rel) && !(await readIfFile(resolveInside(this.core.root, rel)));
  }

  /**
   * A file an editor has open is moved by the editor: the mirror records the file under its new path
   * at once (a disk event for it is then no change, and nothing writes the new path meanwhile) and
   * waits for `moveDone`. False when the editor does not own the move.
   */
  handOverMove(oldPath: string, newPath: string): boolean {
    if (!this.owned.has(oldPath) || this.owned.has(newPath)) return false;
    const { known } = this.core;
    const seen = known.get(oldPath);
    known.delete(oldPath);
    if (seen) known.set(newPath, seen);
    this.owned.add(newPath);
    this.moves.set(newPath, { oldPath, known: seen });
    return true;
  }

  /**
   * An editor is about to create this file on disk with `text` (a buffer bringing back a deleted
   * file): the mirror must not write it first, or the editor's save would meet a file it has not seen.
   */
  expectWrite(rel: string, text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    this.core.known.set(rel, { hash: contentHash(bytes), size: bytes.byteLength, text });
  }

  /**
   * VS Code is about to move `from` (a file or a folder) to `to` (its onWillRenameFiles): a file
   * that vanishes under `from` and the one that appears at its place under `to` are that move,
   * whatever each holds. Matched by content only, an open file whose disk copy lagged both the
   * shared text and the mirror's record (a save and the move in one watcher report, while a
   * collaborator typed) was taken for a delete and a new file: the rename forked the file.
   */
  announceMove(from: string, to: string): void {
    const now = Date.now();
    for (const [k, m] of this.announced) if (m.until < now) this.announced.delete(k);
    this.announced.set(from, { to, until: now + ANNOUNCED_MS });
  }

  /** Where an announced move takes the file at `rel`, if one does. */
  announcedTarget(rel: string): string | undefined {
    return this.alongAnnounced(rel, (from, to) => [from, to]);
  }

  /** The file an announced move brings to `rel`, if one does. */
  announcedSource(rel: string): string | undefined {
    return this.alongAnnounced(rel, (from, to) => [to, from]);
  }

  /** `rel` carried along a live announced move, `ends` choosing which way ([where it is, where it goes]). */
  private alongAnnounced(rel: string, ends: (from: string, to: string) => [string, string]): string | undefined {
    const now = Date.now();
    for (const [from, m] of this.announced) {
      if (m.until < now) continue;
      const [here, there] = ends(from, m.to);
      if (rel === here) return there;
      if (rel.startsWith(here + '/')) return there + rel.slice(here.length);
    }
    return undefined;
  }

  isMove(oldPath: string, newPath: string): boolean {
    return this.moves.get(newPath)?.oldPath === oldPath;
  }

  /**
   * The editor moved the file (`moved`), or could not: then the mirror moves it itself. Either way
   * the folder the file left is removed if it is now empty (a folder rename).
   */
  moveDone(oldPath: string, newPath: string, moved: boolean): void {
    const move = this.moves.get(newPath);
    if (move?.oldPath !== oldPath) return;
    this.moves.delete(newPath);
    const { core } = this;
    core.enqueue(async () => {
      if (!moved) {
        this.owned.delete(newPath);
        const entry = core.ws.byPath(newPath);
        if (move.known) core.known.set(oldPath, move.known);
        core.known.delete(newPath);
        if (entry) await this.writer().moveEntry(entry, oldPath);
      }
      await pruneEmptyDirs(core.root, path.dirname(resolveInside(core.root, oldPath)));
    });
  }
}
