/**
 * What the mirror last read from or wrote to each file of a folder, kept in memory and, so that a
 * restart knows what changed while the peer was down, in a small record outside the shared tree:
 * `$HYPERPAIR_STATE_DIR`, else `$XDG_STATE_HOME/hyperpair`, else `~/.local/state/hyperpair`, one
 * subfolder per shared folder named by the hash of its absolute path.
 *
 * Layout of a folder's record: `folder.txt` (the shared folder's path, for people), `files.json`
 * (record-file.ts: a line each for whose record it is (`session`, a hash of the session code), the
 * links and empty folders as last in sync, and each file's `{hash, size, text?}`, `text` the hash of
 * the last synced text), `texts.pack` (text-pack.ts): the last synced texts, the base of the
 * three-way merge after a restart or when a file changes on disk (record-texts.ts: a text nobody is
 * changing is read back from there when needed, not held in memory), and `docs/<fileId>`: each text's Yjs state, so that edits this peer
 * read from disk but nobody received before it stopped still reach the session when it restarts.
 * Written atomically (temporary file, rename) and debounced, so a crash leaves a whole record.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { folderStateDir, nameFolder, stateRoot, writeWhole } from './state-dir';
import { RECORD_FILE } from './record-key';
import { fileLine, parseRecordList, recordHead, type RecordList, type StoredFile } from './record-file';

export { sessionTag, wasSyncedBefore } from './record-key';
import type { Logger } from '../session/log';
import { silentLogger } from '../session/log';
import * as Y from 'yjs';
import type { ChangeOrigin, FileEntry } from './api';
import type { SharedWorkspace } from './workspace';
import { isHash } from './hash';
import { judgeTreeEntry, type TreeEntry } from './tree-entries';
import { ColdKnown, RecordTexts, type TextContent, textString } from './record-texts';
import { forEachSliced, joinSliced } from './slicer';

/** A file's content as the mirror last saw it on disk: in sync with the session then. */
export interface Known {
  hash: string;
  size: number;
  /** For text files: the text (the base of a three-way merge with a later edit on disk). */
  text?: string;
  /**
   * Texts the file held on disk before `text`, most recent first (in memory only, bounded; see
   * mergeBase()): a tool that read one of them and wrote back later derived its version from it.
   */
  earlier?: readonly string[];
}

/** A map by path that tells an observer of every change (the persistent record follows). */
export class ObservedMap<V> extends Map<string, V> {
  onChange?: (rel: string) => void;

  override set(rel: string, value: V): this {
    super.set(rel, value);
    this.onChange?.(rel);
    return this;
  }

  override delete(rel: string): boolean {
    const had = super.delete(rel);
    if (had) this.onChange?.(rel);
    return had;
  }
}

/**
 * The mirror's map of known files. With a record (`texts`), a text with no earlier versions (a file
 * nobody is changing: all of them after a share, a join or a restart) is held as a ColdKnown: its
 * text goes to the record and is read back from there when a merge needs it.
 */
export class KnownFiles extends ObservedMap<Known> {
  texts?: RecordTexts;

  override set(rel: string, value: Known): this {
    if (this.texts && !(value instanceof ColdKnown) && !value.earlier?.length && value.text !== undefined) {
      value = this.texts.cold(value.hash, value.size, value.text);
    }
    return super.set(rel, value);
  }

  /**
   * The known file for a text read or received as bytes (valid UTF-8, of `hash`), to set: with a
   * record, held as those bytes until the record has them, no string made; without, as its string.
   */
  textFromBytes(hash: string, bytes: Uint8Array): Known {
    return this.texts ? this.texts.cold(hash, bytes.byteLength, bytes) : { hash, size: bytes.byteLength, text: textString(bytes) };
  }
}

/** The record's folder for one shared folder. */
export const recordDirFor = folderStateDir;

export interface DiskRecordOptions {
  /** sessionTag() of the session: a record of another session is not used (and is replaced). */
  session: string;
  /** The state root (default: stateRoot()). */
  stateDir?: string;
  logger?: Logger;
  /** Milliseconds to gather changes into one write of the record (default 300). */
  delayMs?: number;
}

export class DiskRecord {
  readonly known = new KnownFiles();
  /** The links and empty folders this folder held when last in sync (tree-mirror.ts). */
  readonly tree = new ObservedMap<TreeEntry>();
  readonly dir: string;
  private readonly logger: Logger;
  private readonly delayMs: number;
  /** How long the last write of the record took (it sets the next delay, see schedule()). */
  private lastWriteMs = 0;
  /** The last synced texts (texts.pack, by hash). */
  private readonly texts: RecordTexts;
  private existed = false;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private dirty = false;
  private closed = false;
  /** Texts asked for by flushSoon() are being written. */
  private soon = false;
  /** Yjs states of texts found in the record (file id → update): see resumeTexts(). */
  private readonly savedDocs = new Map<string, Uint8Array>();
  private readonly storedDocs = new Set<string>();
  private readonly dirtyDocs = new Set<string>();
  private ws: SharedWorkspace | undefined;
  /** Only texts this peer changed: their state holds edits that others may not have received. */
  private readonly onText = (e: FileEntry, origin: ChangeOrigin) => {
    if (origin === 'remote') return;
    this.dirtyDocs.add(e.id);
    this.schedule();
  };

