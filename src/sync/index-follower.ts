/**
 * What follows a change of the index document: every update goes out through the outbox (one from a
 * member names it, so it is not sent back), and each transaction brings the file view up to date, is
 * told to the listeners in an order a disk can follow (§6.4) and has its consequences — texts fetched,
 * edits asked for, lost binary versions kept, deletes that lost to edits undone, paths that lost to
 * another fixed.
 *
 * Owns its listeners on the index: disposing it stops all of this at once.
 */
import type * as Y from 'yjs';
import { Disposable, toDisposable } from '../session/disposable';
import { hasDocument, type ChangeOrigin } from './api';
import type { Availability } from './availability';
import type { BinaryFiles } from './binaries';
import type { FileView } from './file-view';
import { collectChangedIds } from './index-guard';
import { RemoteOrigin } from './outbox';
import type { ProgressTracker } from './progress';
import type { ConflictRules } from './rules';
import { Slicer } from './slicer';
import { isPristine } from './text-base';
import type { TextDocs } from './texts';
import { announceChanges, originOf, type Emit } from './view-changes';
import { BASE_BUILT } from './own-bases';

export interface IndexFollowerParts {
  index: Y.Doc;
  entries: Y.Map<Y.Map<unknown>>;
  view: FileView;
  tracker: ProgressTracker;
  /** Sends an index update on; `from`: the member it came from. */
  send(update: Uint8Array, from: string | undefined): void;
  /** Until the index arrived, its transactions are a joiner's partial copy: nothing is told. */
  indexReady(): boolean;
  emit: Emit;
  availability: Pick<Availability, 'update'>;
  texts: Pick<TextDocs, 'isReady' | 'get' | 'edited'>;
  /** A text nobody edited whose bytes the disk mirror writes: no document is fetched for it. */
  leftToWriter(id: string): boolean;
  /** Builds a text's document or fetches it (first from `from`, the member whose update named it). */
  fetchText(id: string, from: string | undefined): void;
  /** Sends a member step 1 of a text's document: asks for the edits it lacks. */
  askEdits(peerId: string, id: string, doc: Y.Doc): void;
  /** Marks a text's entry `edited` (this peer edited it). */
  markEdited(id: string): void;
  rules: Pick<ConflictRules, 'keepConflictingVersions' | 'checkRestore' | 'fixPaths'>;
  binaries: Pick<BinaryFiles, 'has' | 'content'>;
  /** Asks a member for these chunks before the others. */
  preferChunks(chunks: readonly string[], peerId: string): void;
}

/** Entries brought into the view at a time while catching up (about 5 ms of work). */
const CATCH_UP_SLICE = 256;

export class IndexFollower extends Disposable {
  /** While catching up (catchUp): entries named by another whole index meanwhile, not yet in the view. */
  private behind: Set<string> | undefined;
  private caughtUp: Promise<void> = Promise.resolve();

  constructor(private readonly p: IndexFollowerParts) {
    super();
    const onUpdate = (update: Uint8Array, origin: unknown) => {
      // Built here from this peer's own files, and in every member's index already (own-bases.ts).
      if (origin === BASE_BUILT) return;
      p.send(update, origin instanceof RemoteOrigin ? origin.peerId : undefined);
    };
    const onTransaction = (tx: Y.Transaction) => {
      if (!p.indexReady()) return;
      const ids = new Set<string>();
      collectChangedIds(tx, p.entries as Y.Map<unknown>, ids);
      if (ids.size) this.refresh(ids, originOf(tx.origin), tx.origin instanceof RemoteOrigin ? tx.origin.peerId : undefined);
    };
    p.index.on('update', onUpdate);
    p.index.on('afterTransaction', onTransaction);
    this.register(toDisposable(() => {
      p.index.off('update', onUpdate);
      p.index.off('afterTransaction', onTransaction);
    }));
  }

  /** The index arrived whole, and catchUp is still bringing its entries into the view. */
  get catchingUp(): boolean {
    return this.behind !== undefined;
  }

  whenCaughtUp(): Promise<void> {
    return this.caughtUp;
  }

  /**
   * Brings every entry of an index that arrived whole into the view, a slice of the event loop at a
   * time: at once, 30,000 entries stalled the extension host for half a second. Changes that arrive
   * meanwhile are followed as usual (refresh); the view is complete, for the progress tracker and
   * whenCaughtUp, once the last slice is in. `ids` is taken as it goes (the index's own keys: copied
   * into a set first, 100,000 of them held the loop for 10–15 ms); an entry added meanwhile is
   * followed as usual, and may be refreshed twice, which changes nothing.
   */
  catchUp(ids: Iterable<string>, origin: ChangeOrigin, source?: string): void {
    if (this.behind) {
      for (const id of ids) this.behind.add(id);
      return;
    }
    const behind = (this.behind = new Set());
    const arrived = ids[Symbol.iterator]();
    this.caughtUp = (async () => {
      const slicer = new Slicer();
      let more = true;
      while (!this.disposed) {
        const slice = new Set<string>();
        while (more && slice.size < CATCH_UP_SLICE) {
          const next = arrived.next();
          if (next.done) more = false;
          else slice.add(next.value);
        }
        for (const id of behind) {
          if (slice.size >= CATCH_UP_SLICE) break;
          slice.add(id);
          behind.delete(id);
        }
        if (!slice.size) break;
        this.refresh(slice, origin, source);
        await slicer.maybeYield();
      }
      this.behind = undefined;
      if (!this.disposed) this.p.tracker.check();
    })();
  }

  /** Brings the view up to date for these entries, tells (§6.4), and acts on what changed. */
  refresh(ids: Set<string>, origin: ChangeOrigin, source?: string): void {
    const { view, tracker, availability, texts, entries, rules, binaries } = this.p;
    const { next, changes, fixes } = view.update(ids);
    tracker.viewChanged(changes);

    announceChanges(changes, origin, this.p.emit);

    for (const [id, now] of next) {
      availability.update(id);
      if (!now) continue;
      // With a disk (the mirror writes every file), a text nobody edited waits for its bytes to be
      // written (loadTextBytes): no document is fetched for it.
      if (hasDocument(now.kind) && !texts.isReady(id) && !(now.kind === 'text' && this.p.leftToWriter(id))) this.p.fetchText(id, source);
      // Edited elsewhere while this peer held the text's first state only: ask for the edits.
      const t = now.kind === 'text' && source ? texts.get(id) : undefined;
      if (t?.ready && entries.get(id)?.get('edited') === true && isPristine(t.doc)) this.p.askEdits(source!, id, t.doc);
      // Edited here before its entry arrived (a new text's step 2 precedes it): say so now.
      if (hasDocument(now.kind) && texts.edited(id)) this.p.markEdited(id);
      if (now.kind === 'binary') {
        rules.keepConflictingVersions(id, entries.get(id)!, now.path);
        // Its chunks are asked of the member that sent this version first (§6.3).
        const chunks = source && !binaries.has(id) ? binaries.content(id)?.chunks : undefined;
        if (chunks) this.p.preferChunks(chunks, source!);
      }
    }
    for (const id of ids) if (entries.get(id)?.get('deleted')) rules.checkRestore(id);
    rules.fixPaths(fixes);
    tracker.check();
  }
}
