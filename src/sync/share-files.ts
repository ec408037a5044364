/**
 * A sharer's start, one batch of scanned files at a time (scan.ts `onFiles`): the files are read
 * several at once, enter the index in one transaction (one update to the peers rather than one per
 * file), and the event loop gets a turn before the next batch. So the session can be open while the
 * folder is still being read: peers receive the index as it grows.
 */
import { isTextBytes, MAX_TEXT_BYTES } from './classify';
import { contentHash } from './hash';
import { isNotebookPath } from './notebook/first-state';
import { resolveInside } from './paths';
import { QuickIo } from './quick-io';
import { SLICE_MS, Slicer } from './slicer';
import { leaveOut, type ScannedFile, type ScanReport } from './scan';
import type { SharedWorkspace } from './workspace';

/** Files read at once: each read mostly waits on libuv's thread pool. */
const READERS = 16;
/**
 * Files entered in one index transaction at most: each is one update that every member checks and
 * applies in one go (index-intake.ts), at about ten times what making it cost here (0.2 s for 500
 * entries on a busy machine).
 */
const MAX_PER_TRANSACTION = 100;

export interface ShareTarget {
  root: string;
  ws: SharedWorkspace;
  /** `hash`: the bytes' hash, when known already (the scan hashed these very bytes). */
  addFromDisk(rel: string, bytes: Buffer, hash?: string): void;
  /** Texts as one index base (index-bases.ts); false when they cannot be one (then added one by one). */
  addTextsAsBase?(files: readonly BaseText[]): boolean;
  /** The most texts the next base may take (index-bases.ts baseCapacity); 0 when none can be made. */
  nextBaseCapacity?(): number;
  isClosed(): boolean;
}

type Read = { rel: string; bytes: Buffer; hash?: string };
type BaseText = { rel: string; bytes: Buffer; hash: string };

/** Adds `f` to `texts` if it is a text that can be in a base (not a notebook); whether it did. */
function takeText(f: Read, texts: BaseText[]): boolean {
  // Valid UTF-8 is a text as asText() decides (classify.ts); no string is made: the record keeps the bytes.
  if (isNotebookPath(f.rel) || !isTextBytes(f.bytes, MAX_TEXT_BYTES)) return false;
  texts.push({ rel: f.rel, bytes: f.bytes, hash: f.hash ?? contentHash(f.bytes) });
  return true;
}

/** `read`: bytes the scan read and hashed, by path (scan.ts `onFiles`): not read again. */
export async function shareBatch(t: ShareTarget, batch: ScannedFile[], report: ScanReport, read: ReadonlyMap<string, Buffer> = new Map()): Promise<void> {
  // A peer may have created one of these paths meanwhile (the session is open during the scan): its
  // file stays, and this folder's bytes meet it as a local change once the mirror follows the folder.
  const todo = batch.filter((f) => !t.ws.byPath(f.rel));
  const bytesOf = todo.map((f) => read.get(f.rel));
  // Only the files the scan did not read (its cache knew them, or they were large).
  const unread = todo.flatMap((f, i) => (bytesOf[i] ? [] : [i]));
  // Synchronously in slices (quick-io.ts); READERS at once only if the calls prove slow.
  const io = new QuickIo();
  let next = 0;
  const reader = async () => {
    while (next < unread.length && !t.isClosed()) {
      const i = unread[next++];
      bytesOf[i] = await io.readIfFile(resolveInside(t.root, todo[i].rel));
    }
  };
  await Promise.all(Array.from({ length: Math.min(READERS, unread.length) }, reader));
  // One transaction per slice of the event loop's time: few updates, and no long stall. Files are
  // gathered for half a slice: making their base (or adding them) and telling the index's
  // followers takes about as long again, after the gathering (a second share's turns of 50 ms).
  const slicer = new Slicer(SLICE_MS / 2);
  // Texts (not notebooks) as one base, which a joiner holding the same files builds itself. Each is
  // checked (and hashed, if the scan did not) within the slice's time. A small base is what one
  // slice gathers; a large one (index-bases.ts) is gathered over several, and made once full or at
  // the batch's end (a path a peer took meanwhile makes it fail: its texts are then added one by one).
  const nextCapacity = () => (t.addTextsAsBase ? (t.nextBaseCapacity?.() ?? MAX_PER_TRANSACTION) : 0);
  let texts: BaseText[] = [];
  let capacity = nextCapacity();
  for (let i = 0; i < todo.length && !t.isClosed(); ) {
    const end = Math.min(todo.length, i + MAX_PER_TRANSACTION);
    const rest: Read[] = [];
    for (; i < end && !slicer.spent() && (!capacity || texts.length < capacity); i++) {
      const bytes = bytesOf[i];
      const hashed = read.has(todo[i].rel) ? todo[i].hash : undefined;
      if (!bytes) leaveOut(report, todo[i], 'it could not be read');
      else if (!t.ws.byPath(todo[i].rel)) {
        const f = { rel: todo[i].rel, bytes, hash: hashed };
        if (!capacity || !takeText(f, texts)) rest.push(f);
      }
    }
    const small = capacity <= MAX_PER_TRANSACTION;
    if (texts.length && (small || texts.length >= capacity || i >= todo.length)) {
      // Not inside the transaction below: Yjs counts a transaction that applies an update as a peer's.
      // A path a peer took while a large base was gathered is left to it, as at the batch's start.
      if (!t.addTextsAsBase!(texts)) rest.push(...texts.filter((f) => !t.ws.byPath(f.rel)));
      texts = [];
      capacity = nextCapacity();
    }
    if (rest.length) t.ws.index.transact(() => rest.forEach((f) => t.addFromDisk(f.rel, f.bytes, f.hash)), 'disk');
    await slicer.maybeYield();
  }
}
