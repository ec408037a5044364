/** Content hashes: hex BLAKE2b-256, the same function on every peer (docs/PROTOCOL.md §6). */
import sodium from 'sodium-universal';

export function contentHash(data: Uint8Array): string {
  const out = Buffer.alloc(32);
  sodium.crypto_generichash(out, data);
  return out.toString('hex');
}

export function isHash(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}
