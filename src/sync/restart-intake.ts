/**
 * The disk mirror's restart intake: joining into a folder that has files (restarting into it, or with
 * --force), what changed here since the folder was last in sync (`known`, from the record kept across
 * restarts) goes into the session before anything is written (Mirror.resume reads the folder first).
 */
import type { FileEntry } from './api';
import { adoptIfSessions, isSessionsVersion, sessionLacksRecorded } from './clone-join';
import { keepBesideAsNew } from './disk-merge';
import type { DiskIntake } from './disk-intake';
import type { Halt } from './folder-guard';
import { contentHash } from './hash';
import type { MirrorCore } from './mirror-core';
import { notebookText } from './notebook/first-state';
import { isSafeRelativePath, resolveInside } from './paths';
import { QuickIo } from './quick-io';
import type { ScannedFile } from './scan';
import { forEachSliced, Slicer } from './slicer';
import type { SharedWorkspace } from './workspace';

/**
 * Takes the folder's changes since it was last in sync, for the files on disk now (`onDisk`) and the
 * ones the record knows. Edited files merge (texts three-way; a binary's local version wins and the
 * session's is kept beside it); files deleted here leave the session only if it still has the version
 * deleted, and only if they are not most of the folder (else the halt returned holds them); new files
 * join; unchanged files take the session's version afterwards.
 */
export async function takeRestart(core: MirrorCore, intake: DiskIntake, onDisk: readonly ScannedFile[]): Promise<Halt | undefined> {
  const { ws, known } = core;
  // The files on disk, then those only the record knows (as of now): built a slice at a time, as a
  // map and a set of every path they took 90 ms in one turn at 100,000 files.
  const scanned = new Map<string, ScannedFile>();
  await forEachSliced(onDisk, (f) => scanned.set(f.rel, f));
  const recorded = [...known.keys()];
  const paths = (function* () {
    for (const rel of scanned.keys()) yield rel;
    for (const rel of recorded) if (!scanned.has(rel)) yield rel;
  })();
  // A clone join reads here the files its scan could not vouch for: synchronously, in slices (quick-io.ts).
  const io = new QuickIo();
  // Files settled by the scan take no read, so nothing else would yield between them (a 0.5 s stall at 30,000).
  const slicer = new Slicer();
  const changed: Changed[] = [];
  const gone: Gone[] = [];
  for (const rel of paths) {
    if (core.closed) return undefined;
    await slicer.maybeYield();
    // Judged here, within the slices: the exclude rules over 30,000 paths took 50–90 ms at once.
    if (core.rules.excluded(rel, false) || !isSafeRelativePath(rel)) continue;
    if (knownFromScan(core, rel, scanned.get(rel))) continue;
    const bytes = await io.readIfFile(resolveInside(core.root, rel));
    const seen = known.get(rel);
    const entry = ws.byPath(rel);
    const hash = bytes ? contentHash(bytes) : undefined; // once: a clone join hashes every file of its folder here
    if (bytes && hash !== undefined && seen?.hash === hash) {
      // Unchanged here: the session's version follows, unless it never received this one (a binary
      // replaced and recorded here just before the peer stopped): then this one wins.
      if (entry && sessionLacksRecorded(ws, entry, seen.hash)) {
        await intake.keepRemoteVersion(entry);
        ws.updateBinary(entry.id, bytes, 'disk');
      }
      continue;
    }
    if (!bytes) {
      if (seen) gone.push({ rel, entry, seenHash: seen.hash });
      continue;
    }
    if (!entry) {
      if (intake.withinCaps(rel, bytes.byteLength)) intake.addFromDisk(rel, bytes);
    } else if (!seen) {
      // A clone of the same files: a version the session has had, or git's, is adopted, not kept beside.
      const adopted = adoptIfSessions(ws, entry, bytes, core.rules.committedUnchanged(rel), hash);
      if (!adopted) keepBesideAsNew(ws, rel, bytes, core.logger);
      known.set(rel, adopted ?? { hash: hash ?? contentHash(bytes), size: bytes.byteLength });
    } else {
      changed.push({ rel, entry, bytes });
    }
  }
  const halt = await takeDeleted(core, gone);
  await takeChanged(core, intake, changed);
  return halt;
}

/** A file the record knew that is not on disk any more. */
interface Gone {
  rel: string;
  entry: FileEntry | undefined;
  seenHash: string;
}

