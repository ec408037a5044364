/**
 * The disk side of the index's `tree` map (tree-entries.ts): symbolic links and empty folders made on
 * this disk as the session says, and those made here put into the session.
 *
 * Safety as for files (paths.ts): a link is created only where no existing component of its path is
 * a link, with a target judged again here (a peer is untrusted), never followed; nothing in the way
 * is replaced unread: a link or folder this mirror made (and that still is as made) is replaced, an
 * empty folder removed, a file the session deleted and this disk still holds as last seen removed
 * (kept in the file history), any other file kept as a conflict copy (§6.4) first. A file of the
 * session at the same path wins over a link or folder there.
 */
import * as fs from 'node:fs/promises';
import type { Stats } from 'node:fs';
import * as path from 'node:path';
import { keepBesideAsNew } from './disk-merge';
import { readIfFile } from './fsutil';
import { contentHash } from './hash';
import type { MirrorCore } from './mirror-core';
import * as Y from 'yjs';
import type { FileEntry } from './api';
import { conflictPath, inspectPath, resolveInside, unsafePathReason } from './paths';
import { RULES } from './rules';
import { tempPathBeside } from './swap';
import { judgeLinkTarget, linkSkipReason, readLink } from './symlinks';
import { sameEntry, TreeEntries, type TreeEntry } from './tree-entries';
import { findTreeEntries } from './tree-walk';

export class TreeMirror {
  /** Paths where this mirror just removed or made a link or folder: the watcher will report them. */
  private readonly own = new Set<string>();
  /** Paths whose problem was told (once each). */
  private readonly told = new Set<string>();
  readonly tree: TreeEntries;

  constructor(
    private readonly core: MirrorCore,
    /**
     * What this mirror made or read at each path, as it was then: only that is replaced or removed.
     * Kept across restarts (DiskRecord.tree), so that what changed here meanwhile is told from what
     * the session changed.
     */
    private readonly known: Map<string, TreeEntry>,
    /** A file of the session waits for this path (it was in the way): write it now. */
    private readonly rewrite: (rel: string) => void,
    /** Moves a file of the session on disk after its rename (the writer's move, compare-and-swap). */
    private readonly moveFile: (e: FileEntry, oldPath: string) => Promise<void>,
  ) {
    this.tree = new TreeEntries(core.ws.index);
  }

  // ---------------------------------------------------------------- disk → session

  /**
   * The watcher's paths without those where this mirror itself removed a link or folder and no file
   * was written since: a file of the session waiting for that path is not on disk yet, and its
   * absence there is not a delete (the reading side would take it for one).
   */
  withoutOwn(paths: string[]): string[] {
    // Each mark is used once, by whichever batch reports its path (not necessarily the next one).
    return paths.filter((rel) => !this.own.delete(rel) || this.core.known.has(rel));
  }

  /** A sharer's scan: its links and empty folders enter the session (one transaction). */
  share(links: Array<{ rel: string; target: string }>, folders: string[]): void {
    this.core.ws.index.transact(() => {
      for (const l of links) this.take(l.rel, { kind: 'link', target: l.target });
      for (const f of folders) this.take(f, { kind: 'folder' });
    }, 'disk');
  }

  /**
   * Joining into a folder with files (a clone, or this peer's folder after a restart): first what
   * changed here since the folder was last in sync (`known`, from the record): a link or folder
   * removed here leaves the session if the session still has it as it was, one retargeted here goes
   * in; what the session changed meanwhile wins, and is told. Then links and empty folders the session
   * lacks join it; a link the session has with another target is left as it is here, and said so (it
   * is this folder's, and the session's is not made over it).
   */
  async resume(links: Array<{ rel: string; target: string }>, folders: string[]): Promise<void> {
    for (const [rel, had] of [...this.known]) {
      const changed = await this.changedHere(rel, had);
      if (!changed) continue;
      const { now } = changed;
      this.known.delete(rel);
      const session = this.tree.get(rel);
      if (sameEntry(session, had)) {
        if (now) this.take(rel, now);
        else this.tree.remove(rel);
      } else if (session && !now) {
        this.tell(rel, `${rel} was removed here while the session changed it; the session's ${session.kind === 'link' ? `link (to ${session.target})` : 'folder'} comes back`);
      }
    }
    for (const l of links) {
      const session = this.tree.get(l.rel);
      if (!session) this.take(l.rel, { kind: 'link', target: l.target });
      else if (!sameEntry(session, { kind: 'link', target: l.target })) {
        this.tell(l.rel, `${l.rel} here is a symbolic link to ${l.target}; the session's (${session.kind === 'link' ? session.target : 'a folder'}) is not made over it`);
      }
    }
    for (const f of folders) if (!this.tree.get(f)) this.take(f, { kind: 'folder' });
  }

