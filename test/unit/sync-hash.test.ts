/**
 * Large contents are hashed a slice at a time (hash.ts, prehash): the same hashes as in one go, for
 * the whole and for its chunks, with the event loop turning between slices, so that a call's frames
 * do not wait behind a large file's hashes (issue 19's file-transfer bench row).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chunk } from '../../src/sync/blobs';
import { contentHash, HASH_SLICE, knownChunkHashes, prehash } from '../../src/sync/hash';
import { CHUNK_SIZE } from '../../src/sync/protocol';
import { turnsDuring } from '../helpers/turns';

test('prehash works out the same hashes as hashing in one go, whole and per chunk, for any size', async () => {
  for (const size of [HASH_SLICE - 1, HASH_SLICE, 3 * HASH_SLICE + 12345, 4 * HASH_SLICE]) {
    const data = randomBytes(size);
    const copy = Buffer.from(data); // another buffer: hashed in one go
    await prehash(data, CHUNK_SIZE);
    assert.equal(contentHash(data), contentHash(copy), `whole, ${size} bytes`);
    const sliced = chunk(data).info;
    const inOneGo = chunk(copy).info;
    assert.deepEqual(sliced, inOneGo, `chunks, ${size} bytes`);
    if (size >= HASH_SLICE) assert.equal(knownChunkHashes(data, CHUNK_SIZE)?.length, Math.ceil(size / CHUNK_SIZE), 'the chunk hashes are remembered');
  }
});

test('prehash lets the event loop turn between slices', async () => {
  const data = randomBytes(16 * HASH_SLICE);
  const { turns } = await turnsDuring(() => prehash(data, CHUNK_SIZE));
  assert.ok(turns >= 15, `the loop turned ${turns} times while 16 slices were hashed`);
});
