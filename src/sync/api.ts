/**
 * The contract of the shared-workspace model, written before its implementation so that the model
 * (workspace.ts, protocol, blobs), the disk mirror and the editor glue can be built side by side.
 * The model is editor-agnostic and disk-agnostic: the mirror and the editor glue are both adapters.
 *
 * Paths are workspace-relative POSIX paths ("src/a b/ü.ts"), already validated by `paths.ts`;
 * the model refuses an unsafe path from anyone, local or remote.
 */
import type * as Y from 'yjs';

/** `notebook` (version 3): a Jupyter notebook shared cell by cell (notebook/model.ts), not as text. */
export type FileKind = 'text' | 'binary' | 'notebook';

/** Kinds whose content is a Yjs document named by the file id (a text's, or a notebook's). */
export function hasDocument(kind: FileKind): kind is 'text' | 'notebook' {
  return kind === 'text' || kind === 'notebook';
}

/** One file of the shared folder, as the index knows it. */
export interface FileEntry {
  /** Stable id (32 lowercase hex chars), kept across renames; keys the file's text document. */
  readonly id: string;
  readonly path: string;
  readonly kind: FileKind;
  /** Bytes of the content: a binary's current version; a text's UTF-8 length at its creation (§6.1). */
  readonly size: number;
  /** Hex BLAKE2b-256 of the content: a binary's current version; a text's at its creation. */
  readonly hash: string;
}

/** Who caused a change: this peer's disk, this peer's editor, or a remote peer. */
export type ChangeOrigin = 'disk' | 'editor' | 'remote';

export interface WorkspaceEvents {
  /** A file appeared in the index (created anywhere, or first seen after joining). */
  'file-added': [entry: FileEntry, origin: ChangeOrigin];
  /** A file left the index. */
  'file-removed': [entry: FileEntry, origin: ChangeOrigin];
  /** A file's path changed; its id and text history stay. */
  'file-renamed': [entry: FileEntry, oldPath: string, origin: ChangeOrigin];
  /** A binary file's content (hash/size) changed. */
  'binary-changed': [entry: FileEntry, origin: ChangeOrigin];
  /**
   * A text file's content changed (fired after the Yjs transaction); `before` is the document's state
   * vector before it (client id → clock), which says who wrote what the change brought.
   */
  'text-changed': [entry: FileEntry, origin: ChangeOrigin, before?: Map<number, number>];
  /** Something noteworthy a person should know (a conflict copy was made, a delete was undone). */
  notice: [message: string];
  /** Every member was asked for a file's content (a text, or a chunk of a binary) and none could send it;
   *  it is asked for again when someone joins. */
  unavailable: [entry: FileEntry];
  /** Another file's content became available here (see SyncProgress). */
  progress: [progress: SyncProgress];
}

/** Files and bytes done out of how many: the one shape every progress report shares. */
export interface FileCounts {
  files: number;
  totalFiles: number;
  bytes: number;
  totalBytes: number;
}

/**
 * How much of the shared folder is here: what a joiner shows while files arrive. `files` are the
 * live files whose content is available here (texts loaded, binaries fetched or created here), and
 * `bytes` their sizes from the index.
 */
export interface SyncProgress extends FileCounts {
  /** The index arrived (always true for the peer that shares). */
  indexReady: boolean;
  /** indexReady and every file's content available. */
  complete: boolean;
}

export interface Workspace {
  /** All files currently in the index. */
  files(): FileEntry[];
  byPath(path: string): FileEntry | undefined;
  byId(id: string): FileEntry | undefined;

  // ---- content ----
  /** The Yjs text of a text file, loading it (from peers) if needed; resolves once it is synced
   *  with at least one peer that has it, or at once if this peer created it. */
  text(id: string): Promise<Y.Text>;
  /** The text if it is already loaded locally, else undefined. */
  loadedText(id: string): Y.Text | undefined;
  /** The bytes of a binary file, fetched from peers in chunks if needed (hash-verified). */
  binary(id: string): Promise<Uint8Array>;

  // ---- local changes (from disk or editor); each validates the path and throws a clear Error ----
  createText(path: string, content: string, origin: ChangeOrigin): FileEntry;
  createBinary(path: string, content: Uint8Array, origin: ChangeOrigin): FileEntry;
  updateBinary(id: string, content: Uint8Array, origin: ChangeOrigin): void;
  rename(id: string, newPath: string, origin: ChangeOrigin): void;
  remove(id: string, origin: ChangeOrigin): void;

  on<K extends keyof WorkspaceEvents>(event: K, listener: (...args: WorkspaceEvents[K]) => void): this;
  off<K extends keyof WorkspaceEvents>(event: K, listener: (...args: WorkspaceEvents[K]) => void): this;
}
