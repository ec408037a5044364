/**
 * The last synced texts of a folder's files, held on disk in the sync record (`texts/<hash>`) rather
 * than in memory. Each is the base of a three-way merge when the file changes on disk (now, or while
 * the peer was stopped), so every text the mirror knows must be there, but a workspace of 30,000 files
 * cannot keep them all as strings: a file nobody is changing is known by a `ColdKnown`, its hash and
 * size, whose text is read back from here (checked against the hash) on the rare occasion a merge
 * needs it. Texts wait in memory (`pending`) only until the record's next write puts them on disk,
 * so at no moment is a base neither in memory nor on disk.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Known } from './disk-state';
import { contentHash } from './hash';
import { QuickIo } from './quick-io';

/** Bytes of texts waiting for the record's write past which it is written at once, not later. */
const PENDING_BYTES = 4 * 1024 * 1024;

/**
 * A known file whose text (the bytes of `hash`) is in the record, not in memory. `text` is an own,
 * enumerable accessor, so a copy (`{ ...known }`) carries the text itself: code that reads
 * `known.text` never sees a text file as a non-text one.
 */
export class ColdKnown implements Known {
  declare readonly text: string | undefined;

  constructor(
    readonly hash: string,
    readonly size: number,
    texts: RecordTexts,
  ) {
    Object.defineProperty(this, 'text', { enumerable: true, get: () => texts.read(hash) });
    // Not a field: a copy of the known file carries its text, not the store.
    storeOf.set(this, texts);
  }

  /** The text, read without blocking. */
  load(): Promise<string | undefined> {
    return storeOf.get(this)!.readAsync(this.hash);
  }
}

const storeOf = new WeakMap<ColdKnown, RecordTexts>();

/** Whether `k` knows its file as a text, without reading a cold text back. */
export function knownAsText(k: Known | undefined): boolean {
  return k instanceof ColdKnown || k?.text !== undefined;
}

/** Whether the file as last synced held exactly `text` (a cold text is compared by hash). */
export function knownHolds(k: Known | undefined, text: string): boolean {
  if (k instanceof ColdKnown) return k.hash === contentHash(Buffer.from(text, 'utf8'));
  return k?.text === text;
}

export class RecordTexts {
  /** Texts not yet written to `dir` (by hash). */
  private readonly pending = new Map<string, string>();
  private pendingBytes = 0;
  /** Hashes whose text is in `dir`. */
  readonly stored = new Set<string>();
  private readonly io = new QuickIo();

  constructor(
    readonly dir: string,
    /** Asks for the record to be written soon (many texts are waiting). */
    private readonly flushSoon: () => void,
  ) {}

  /** The known file for a text that stays on disk from now on (memory holds it until written). */
  cold(hash: string, size: number, text: string): ColdKnown {
    if (!this.stored.has(hash) && !this.pending.has(hash)) {
      this.pending.set(hash, text);
      this.pendingBytes += text.length;
      if (this.pendingBytes > PENDING_BYTES) this.flushSoon();
    }
    return new ColdKnown(hash, size, this);
  }

  /** A known file whose text the record already holds (its load). */
  stale(hash: string, size: number): ColdKnown | undefined {
    return this.stored.has(hash) ? new ColdKnown(hash, size, this) : undefined;
  }

  /**
   * The text of `hash`, from memory or the record's file (checked: a damaged or missing one is
   * undefined, as a base the record never had). Synchronous, as `Known.text` is read: one small read,
   * only when a merge needs the base of a file nobody was changing.
   */
  read(hash: string): string | undefined {
    const held = this.pending.get(hash);
    if (held !== undefined) return held;
    let text: string;
    try {
      text = readFileSync(path.join(this.dir, hash), 'utf8');
    } catch {
      return undefined;
    }
    return contentHash(Buffer.from(text, 'utf8')) === hash ? text : undefined;
  }

  /** The same, without blocking: for reads that can wait (a document built from the base). */
  async readAsync(hash: string): Promise<string | undefined> {
    const held = this.pending.get(hash);
    if (held !== undefined) return held;
    // Many at once when a member asks for texts (text-serve.ts): synchronously, in slices.
    const bytes = await this.io.read(path.join(this.dir, hash));
    return bytes !== undefined && contentHash(bytes) === hash ? bytes.toString('utf8') : undefined;
  }

  /**
   * The texts to write now, taken at one instant with `wanted`, the hashes the known files hold
   * then: one waiting that no file holds any more (it changed again before the write) is dropped.
   */
  waiting(wanted: ReadonlySet<string>): Map<string, string> {
    for (const [hash, text] of this.pending) {
      if (wanted.has(hash)) continue;
      this.pending.delete(hash);
      this.pendingBytes -= text.length;
    }
    return new Map(this.pending);
  }

  isPending(hash: string): boolean {
    return this.pending.has(hash);
  }

  /** `hash` is now in `dir`: memory lets go of it. */
  written(hash: string): void {
    this.stored.add(hash);
    const text = this.pending.get(hash);
    if (text === undefined) return;
    this.pending.delete(hash);
    this.pendingBytes -= text.length;
  }

  /** `hash` left `dir` (no file refers to it any more). */
  removed(hash: string): void {
    this.stored.delete(hash);
  }

  /** Forgets a text no file refers to that was never written (a new session). */
  clearPending(): void {
    this.pending.clear();
    this.pendingBytes = 0;
  }
}
