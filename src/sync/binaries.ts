/**
 * The binary files of the workspace (docs/PROTOCOL.md §6.3, §6.4): their versions in the index, which
 * contents are here, and fetching them chunk by chunk through the BlobStore. A binary entry's `size`
 * and `hash` always follow its current version.
 */
import * as Y from 'yjs';
import type { ChangeOrigin } from './api';
import { BlobStore, chunk, type ChunkedContent } from './blobs';
import { binaryEntry, currentVersion, isVersion, newId, type Version } from './entries';

export interface BinaryHost {
  readonly index: Y.Doc;
  readonly entries: Y.Map<Y.Map<unknown>>;
  readonly blobs: BlobStore;
  isClosed(): boolean;
  /** The hash the view shows for a live binary file, if it is one. */
  shownHash(id: string): string | undefined;
  /** A content arrived or was made here. */
  arrived(id: string): void;
  /** Every member was asked for a chunk and none had it. */
  unavailable(id: string): void;
}

export class BinaryFiles {
  /** Binary contents fetched or created here: id → hash. */
  private readonly here = new Map<string, string>();

  constructor(private readonly host: BinaryHost) {}

  /** Whether a binary file's current content is here (fetched or made here), so fetch() asks no one. */
  has(id: string): boolean {
    const shown = this.host.shownHash(id);
    return shown !== undefined && this.here.get(id) === shown;
  }

  /** Whether the content with this hash is here. */
  holds(id: string, hash: string): boolean {
    return this.here.get(id) === hash;
  }

  async fetch(id: string): Promise<Uint8Array> {
    const v = this.content(id);
    if (!v) throw new Error(`no binary content for ${id}`);
    const bytes = await this.host.blobs.assemble(v);
    if (!this.host.isClosed()) {
      this.here.set(id, v.hash);
      this.host.arrived(id);
    }
    return bytes;
  }

  /** Like fetch(), but undefined once every member was asked for one of its chunks and none had it. */
  async load(id: string): Promise<Uint8Array | undefined> {
    const v = this.content(id);
    if (!v) throw new Error(`no binary content for ${id}`);
    const gaveUp = Promise.race(v.chunks.map((h) => this.host.blobs.whenExhausted(h))).then(() => undefined);
    const bytes = await Promise.race([this.fetch(id), gaveUp]);
    if (bytes === undefined) this.host.unavailable(id);
    return bytes;
  }

  content(id: string): ChunkedContent | undefined {
    return currentVersion(this.host.entries.get(id));
  }

  hadVersion(id: string, hash: string): boolean {
    const versions = this.host.entries.get(id)?.get('versions');
    return versions instanceof Y.Array && (versions.toArray() as unknown[]).some((v) => isVersion(v) && v.hash === hash);
  }

  /** A new binary entry at a path already checked; returns its id. */
  create(path: string, content: Uint8Array, origin: ChangeOrigin): string {
    const id = newId();
    const { info, parts } = chunk(content);
    this.host.blobs.remember(parts);
    this.here.set(id, info.hash);
    this.host.index.transact(() => this.host.entries.set(id, binaryEntry(path, { ...info, base: null })), origin);
    return id;
  }

  /** Appends a version (its base: the one it replaces), unless the content is the current one. */
  update(id: string, content: Uint8Array, origin: ChangeOrigin): void {
    const m = this.host.entries.get(id);
    const current = currentVersion(m);
    if (!m || !current) throw new Error(`no binary file ${id}`);
    const { info, parts } = chunk(content);
    if (info.hash === current.hash) return;
    this.host.blobs.remember(parts);
    this.here.set(id, info.hash);
    this.host.index.transact(() => {
      (m.get('versions') as Y.Array<Version>).push([{ ...info, base: current.hash }]);
      m.set('size', info.size);
      m.set('hash', info.hash);
    }, origin);
  }
}