  /**
   * Paths the watcher reported, before the files' own changes are read: a link or folder that is no
   * longer one here leaves the session first, so that a file replacing it arrives on a free path.
   */
  async beforeFiles(paths: string[]): Promise<void> {
    // The folder itself gone (or the mirror halted on a mass delete, folder-guard.ts): no link or
    // folder is taken out of the session for it.
    if (this.core.guard.halted || !(await fs.stat(this.core.root).catch(() => undefined))) return;
    for (const rel of this.withKnownBelow(paths)) {
      const had = this.known.get(rel);
      const changed = had && (await this.changedHere(rel, had));
      if (!changed) continue;
      const { now } = changed;
      this.known.delete(rel);
      if (sameEntry(this.tree.get(rel), had)) this.tree.remove(rel);
      if (now) this.take(rel, now); // a link retargeted, or a folder that became a link
    }
  }

  /** The same paths after the files' changes: links and empty folders that appeared join the session. */
  async afterFiles(paths: string[]): Promise<void> {
    for (const rel of paths) {
      if (this.core.closed || unsafePathReason(rel)) continue;
      const st = await fs.lstat(this.abs(rel)).catch(() => undefined);
      if (st?.isSymbolicLink()) {
        if (this.core.rules.excluded(rel, false)) continue;
        const verdict = await readLink(this.core.root, rel).catch(() => undefined);
        if (verdict?.outside) this.tell(rel, `${rel}: ${linkSkipReason(verdict)}`);
        else if (verdict) this.take(rel, { kind: 'link', target: verdict.target });
      } else if (st?.isDirectory()) {
        if (this.core.rules.excluded(rel, true)) continue;
        // A folder moved in holds links and empty folders of its own.
        const found = await findTreeEntries(this.core.root, rel, (r) => this.core.rules.excluded(r, true));
        for (const l of found.links) if (!this.core.rules.excluded(l.rel, false)) this.take(l.rel, { kind: 'link', target: l.target });
        for (const o of found.outside) this.tell(o.rel, `${o.rel}: ${linkSkipReason(o.verdict)}`);
        for (const f of found.folders) this.take(f, { kind: 'folder' });
      } else if (!st) {
        // The last file of a folder deleted here: the folder stays, empty, and so it does everywhere.
        const parent = path.posix.dirname(rel);
        if (parent !== '.' && !this.core.rules.excluded(parent, true) && (await this.lookHere(parent))?.kind === 'folder') {
          this.take(parent, { kind: 'folder' });
        }
      }
    }
  }

  /**
   * What the disk holds at `rel` goes into the session, unless this mirror made or read it so: then
   * it is no change here (the session may have moved on since, and its change is on the way to disk).
   */
  private take(rel: string, entry: TreeEntry): void {
    if (sameEntry(this.known.get(rel), entry)) return;
    this.known.set(rel, entry);
    if (sameEntry(this.tree.get(rel), entry)) return;
    try {
      this.tree.set(rel, entry);
    } catch (err) {
      this.tell(rel, `not shared: ${(err as Error).message}`);
    }
  }

  /**
   * What is at `rel` here now, when it is no longer the link or folder this mirror knew there
   * (`had`); undefined while it still is. A folder that gained files is still a folder: its entry stays.
   */
  private async changedHere(rel: string, had: TreeEntry): Promise<{ now: TreeEntry | undefined } | undefined> {
    if (had.kind === 'folder' && (await fs.lstat(this.abs(rel)).catch(() => undefined))?.isDirectory()) return undefined;
    const now = await this.lookHere(rel);
    return sameEntry(now, had) ? undefined : { now };
  }

  /** What is at `rel` here, as a tree entry (a folder only when empty); undefined for a file or nothing. */
  private async lookHere(rel: string): Promise<TreeEntry | undefined> {
    const abs = this.abs(rel);
    const st = await fs.lstat(abs).catch(() => undefined);
    if (st?.isSymbolicLink()) {
      const target = await fs.readlink(abs).catch(() => undefined);
      return target === undefined ? undefined : { kind: 'link', target: target.replace(/\\/g, '/') };
    }
    if (st?.isDirectory()) return (await fs.readdir(abs).catch(() => ['?'])).length === 0 ? { kind: 'folder' } : undefined;
    return undefined;
  }

  /** The paths, and every known link or folder under one of them (a folder removed with its content). */
  private withKnownBelow(paths: string[]): string[] {
    const out = new Set(paths);
    for (const p of paths) for (const k of this.known.keys()) if (k.startsWith(p + '/')) out.add(k);
    return [...out];
  }