  private session: string;

  private constructor(readonly folder: string, options: DiskRecordOptions) {
    this.session = options.session;
    this.dir = recordDirFor(folder, options.stateDir ?? stateRoot());
    this.logger = options.logger ?? silentLogger;
    this.delayMs = options.delayMs ?? 300;
    this.texts = new RecordTexts(this.dir, () => this.flushSoon());
    this.known.texts = this.texts;
  }

  /** Opens (and loads) the record of a folder; an unreadable record counts as none (logged). */
  static async open(folder: string, options: DiskRecordOptions): Promise<DiskRecord> {
    const r = new DiskRecord(path.resolve(folder), options);
    await r.load();
    r.known.onChange = () => r.schedule();
    r.tree.onChange = () => r.schedule();
    return r;
  }

  /** Whether this folder was synced before (its record was found). */
  get found(): boolean {
    return this.existed;
  }

  /** A text read from the folder by a clone join's scan (RecordTexts.offer). */
  offerText(hash: string, text: TextContent): void {
    if (!this.closed) this.texts.offer(hash, text);
  }

  /** The clone join's intake is done: offered texts no file holds go with the next write. */
  endOffers(): void {
    this.texts.endOffers();
  }

  /** Forgets everything: a new session (this tag) starts from the folder as it is. */
  startNew(session: string): void {
    this.session = session;
    this.dirty = true;
    for (const rel of [...this.known.keys()]) this.known.delete(rel);
    this.texts.clearPending();
    this.tree.clear();
    this.savedDocs.clear();
  }

  /** The same session under a new code (rotation): keeps what it knows, answers to the new tag. */
  retag(session: string): void {
    if (session === this.session) return;
    this.session = session;
    this.dirty = true;
    this.schedule();
  }

  /** Records the Yjs state of every text of this workspace as it changes. */
  watch(ws: SharedWorkspace): void {
    this.ws = ws;
    ws.on('text-changed', this.onText);
  }

  /**
   * Puts back into the session what this peer's texts held when it stopped (Yjs updates are
   * idempotent: what the session already has changes nothing). Covers edits that were read from disk
   * and recorded, but that no other peer received before this one stopped.
   */
  async resumeTexts(ws: SharedWorkspace): Promise<void> {
    for (const [id, update] of this.savedDocs) {
      const e = ws.byId(id);
      if (!e || e.kind === 'binary') continue;
      const ytext = await ws.text(id);
      try {
        Y.applyUpdate(ytext.doc!, update, 'disk');
      } catch (err) {
        this.logger.warn(`could not restore the saved state of ${e.path}: ${(err as Error).message}`);
      }
    }
    this.savedDocs.clear();
  }

  /** Writes pending changes now. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flushing.then(async () => {
      const t0 = performance.now();
      await this.write();
      this.lastWriteMs = performance.now() - t0;
    }).catch((err: Error) => {
      this.logger.warn(`could not save the sync record in ${this.dir}: ${err.message}`);
    });
    await this.flushing;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.known.onChange = undefined;
    this.ws?.off('text-changed', this.onText);
    await this.flush();
    this.closed = true;
  }

  /**
   * Many texts wait in memory for the record: they go into its pack now, in the queue of its writes;
   * the list of files follows at the usual time. Writing the whole record for each 4 MB of texts
   * was ~27 writes of the 30,000-entry list during a clone join: 0.5 s of CPU and ~10 MB of garbage each.
   * A text in the pack that no file refers to when the list is written is dropped then (prune).
   */
  private flushSoon(): void {
    if (this.closed || this.soon) return;
    this.soon = true;
    this.flushing = this.flushing
      .then(async () => {
        await fs.mkdir(this.dir, { recursive: true, mode: 0o700 }); // a first record: not written yet
        await this.texts.storePending();
      })
      .catch((err: Error) => this.logger.warn(`could not save texts in the sync record ${this.dir}: ${err.message}`))
      .finally(() => (this.soon = false));
  }

  private schedule(): void {
    this.dirty = true;
    if (this.timer || this.closed) return;
    // The record is written whole: while thousands of files change (a join), waiting a few times
    // as long as the last write took keeps that cost a small share of the time, not one per 300 ms.
    this.timer = setTimeout(() => void this.flush(), Math.max(this.delayMs, Math.min(5_000, 4 * this.lastWriteMs)));
  }

