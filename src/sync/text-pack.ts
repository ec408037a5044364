/**
 * The sync record's texts in one append-only file (`texts.pack`), not one file each: creating a file
 * per text was the largest cost left in a start or a join (30,000 files: 2.2 s of a sharer's start,
 * ~1 s of a joiner's, spent in `open` creating them). Each entry is the text's 32-byte hash (raw),
 * its length (uint32, little-endian) and its UTF-8 bytes. Many texts go in one write; an entry is
 * checked against its hash when read, so one cut short or damaged is no base, as a missing one is.
 * Entries no file refers to any more stay as garbage until it outweighs the live ones; then the pack
 * is copied without them and renamed over the old one.
 */
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { contentHash } from './hash';
import { QuickIo } from './quick-io';
import { Slicer, sortSliced } from './slicer';

export const PACK_FILE = 'texts.pack';
const HEADER = 36;
/**
 * Bytes per append at most: a join's texts go in writes of a few milliseconds each (at 8 MB, joining
 * the pieces into one buffer and writing it held the event loop for 50–70 ms).
 */
const WRITE_BYTES = 1024 * 1024;
/** Garbage is collected only past this much, and only when it outweighs what is live. */
const GARBAGE_BYTES = 16 * 1024 * 1024;
/** Bytes a compaction copies at once at most (neighbouring entries together). */
const COPY_BYTES = 1024 * 1024;
/** Bytes of the pack read at once while its headers are found. */
const LOAD_BLOCK = 64 * 1024;

interface Place {
  offset: number;
  length: number;
}

export class TextPack {
  private readonly places = new Map<string, Place>();
  /** The length of the pack's complete entries (where the next one goes). */
  private size = 0;
  private garbage = 0;
  private readonly io = new QuickIo();

  constructor(
    readonly file: string,
    private readonly garbageBytes = GARBAGE_BYTES,
  ) {}

  /** Reads the entries' headers; a torn last entry (a crash mid-write) is cut off. */
  async load(): Promise<void> {
    this.places.clear();
    this.size = 0;
    this.garbage = 0;
    let names: string[] = [];
    try {
      names = fsSync.readdirSync(path.dirname(this.file));
    } catch {
      return; // no record yet
    }
    for (const name of names.filter((n) => n.startsWith(`${PACK_FILE}.`) && n.endsWith('.tmp'))) {
      fsSync.rmSync(path.join(path.dirname(this.file), name), { force: true }); // a compaction cut short
    }
    let fd: number;
    try {
      fd = fsSync.openSync(this.file, 'r+');
    } catch {
      return; // none yet
    }
    try {
      const total = fsSync.fstatSync(fd).size;
      // Headers are read out of blocks of the file: one read each was 100,000 system calls for a
      // 100,000-text record (0.3 s before a second start could print its code).
      const block = Buffer.alloc(LOAD_BLOCK);
      let blockAt = 0;
      let blockLength = 0;
      let at = 0;
      while (at + HEADER <= total) {
        if (at + HEADER > blockAt + blockLength) {
          blockAt = at;
          const readBlock = () => fsSync.readSync(fd, block, 0, Math.min(LOAD_BLOCK, total - at), at);
          blockLength = await this.io.sliced(readBlock);
          if (blockLength < HEADER) break; // the file is shorter than it said: cut at the last whole entry
        }
        const header = block.subarray(at - blockAt, at - blockAt + HEADER);
        const length = header.readUInt32LE(32);
        if (at + HEADER + length > total) break;
        const hash = header.subarray(0, 32).toString('hex');
        const had = this.places.get(hash);
        if (had) this.garbage += HEADER + had.length;
        this.places.set(hash, { offset: at + HEADER, length });
        at += HEADER + length;
      }
      if (at < total) fsSync.ftruncateSync(fd, at);
      this.size = at;
    } finally {
      fsSync.closeSync(fd);
    }
  }

  has(hash: string): boolean {
    return this.places.has(hash);
  }

  hashes(): IterableIterator<string> {
    return this.places.keys();
  }

