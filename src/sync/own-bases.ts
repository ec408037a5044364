/**
 * A joiner into a folder that holds files (a clone): the index's bases (index-bases.ts) that its own
 * files make exactly are built here, before it asks for the index (docs/PROTOCOL.md §6.2, version 4).
 *
 * The first member asked for the index is sent `bases-get` instead of `step 1`; its `bases` answer
 * lists every base of its index. For each, the folder's files in the base's path range, if they are
 * as many, are built into the base's update, and used only if that update has the base's hash: then
 * it is the very update the sharer applied. Then `step 1` goes to that member, with a state vector
 * that holds what was built, and its answer is what is left.
 */
import type * as Y from 'yjs';
import { contentHash } from './hash';
import { buildBase, comparePaths, type BaseDescriptor, type BaseFile } from './index-bases';
import { Slicer } from './slicer';

/** What a joiner has of its own: the files that may be texts, to build bases from. */
export interface LocalTexts {
  /** The folder's files, in path order, with their hashes: notebooks (never in a base) left out. */
  files: BaseFile[];
  /** Whether the file at `path` is a text as a sharer takes one (it reads the file). */
  isText(path: string): Promise<boolean>;
}

/** The updates of the bases among `bases` that `local`'s files make exactly; `onBase` as each is looked at. */
export async function buildOwnBases(bases: readonly BaseDescriptor[], local: LocalTexts, onBase?: () => void): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  const slicer = new Slicer();
  for (const b of bases) {
    onBase?.();
    let files = local.files.slice(firstAfter(local.files, b.first, true), firstAfter(local.files, b.last));
    if (files.length < b.count) continue;
    if (files.length > b.count) {
      // Binaries (or files the sharer could not read as text) lie in the range too: only texts count.
      const texts = await Promise.all(files.map((f) => local.isText(f.path)));
      files = files.filter((_, i) => texts[i]);
      if (files.length !== b.count) continue;
    }
    const update = buildBase(b.k, files);
    if (contentHash(update) === b.update) out.push(update);
    await slicer.maybeYield();
  }
  return out;
}

/** The index of the first file after `path` (`orEqual`: at or after it), in path order. */
function firstAfter(files: readonly BaseFile[], path: string, orEqual = false): number {
  let lo = 0;
  let hi = files.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = comparePaths(files[mid].path, path);
    if (c < 0 || (c === 0 && !orEqual)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The origin of a base built here: it is in every member's index already, so it is sent to none. */
export const BASE_BUILT = 'hyperpair:base-built';

export interface OwnBasesParts {
  index: Y.Doc;
  local: Promise<LocalTexts>;
  /** Sends `bases-get` to a member. */
  askBases(peer: string): void;
  /** Sends `step 1` for the index to a member. */
  step1(peer: string): void;
  apply(update: Uint8Array): void;
  /**
   * The member's answer is being used (bases built and applied): not a silence. Building 562 bases
   * of a 100,000-file clone took over 3 s on a loaded machine, and the index asker, hearing nothing
   * of the index meanwhile, asked every member for it with a state vector that had no bases yet:
   * 8–17 MB of index for a clone join that needs ~1.5 MB.
   */
  working(peer: string): void;
  log(message: string): void;
}

/** How long the member asked may take to answer `bases-get` before the index is asked for without. */
export const BASES_WAIT_MS = 3000;

/** Whom this joiner asked for the bases, and what it does with the answer. */
export class OwnBases {
  private asked: string | undefined;
  /** A member that answered too late: its answer is dropped, not taken for one never asked for. */
  private late: string | undefined;
  private done = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly p: OwnBasesParts,
    private readonly waitMs = BASES_WAIT_MS,
  ) {}

  /** Asks `peer` for the index: for its bases first, the first time. */
  ask(peer: string): void {
    if (this.done || this.asked !== undefined) return this.p.step1(peer);
    this.asked = peer;
    this.p.askBases(peer);
    this.timer = setTimeout(() => {
      if (this.asked !== peer) return;
      this.stop();
      this.late = peer;
      this.p.log('index: no answer about bases; asking for the whole index');
      this.p.step1(peer);
    }, this.waitMs);
    this.timer.unref?.();
  }

  /** Whether `peer` may send `bases` now: it was asked (or answers too late, and is ignored). */
  expects(peer: string): boolean {
    return peer === this.asked || peer === this.late;
  }

  /** The member's answer: the bases built from this folder are applied, then the index asked for. */
  async received(peer: string, bases: readonly BaseDescriptor[]): Promise<void> {
    if (peer === this.late) {
      this.late = undefined;
      return;
    }
    this.stop();
    const working = () => this.p.working(peer);
    try {
      working();
      const built = bases.length ? await buildOwnBases(bases, await this.p.local, working) : [];
      const slicer = new Slicer();
      for (const update of built) {
        this.p.apply(update);
        working();
        await slicer.maybeYield();
      }
      if (bases.length) this.p.log(`index: ${built.length} of ${bases.length} bases built from this folder's files`);
    } catch (err) {
      this.p.log(`index: no bases built from this folder (${(err as Error).message})`);
    } finally {
      this.p.step1(peer);
    }
  }

  /** A member left: if it was the one asked, nobody answers; the index is asked for as usual. */
  left(peer: string): void {
    if (peer === this.late) this.late = undefined;
    if (peer === this.asked) this.stop();
  }

  close(): void {
    this.stop();
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.asked = undefined;
    this.done = true;
  }
}