  // ---------------------------------------------------------------- session → disk

  /** Every entry of the session (after joining, or following the folder again). */
  applyAll(): void {
    for (const rel of this.tree.paths()) this.core.enqueue(() => this.apply(rel));
  }

  /** Entries at these paths and their folders changed, or a file there left: bring the disk in line. */
  reapply(rels: string[]): void {
    const todo = new Set<string>();
    for (const rel of rels) {
      for (let p = rel; p !== '.'; p = path.posix.dirname(p)) if (this.tree.map.has(p) || this.known.has(p)) todo.add(p);
    }
    for (const rel of todo) this.core.enqueue(() => this.apply(rel));
  }

  /** Makes the disk at `rel` what the session's `tree` says (or removes what this mirror made there). */
  async apply(rel: string): Promise<void> {
    if (this.core.closed || this.core.guard.halted) return;
    const { entry: want, problem } = this.tree.judge(rel);
    if (problem) return this.tell(rel, `${JSON.stringify(rel.slice(0, 200))} from the session is not created here: ${problem}`);
    if (want && this.core.rules.hardExcluded(rel, want.kind === 'folder')) return this.tell(rel, `not creating ${JSON.stringify(rel)} from the session: this folder never takes it`);
    // Nor a link into what this folder never takes (`.git`: a tool writing through it would plant hooks).
    const lands = want?.kind === 'link' ? judgeLinkTarget(rel, want.target).resolved : undefined;
    if (lands && (this.core.rules.hardExcluded(lands, true) || this.core.rules.hardExcluded(lands, false))) {
      return this.tell(rel, `not creating the symbolic link ${JSON.stringify(rel)} from the session: it points into ${lands}, which this folder never takes`);
    }
    let st: Stats | undefined;
    try {
      st = await this.lookParents(rel);
    } catch (err) {
      return this.tell(rel, `not creating ${JSON.stringify(rel)} from the session: ${(err as Error).message}`);
    }
    if (!want) return this.removeHere(rel, st);
    let file = this.fileClaim(rel, want);
    if (file === rel && want.kind === 'link' && (await this.moveFileAside(rel))) {
      st = await fs.lstat(this.abs(rel)).catch(() => undefined);
      file = this.fileClaim(rel, want);
    }
    // A folder where a file is holds nothing: the file is kept and the folder not made.
    if (file) return this.tell(rel, `the session has a file at ${file} and a ${want.kind === 'link' ? 'symbolic link' : 'folder'} at ${rel}; the file is kept, the ${want.kind} not made`);
    try {
      if (want.kind === 'folder') await this.makeFolder(rel, st);
      else await this.makeLink(rel, st, want.target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'EPERM' || code === 'ENOTSUP' ? ': this system does not let this user create symbolic links' : '';
      this.tell(rel, `could not create ${JSON.stringify(rel)} from the session${why} (${(err as Error).message})`);
    }
  }

  private async makeFolder(rel: string, st: Stats | undefined): Promise<void> {
    if (st?.isDirectory()) {
      this.known.set(rel, { kind: 'folder' });
      return;
    }
    if (st && !(await this.clear(rel, st))) return;
    await fs.mkdir(this.abs(rel), { recursive: true });
    this.known.set(rel, { kind: 'folder' });
  }

  private async makeLink(rel: string, st: Stats | undefined, target: string): Promise<void> {
    const abs = this.abs(rel);
    if (st?.isSymbolicLink()) {
      const now = (await fs.readlink(abs)).replace(/\\/g, '/');
      if (now === target) {
        this.known.set(rel, { kind: 'link', target });
        return;
      }
      const had = this.known.get(rel);
      // Retargeted here and not read yet: this disk's link is the later word, and goes to the session.
      if (had?.kind !== 'link' || had.target !== now) return;
      // Retargeted in the session: a new link renamed over the old one (rename never follows links).
      const temp = tempPathBeside(abs);
      await fs.symlink(target, temp);
      await fs.rename(temp, abs).catch(async (err: Error) => {
        await fs.rm(temp, { force: true });
        throw err;
      });
    } else {
      if (st && !(await this.clear(rel, st))) return;
      await fs.mkdir(path.dirname(abs), { recursive: true });
      await fs.symlink(target, abs); // fails if something took the path meanwhile: nothing is replaced
    }
    this.known.set(rel, { kind: 'link', target });
    this.told.delete(rel);
  }

  /** The session removed the entry: what this mirror made there goes, if it is still as made. */
  private async removeHere(rel: string, st: Stats | undefined): Promise<void> {
    const had = this.known.get(rel);
    this.known.delete(rel);
    if (!had || !st) return this.rewrite(rel);
    const now = await this.lookHere(rel);
    this.own.add(rel);
    if (had.kind === 'link' && sameEntry(now, had)) await fs.unlink(this.abs(rel));
    else if (had.kind === 'folder' && now?.kind === 'folder' && !this.holdsSessionFiles(rel)) await fs.rmdir(this.abs(rel)).catch(() => {});
    this.rewrite(rel);
  }

  /**
   * Frees `rel` (something is there) for a link or folder, losing nothing: true when it is free.
   * An empty folder or a link this mirror made goes; a file goes only when the session removed it and
   * it is as last seen (history first), else it is kept as a conflict copy first.
   */
  private async clear(rel: string, st: Stats): Promise<boolean> {
    const abs = this.abs(rel);
    this.own.add(rel);
    if (st.isSymbolicLink()) {
      if (!sameEntry(await this.lookHere(rel), this.known.get(rel))) return false; // someone's link: the watcher reads it
      await fs.unlink(abs);
      return true;
    }
    if (st.isDirectory()) {
      const empty = (await fs.readdir(abs).catch(() => ['?'])).length === 0;
      if (empty) await fs.rmdir(abs);
      else this.tell(rel, `a folder with files is in the way of ${JSON.stringify(rel)} from the session; it stays`);
      return empty;
    }
    if (!st.isFile()) return false;
    if (this.core.ws.byPath(rel)) return false; // a session file: it wins
    const bytes = await readIfFile(abs);
    if (!bytes) return false;
    const seen = this.core.known.get(rel);
    if (seen?.hash === contentHash(bytes)) await this.core.options.history?.keep(rel, 'deleted');
    else {
      const copy = keepBesideAsNew(this.core.ws, rel, bytes, this.core.logger);
      if (copy) this.rewrite(copy.path);
    }
    await fs.rm(abs);
    this.core.known.delete(rel);
    return true;
  }

  /**
   * A file of the session and a link at one path (made at once by two peers, or a joiner's own file
   * where the session has a link): as for two files (§6.4), the file is exposed beside it,
   * at `stem (conflict XXXXXX).ext` (XXXXXX: the first 6 characters of its id, the whole id if that
   * is taken), written by every peer that sees it (the same value). Its move on disk and the link
   * follow from the rename.
   */
  private async moveFileAside(rel: string): Promise<boolean> {
    const e = this.core.ws.byPath(rel)!;
    let aside = conflictPath(rel, e.id.slice(0, 6));
    if (this.core.ws.byPath(aside) || this.tree.map.has(aside)) aside = conflictPath(rel, e.id);
    const m = this.core.ws.index.getMap<unknown>('files').get(e.id);
    if (!(m instanceof Y.Map) || m.get('path') !== rel) return false;
    this.core.ws.index.transact(() => m.set('path', aside), RULES);
    this.tell(rel, `${rel} is both a file and a symbolic link in the session; the file is now ${aside}`);
    // Moved on disk now, in this turn of the queue: a read of the folder queued meanwhile must not
    // find the file still at its old path and take it for a new one. (The rename's own move finds nothing left to do.)
    const moved = this.core.ws.byId(e.id);
    if (moved) await this.moveFile(moved, rel);
    return true;
  }

  /** The path of a live file of the session that keeps this link or folder from being made. */
  private fileClaim(rel: string, want: TreeEntry): string | undefined {
    if (this.core.ws.byPath(rel)) return rel;
    if (want.kind === 'folder' || !this.core.ws.hasFilesIn(rel)) return undefined; // files below a folder are what it is for
    return this.core.ws.files().find((e) => e.path.startsWith(rel + '/'))?.path;
  }

  private holdsSessionFiles(rel: string): boolean {
    return this.core.ws.hasFilesIn(rel);
  }

  /**
   * The lstat of `rel` after checking that no existing folder on its way is a link (paths.ts): a link
   * or folder made here must land where its path says.
   */
  private async lookParents(rel: string): Promise<Stats | undefined> {
    const parent = path.posix.dirname(rel);
    if (parent !== '.') await inspectPath(this.core.root, parent);
    return fs.lstat(this.abs(rel)).catch(() => undefined);
  }

  private abs(rel: string): string {
    return resolveInside(this.core.root, rel);
  }

  private tell(rel: string, message: string): void {
    if (this.told.has(rel)) return;
    this.told.add(rel);
    this.core.logger.warn(message);
    this.core.ws.emit('notice', message);
  }
}
