/** Content hashes: hex BLAKE2b-256, the same function on every peer (docs/PROTOCOL.md §6). */
import sodium from 'sodium-universal';

/**
 * Contents this large are hashed a slice at a time, yielding to the event loop between slices
 * (prehash). Hashed in one go, a 64 MiB file held the event loop 60 ms on an idle machine and whole
 * seconds on a loaded one, three times per file on the peer that wrote it and three on each that
 * received it; every call's voice frame waited behind it (issue 19, the file-transfer bench row).
 */
export const HASH_SLICE = 1024 * 1024;

interface Known {
  whole: string;
  /** The hashes of its consecutive pieces of `chunkSize` bytes, if asked for. */
  chunkSize?: number;
  chunks?: string[];
}

/**
 * Hashes worked out by prehash, by the buffer they are of. Only for buffers of HASH_SLICE bytes or
 * more (never from Node's shared pool) that nothing changes once handed over: a file's bytes as read,
 * a fetched file as assembled. A buffer that is dropped drops its entry.
 */
const known = new WeakMap<Uint8Array, Known>();

export function contentHash(data: Uint8Array): string {
  const k = data.byteLength >= HASH_SLICE ? known.get(data) : undefined;
  if (k) return k.whole;
  const out = Buffer.alloc(32);
  sodium.crypto_generichash(out, data);
  return out.toString('hex');
}

export function isHash(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Works out `data`'s hash (and, with `chunkSize`, the hashes of its pieces of that size) a slice at
 * a time, yielding between slices, so that the contentHash and chunkHashes calls that follow on the
 * same buffer answer at once. Small contents are left to contentHash (one slice costs no more).
 * The caller promises not to change `data` afterwards.
 */
export async function prehash(data: Uint8Array, chunkSize?: number): Promise<void> {
  if (data.byteLength < HASH_SLICE) return;
  const had = known.get(data);
  if (had && (!chunkSize || had.chunkSize === chunkSize)) return;
  const state = Buffer.alloc(sodium.crypto_generichash_STATEBYTES);
  sodium.crypto_generichash_init(state, null, 32);
  const chunks: string[] = [];
  let chunked = 0;
  for (let at = 0; at < data.byteLength; at += HASH_SLICE) {
    const end = Math.min(data.byteLength, at + HASH_SLICE);
    sodium.crypto_generichash_update(state, data.subarray(at, end));
    if (chunkSize) {
      for (; chunked < end && (chunked + chunkSize <= end || end === data.byteLength); chunked += chunkSize) {
        const out = Buffer.alloc(32);
        sodium.crypto_generichash(out, data.subarray(chunked, chunked + chunkSize));
        chunks.push(out.toString('hex'));
      }
    }
    if (end < data.byteLength) await nextTurn();
  }
  const out = Buffer.alloc(32);
  sodium.crypto_generichash_final(state, out);
  known.set(data, { whole: out.toString('hex'), ...(chunkSize ? { chunkSize, chunks } : {}) });
}

/** The hashes of `data`'s pieces of `chunkSize` bytes, if prehash worked them out. */
export function knownChunkHashes(data: Uint8Array, chunkSize: number): string[] | undefined {
  const k = data.byteLength >= HASH_SLICE ? known.get(data) : undefined;
  return k?.chunkSize === chunkSize ? k.chunks : undefined;
}