  /** The text of `hash`, if the pack holds it undamaged. */
  read(hash: string): string | undefined {
    const place = this.places.get(hash);
    if (!place) return undefined;
    let fd: number | undefined;
    try {
      fd = fsSync.openSync(this.file, 'r');
      const bytes = Buffer.alloc(place.length);
      if (fsSync.readSync(fd, bytes, 0, place.length, place.offset) !== place.length) return undefined;
      return contentHash(bytes) === hash ? bytes.toString('utf8') : undefined;
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) fsSync.closeSync(fd);
    }
  }

  /** The same in a slice of the event loop (many at once when a member asks for texts). */
  readAsync(hash: string): Promise<string | undefined> {
    return this.io.sliced(() => this.read(hash));
  }

  /** Appends these texts (by hash), many per write; `done` is called for each once it is written. */
  async append(texts: ReadonlyMap<string, string | Uint8Array>, done: (hash: string) => void): Promise<void> {
    let parts: Uint8Array[] = [];
    let bytes = 0;
    let hashes: Array<[string, Place]> = [];
    const write = async () => {
      if (!parts.length) return;
      const data = Buffer.concat(parts);
      const appendAll = () => fsSync.appendFileSync(this.file, data, { mode: 0o600 });
      try {
        await this.io.sliced(appendAll);
      } catch (err) {
        // Part of it may be in the file (a full disk): cut off, so that every entry stays where the
        // next load finds it (a torn entry in the middle would hide those after it).
        try {
          fsSync.truncateSync(this.file, this.size);
        } catch {
          this.size = fsSync.statSync(this.file, { throwIfNoEntry: false })?.size ?? 0;
        }
        throw err;
      }
      const start = this.size;
      this.size += data.byteLength;
      for (const [hash, place] of hashes) {
        const had = this.places.get(hash);
        if (had) this.garbage += HEADER + had.length;
        this.places.set(hash, { offset: start + place.offset, length: place.length });
        done(hash);
      }
      parts = [];
      bytes = 0;
      hashes = [];
    };
    // A slice at a time: a joiner's record takes thousands of texts per append (80–110 ms in one
    // turn at 30,000 files). Each entry's place is counted within its write, and placed after
    // whatever the file held when that write was made.
    const slicer = new Slicer();
    let count = 0;
    for (const [hash, text] of texts) {
      if ((++count & 31) === 0) await slicer.maybeYield();
      const body = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
      const header = Buffer.alloc(HEADER);
      header.write(hash, 0, 32, 'hex');
      header.writeUInt32LE(body.byteLength, 32);
      hashes.push([hash, { offset: bytes + HEADER, length: body.byteLength }]);
      parts.push(header, body);
      bytes += HEADER + body.byteLength;
      if (bytes >= WRITE_BYTES) await write();
    }
    await write();
  }

  /** Forgets `hash` (no file refers to it any more): garbage until the next compaction. */
  remove(hash: string): void {
    const place = this.places.get(hash);
    if (!place) return;
    this.places.delete(hash);
    this.garbage += HEADER + place.length;
  }

  /** Copies the live entries to a new pack and renames it over the old one, when garbage outweighs them. */
  async compact(): Promise<void> {
    const live = this.size - this.garbage;
    if (this.garbage < this.garbageBytes || this.garbage < live) return;
    const temp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    const moved = new Map<string, Place>();
    // Live entries in the file's order, copied a run of neighbours at a time through the thread
    // pool: one synchronous read and write per entry held the event loop for 80 ms at a time
    // (100,000 texts, 280 MB) while the kernel made the writer wait for the disk.
    const entries = await sortSliced([...this.places], (a, b) => a[1].offset - b[1].offset);
    let at = 0;
    const src = await fs.open(this.file, 'r');
    try {
      const dst = await fs.open(temp, 'wx', 0o600);
      try {
        const slicer = new Slicer();
        for (let i = 0; i < entries.length; ) {
          // A run: entries that follow each other in the file, up to COPY_BYTES (or one larger entry).
          const from = entries[i][1].offset - HEADER;
          let to = from;
          while (i < entries.length && entries[i][1].offset - HEADER === to && (to === from || to - from + HEADER + entries[i][1].length <= COPY_BYTES)) {
            const [hash, place] = entries[i++];
            moved.set(hash, { offset: at + (to - from) + HEADER, length: place.length });
            to += HEADER + place.length;
          }
          const run = Buffer.alloc(to - from);
          const { bytesRead } = await src.read(run, 0, run.byteLength, from);
          if (bytesRead !== run.byteLength) throw new Error('the pack is shorter than its entries');
          for (let written = 0; written < run.byteLength; ) written += (await dst.write(run, written, run.byteLength - written, at + written)).bytesWritten;
          at += run.byteLength;
          await slicer.maybeYield();
        }
      } finally {
        await dst.close();
      }
    } catch (err) {
      fsSync.rmSync(temp, { force: true });
      throw err;
    } finally {
      await src.close();
    }
    // Entries appended while copying are not in the copy: kept, compacted another time. Entries
    // removed meanwhile are garbage of the copy.
    for (const hash of this.places.keys()) if (!moved.has(hash)) return fsSync.rmSync(temp, { force: true });
    let garbage = 0;
    for (const [hash, place] of moved) {
      if (this.places.has(hash)) continue;
      moved.delete(hash);
      garbage += HEADER + place.length;
    }
    fsSync.renameSync(temp, this.file);
    this.places.clear();
    for (const [hash, place] of moved) this.places.set(hash, place);
    this.size = at;
    this.garbage = garbage;
  }
}
