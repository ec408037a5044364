/**
 * The last synced texts of a folder's files, held on disk in the sync record (its `texts.pack`,
 * text-pack.ts; `texts/<hash>` files from before it are still read) rather than in memory. Each is
 * the base of a three-way merge when the file changes on disk (now, or while the peer was
 * stopped), so every text the mirror knows must be there, but a workspace of 30,000 files cannot
 * keep them all as strings: a file nobody is changing is known by a `ColdKnown`, its hash and size,
 * whose text is read back from here (checked against the hash) on the rare occasion a merge needs it. Texts wait in memory (`pending`) only until the record's next write puts them on disk,
 * so at no moment is a base neither in memory nor on disk.
 */
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Known } from './disk-state';
import { contentHash, isHash } from './hash';
import { QuickIo } from './quick-io';
import { forEachSliced } from './slicer';
import { PACK_FILE, TextPack } from './text-pack';

/** Bytes of texts waiting for the record's write past which it is written at once, not later. */
const PENDING_BYTES = 4 * 1024 * 1024;

/**
 * A text as a string, or as its bytes (valid UTF-8, checked by whoever read them): a start's or a
 * join's texts arrive as bytes and go to the record as bytes, with no string made of each only to
 * be encoded back (~0.1 s of a joiner's CPU at 1,000 files of 50 KB).
 */
export type TextContent = string | Uint8Array;

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** The text as a string. */
export function textString(text: TextContent): string {
  return typeof text === 'string' ? text : utf8.decode(text);
}

/** What `text` weighs in memory, about. */
function weight(text: TextContent): number {
  return typeof text === 'string' ? text.length : text.byteLength;
}

/**
 * `bytes` alone: copied out of a large buffer it is a small part of (a message of many texts), which
 * holding it would hold whole. A small file's bytes share Node's 8 KiB pool with others: not copied
 * (a copy each cost a 100,000-file start ~0.1 s, in turns of 10–15 ms).
 */
function ownBytes(bytes: Uint8Array): Uint8Array {
  const whole = bytes.buffer.byteLength;
  // new Uint8Array(view) copies (a Buffer's slice() would not).
  return whole > 64 * 1024 && bytes.byteLength * 2 < whole ? new Uint8Array(bytes) : bytes;
}

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
    // One accessor for every instance, not a closure each: with its own getter every instance left
    // V8's fast properties for a dictionary (~350 bytes more a file; 10 MB at 30,000 files).
    Object.defineProperty(this, 'text', COLD_TEXT);
    // Not a field: a copy of the known file carries its text, not the store.
    storeOf.set(this, texts);
  }

  /** The text, read without blocking. */
  load(): Promise<string | undefined> {
    return storeOf.get(this)!.readAsync(this.hash);
  }
}

