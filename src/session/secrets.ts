/**
 * Keys derived from the session secret (the 26 canonical data characters of the code). Each is a keyed
 * BLAKE2b-256 with its own label, so that the topic, which anyone on the DHT can see, says nothing
 * usable about the secret, and no derived value can stand in for another.
 */
import sodium from 'sodium-universal';

export const TOPIC_LABEL = 'hyperpair/topic/v1';
export const AUTH_LABEL = 'hyperpair/auth/v1';
export const PROOF_LABEL = 'hyperpair/proof/v1';
export const LAN_LABEL = 'hyperpair/lan/v1';
export const LAN_NAME_LABEL = 'hyperpair/lan-name/v1';
export const LAN_PEER_LABEL = 'hyperpair/lan-peer/v1';

export function keyedHash(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const out = Buffer.alloc(32);
  sodium.crypto_generichash(out, Buffer.concat(parts), key);
  return out;
}

export interface SessionKeys {
  /** The hyperswarm topic: public. */
  topic: Buffer;
  /** Proves membership; never sent. */
  authKey: Buffer;
  /** Keys the names and peer tags announced on the local network; never sent. */
  lanKey: Buffer;
}

export function deriveKeys(secret: Uint8Array): SessionKeys {
  return {
    topic: keyedHash(secret, Buffer.from(TOPIC_LABEL)),
    authKey: keyedHash(secret, Buffer.from(AUTH_LABEL)),
    lanKey: keyedHash(secret, Buffer.from(LAN_LABEL)),
  };
}

/**
 * A peer's proof that it knows the secret, bound to one Noise handshake (so it cannot be replayed on,
 * or relayed to, another connection) and to the sender's key (so it cannot be reflected back).
 */
export function proof(authKey: Uint8Array, handshakeHash: Uint8Array, senderPublicKey: Uint8Array): Buffer {
  return keyedHash(authKey, Buffer.from(PROOF_LABEL), handshakeHash, senderPublicKey);
}

export function verifyProof(authKey: Uint8Array, handshakeHash: Uint8Array, senderPublicKey: Uint8Array, received: Uint8Array): boolean {
  if (received.length !== 32) return false;
  return sodium.sodium_memcmp(proof(authKey, handshakeHash, senderPublicKey), received);
}

/** 8-byte big-endian encoding of a non-negative integer (a LAN time window number). */
function uint64be(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/**
 * The mDNS name this session answers to on the local network during time window `window`: 32 hex
 * characters of a keyed hash, so that it says nothing about the code, the topic or the previous
 * window's name to someone who does not know the code.
 */
export function lanName(lanKey: Uint8Array, window: number): string {
  return keyedHash(lanKey, Buffer.from(LAN_NAME_LABEL), uint64be(window)).subarray(0, 16).toString('hex') + '.local';
}

/**
 * What a peer says about itself in its LAN answer: a tag of its public key for this window, so that a
 * member can tell a peer it is already connected to without anyone else learning the key.
 */
export function lanPeerTag(lanKey: Uint8Array, window: number, publicKey: Uint8Array): string {
  return keyedHash(lanKey, Buffer.from(LAN_PEER_LABEL), uint64be(window), publicKey).subarray(0, 16).toString('hex');
}