  private async load(): Promise<void> {
    // The pack first, whatever the list of files says: texts go on being appended to it, and a
    // pack not read (a record of another session: every new share of a folder shared before)
    // placed them where they were not, so no merge could read its base back until a restart.
    await this.texts.load();
    let raw: string;
    try {
      raw = await fs.readFile(path.join(this.dir, RECORD_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.logger.warn(`cannot read the sync record ${this.dir}: ${(err as Error).message}`);
      return;
    }
    let list: RecordList;
    try {
      list = await parseRecordList(raw);
    } catch (err) {
      this.logger.warn(`ignoring the sync record ${this.dir}: ${(err as Error).message}`);
      return;
    }
    // Another session's record says nothing about this one: the folder is as if never synced.
    if (list.session !== this.session) return;
    const { files, tree } = list;
    this.existed = true;
    const docs = await fs.readdir(path.join(this.dir, 'docs')).catch(() => [] as string[]);
    for (const id of docs) {
      if (!/^[0-9a-f]{32}$/.test(id)) continue;
      const update = await fs.readFile(path.join(this.dir, 'docs', id)).catch(() => undefined);
      this.storedDocs.add(id);
      if (update) this.savedDocs.set(id, update);
    }
    // A slice of the event loop at a time: 30,000 files took ~20 ms more in one turn.
    await forEachSliced(files, ([rel, f]) => {
      if (!isHash(f?.hash) || !Number.isSafeInteger(f.size)) return;
      // The text stays in the record until a merge needs it (checked then: a base that is missing or
      // damaged is left out, and the merge takes the session's text as base). It is the file's
      // content as last synced, so it has the file's hash.
      const cold = f.text === f.hash ? this.texts.stale(f.hash, f.size) : undefined;
      this.known.set(rel, cold ?? { hash: f.hash, size: f.size });
    });
    // Judged as a peer's entry is: the record sits outside the folder, but is only a file.
    if (typeof tree === 'object' && tree !== null) {
      for (const [rel, value] of Object.entries(tree)) {
        const { entry } = judgeTreeEntry(rel, value);
        if (entry) this.tree.set(rel, entry);
      }
    }
  }

  private async write(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    // One instant's state, taken before any await: every recorded text is in its document's state.
    // A known file is a value (a change replaces it), so the two arrays are that instant's list;
    // what a text newly referred to after it needs from the record is kept by RecordTexts meanwhile.
    const rels = [...this.known.keys()];
    const values = [...this.known.values()];
    const head = recordHead(this.session, Object.fromEntries(this.tree));
    const docs = new Map<string, Uint8Array | undefined>();
    for (const id of this.dirtyDocs) {
      const doc = this.ws?.byId(id) ? this.ws.loadedText(id)?.doc : undefined;
      if (doc) docs.set(id, Y.encodeStateAsUpdate(doc));
    }
    this.dirtyDocs.clear();
    for (const id of this.storedDocs) if (!this.ws?.byId(id)) docs.set(id, undefined);

    this.texts.beginList();
    try {
      const { list, wanted, newTexts } = await this.listOf(rels, values, head);
      await fs.mkdir(path.join(this.dir, 'docs'), { recursive: true, mode: 0o700 });
      await inParallel([...docs], async ([id, update]) => {
        const file = path.join(this.dir, 'docs', id);
        if (update) {
          await writeWhole(file, update, 0o600);
          this.storedDocs.add(id);
        } else {
          await fs.rm(file, { force: true });
          this.storedDocs.delete(id);
        }
      });
      // A joiner's first record stores every text: many per write, in one pack (text-pack.ts). Not
      // fsynced: an entry cut short by a crash fails its hash when read, and is no base, as a
      // missing one is (record-texts.ts).
      await this.texts.store(newTexts);
      await nameFolder(this.dir, this.folder);
      await writeWhole(path.join(this.dir, RECORD_FILE), list, 0o600);
      // Texts no file refers to any more go only after the new list is in place.
      await this.texts.prune(wanted);
    } finally {
      this.texts.endList();
    }
  }

  /**
   * The record's list of files as JSON, made from one instant's known files a slice of the event
   * loop at a time: at 30,000 files, made at once, it held the loop for 40–50 ms on every write
   * (up to 180 ms with the collection that followed), and a join writes it every few seconds.
   */
  private async listOf(rels: string[], values: Known[], head: string): Promise<{ list: string[]; wanted: Set<string>; newTexts: Map<string, TextContent> }> {
    const wanted = new Set<string>();
    const newTexts = new Map<string, TextContent>();
    const files = await joinSliced(
      rels.keys(),
      (i) => {
        const k = values[i];
        const f: StoredFile = { hash: k.hash, size: k.size };
        // A cold text is the record's already (or waiting for it): not read back to be written again.
        const text = k instanceof ColdKnown ? undefined : k.text;
        if (k instanceof ColdKnown || text !== undefined) {
          // The text is the file's content, so its hash is the file's hash.
          f.text = k.hash;
          wanted.add(k.hash);
          if (text !== undefined && !this.texts.stored.has(k.hash)) newTexts.set(k.hash, text);
        }
        return fileLine(rels[i], f);
      },
      '\n',
    );
    for (const [hash, text] of this.texts.waiting(wanted)) newTexts.set(hash, text);
    // Every line ends with its newline (record-file.ts).
    return { list: files.length ? [head, ...files, '\n'] : [head], wanted, newTexts };
  }
}

async function inParallel<T>(items: T[], fn: (item: T) => Promise<void>, width = 32): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