const storeOf = new WeakMap<ColdKnown, RecordTexts>();
const COLD_TEXT: PropertyDescriptor = {
  enumerable: true,
  get(this: ColdKnown): string | undefined {
    return storeOf.get(this)!.read(this.hash);
  },
};

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
  /** Texts not yet written to the record (by hash). */
  private readonly pending = new Map<string, TextContent>();
  private pendingBytes = 0;
  /** Texts offered by a scan (offer()), kept until endOffers(). */
  private readonly offered = new Set<string>();
  /** Hashes whose text is in the record (the pack, or a file of texts/ from before the pack). */
  readonly stored = new Set<string>();
  private readonly pack: TextPack;
  /** Texts kept one file each under texts/ by earlier versions: read, and removed when unused. */
  private readonly legacy = new Set<string>();
  private readonly io = new QuickIo();
  /**
   * Texts a known file came to refer to while the record's list of files is being made and
   * written (beginList() to endList()): that list was taken before, so it cannot name them, and
   * neither waiting() nor prune() may let go of them on its word.
   */
  private referredSince: Set<string> | undefined;

  constructor(
    /** The record's folder. */
    readonly dir: string,
    /** Asks for the record to be written soon (many texts are waiting). */
    private readonly flushSoon: () => void,
  ) {
    this.pack = new TextPack(path.join(dir, PACK_FILE));
  }

  private get legacyDir(): string {
    return path.join(this.dir, 'texts');
  }

  /** Finds what the record holds (its pack's entries, and texts/ from before the pack). */
  async load(): Promise<void> {
    for (const name of await fs.readdir(this.legacyDir).catch(() => [] as string[])) {
      if (!isHash(name)) continue;
      this.legacy.add(name);
      this.stored.add(name);
    }
    await this.pack.load();
    for (const hash of this.pack.hashes()) this.stored.add(hash);
  }

  /** The known file for a text that stays on disk from now on (memory holds it until written). */
  cold(hash: string, size: number, text: TextContent): ColdKnown {
    this.hold(hash, text);
    this.referredSince?.add(hash);
    return new ColdKnown(hash, size, this);
  }

  /** Keeps `text` in memory until the record's next write, unless the record has it already. */
  private hold(hash: string, text: TextContent): void {
    if (this.stored.has(hash) || this.pending.has(hash)) return;
    const held = typeof text === 'string' ? text : ownBytes(text);
    this.pending.set(hash, held);
    this.pendingBytes += weight(held);
    if (this.pendingBytes > PENDING_BYTES) this.flushSoon();
  }

  /** A known file whose text the record already holds (its load). */
  stale(hash: string, size: number): ColdKnown | undefined {
    return this.stored.has(hash) ? new ColdKnown(hash, size, this) : undefined;
  }

  /**
   * A text read from the folder before any file is known to hold it (a clone join's scan), kept
   * for the record until `endOffers()`: the restart intake then knows each file that holds it
   * without reading the file again (`held`). Kept from pruning meanwhile.
   */
  offer(hash: string, text: TextContent): void {
    this.offered.add(hash);
    this.hold(hash, text);
  }

  /** A known file whose text the record holds, or holds in memory until its next write. */
  held(hash: string, size: number): ColdKnown | undefined {
    if (!this.stored.has(hash) && !this.pending.has(hash)) return undefined;
    this.referredSince?.add(hash);
    return new ColdKnown(hash, size, this);
  }

  /** The record's list of files was taken (one instant's known files): see `referredSince`. */
  beginList(): void {
    this.referredSince = new Set();
  }

  /** That list is written, and what it let go of is gone. */
  endList(): void {
    this.referredSince = undefined;
  }

  /** Whether a file may refer to `hash` without `wanted` (the list's hashes) knowing. */
  private keep(hash: string, wanted: ReadonlySet<string>): boolean {
    return wanted.has(hash) || this.offered.has(hash) || this.referredSince?.has(hash) === true;
  }

  /** The offered texts no known file holds now leave with the record's next write. */
  endOffers(): void {
    this.offered.clear();
  }

  /**
   * The text of `hash`, from memory or the record (checked: a damaged or missing one is undefined,
   * as a base the record never had). Synchronous, as `Known.text` is read: one small read, only when
   * a merge needs the base of a file nobody was changing.
   */
  read(hash: string): string | undefined {
    const held = this.pending.get(hash);
    if (held !== undefined) return textString(held);
    const packed = this.pack.has(hash) ? this.pack.read(hash) : undefined;
    if (packed !== undefined || !this.legacy.has(hash)) return packed;
    let text: string;
    try {
      text = readFileSync(path.join(this.legacyDir, hash), 'utf8');
    } catch {
      return undefined;
    }
    return contentHash(Buffer.from(text, 'utf8')) === hash ? text : undefined;
  }

  /** The same, in a slice of the event loop: for reads that can wait (a document built from the base; many texts a member asks for). */
  readAsync(hash: string): Promise<string | undefined> {
    return this.io.sliced(() => this.read(hash));
  }

  /**
   * The texts to write now, taken at one instant with `wanted`, the hashes the known files hold
   * then: one waiting that no file holds any more (it changed again before the write) is dropped.
   */
  waiting(wanted: ReadonlySet<string>): Map<string, TextContent> {
    for (const [hash, text] of this.pending) {
      if (this.keep(hash, wanted)) continue;
      this.pending.delete(hash);
      this.pendingBytes -= weight(text);
    }
    return new Map(this.pending);
  }

  isPending(hash: string): boolean {
    return this.pending.has(hash);
  }

  /** Writes these texts into the record (many per write); memory lets go of each once written. */
  async store(texts: ReadonlyMap<string, TextContent>): Promise<void> {
    await this.pack.append(texts, (hash) => this.written(hash));
  }

  /** Writes every waiting text into the record now (the record's next list of files decides which stay). */
  async storePending(): Promise<void> {
    if (this.pending.size) await this.store(new Map(this.pending));
  }

  /** Removes from the record the texts that no file refers to (`wanted`) and that wait for no write. */
  async prune(wanted: ReadonlySet<string>): Promise<void> {
    // A slice at a time (100,000 texts: 10 ms and more in one turn). A text referred to meanwhile is
    // kept (referredSince); one stored meanwhile is not in this list.
    const legacyGone: string[] = [];
    await forEachSliced([...this.stored], (hash) => {
      if (this.keep(hash, wanted) || this.pending.has(hash)) return;
      this.stored.delete(hash);
      this.pack.remove(hash);
      if (this.legacy.delete(hash)) legacyGone.push(hash);
    });
    for (const hash of legacyGone) await fs.rm(path.join(this.legacyDir, hash), { force: true });
    await this.pack.compact();
  }

  /** `hash` is now in the record: memory lets go of it. */
  private written(hash: string): void {
    this.stored.add(hash);
    const text = this.pending.get(hash);
    if (text === undefined) return;
    this.pending.delete(hash);
    this.pendingBytes -= weight(text);
  }

  /** Forgets a text no file refers to that was never written (a new session). */
  clearPending(): void {
    this.pending.clear();
    this.pendingBytes = 0;
    this.offered.clear();
  }
}