/**
 * Files deleted here while out of the session leave it if it still has the version deleted (else
 * they come back with the session's changes, told). Most of the folder at once is held instead, as
 * a live mass delete is (folder-guard.ts): a wrong `git clean` while Hyperpair was not running
 * deleted every peer's copies when the folder was joined again.
 */
async function takeDeleted(core: MirrorCore, gone: readonly Gone[]): Promise<Halt | undefined> {
  const { ws, known } = core;
  const removable: Array<{ rel: string; entry: FileEntry }> = [];
  for (const { rel, entry, seenHash } of gone) {
    if (entry && (await sessionHash(ws, entry)) === seenHash) removable.push({ rel, entry });
    else {
      known.delete(rel);
      if (entry) ws.emit('notice', `${rel} was deleted here while the session changed it; it comes back with those changes`);
    }
  }
  const halt = core.guard.holdMissing(removable.map((g) => g.rel), ws.files().length);
  if (halt) return halt; // held: the record still knows them, and the person decides
  for (const g of removable) {
    known.delete(g.rel);
    ws.remove(g.entry.id, 'disk');
  }
  return undefined;
}

/**
 * Whether the scan's hash settles the file without reading it: unchanged since the record, or a
 * clone's copy of the session's version whose text the record holds already (the scan offered it,
 * local-texts.ts), or a binary the session has had. The scan may be a few seconds old: a change
 * since is found by the mirror's look when it starts (mirror.ts), against what is known here.
 */
function knownFromScan(core: MirrorCore, rel: string, f: ScannedFile | undefined): boolean {
  if (f?.hash === undefined) return false;
  const { ws, known } = core;
  const entry = ws.byPath(rel);
  const seen = known.get(rel);
  if (!entry || entry.kind === 'notebook') return false;
  // A binary replaced here and never received by the session is taken from its bytes (below).
  if (seen) return seen.hash === f.hash && !sessionLacksRecorded(ws, entry, seen.hash);
  if (!isSessionsVersion(ws, entry, f.hash, core.rules.committedUnchanged(rel))) return false;
  const adopted = entry.kind === 'text' ? known.texts?.held(f.hash, f.size) : { hash: f.hash, size: f.size };
  if (!adopted) return false;
  known.set(rel, adopted);
  return true;
}

/** A file changed here since the record, read once by the restart intake. */
interface Changed {
  rel: string;
  entry: FileEntry;
  bytes: Buffer;
}

/**
 * Takes files changed here since the record into the session, with the bytes the intake read. Their
 * texts are loaded first, all at once: a text the record kept no state of would otherwise be merged
 * only once it arrived, by a second read of the file, after the first copy's write of the session's
 * version had met the change (a compare-and-swap conflict, nothing lost, but one read too many).
 */
async function takeChanged(core: MirrorCore, intake: DiskIntake, changed: readonly Changed[]): Promise<void> {
  const { ws } = core;
  // loadText gives up once no member can send it (the join must not wait on it): that one is
  // merged when it arrives, as before.
  await Promise.all(changed.map(({ entry }) => (entry.kind === 'text' && !ws.loadedText(entry.id) ? ws.loadText(entry.id).catch(() => undefined) : undefined)));
  for (const { rel, bytes } of changed) {
    if (core.closed) return;
    // Renamed or removed meanwhile: the bytes are this path's, taken as what is there now.
    const now = ws.byPath(rel);
    if (!now) {
      if (intake.withinCaps(rel, bytes.byteLength)) intake.addFromDisk(rel, bytes);
      continue;
    }
    // In the mirror's queue, with the bytes read above: the file's binding, made there, queues its
    // first write behind the intake, so the write expects what the intake took. Outside the queue,
    // the write started before the copy had taken these bytes, expected the record's version and
    // ended in a compare-and-swap conflict and a read of the file again.
    await core.run(() => intake.takeLocalChange(now, bytes));
  }
}

/** The hash of the session's version of a file, as it would be on disk. */
async function sessionHash(ws: SharedWorkspace, entry: FileEntry): Promise<string> {
  if (entry.kind === 'binary') return entry.hash;
  // A text nobody edited is its first state, named by its hash: no document is built or fetched to
  // tell (a folder emptied while out of the session loaded every text of it here).
  const first = entry.kind === 'text' ? ws.firstStateHash(entry.id) : undefined;
  if (first !== undefined) return first;
  if (entry.kind === 'notebook') return contentHash(Buffer.from(notebookText(await ws.notebook(entry.id)), 'utf8'));
  return contentHash(Buffer.from((await ws.text(entry.id)).toString(), 'utf8'));
}
