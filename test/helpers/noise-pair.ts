/**
 * Two real Noise secret streams joined in memory (no network), each with every frame it receives
 * recorded: for tests of one connection's protocol, byte by byte.
 */
import NoiseSecretStream from '@hyperswarm/secret-stream';
import type Hyperswarm from 'hyperswarm';
import { PeerConnection, type ConnectionOptions } from '../../src/session/connection';
import { silentLogger } from '../../src/session/log';

export interface NoisePair {
  a: Hyperswarm.SecretStream;
  b: Hyperswarm.SecretStream;
  /** Frames (secret-stream messages) each side received. */
  toA: Buffer[];
  toB: Buffer[];
}

export async function noisePair(): Promise<NoisePair> {
  const a = new NoiseSecretStream(true);
  const b = new NoiseSecretStream(false);
  a.rawStream.pipe(b.rawStream).pipe(a.rawStream);
  // One side closing makes the other's writes fail: expected here, whichever side the test drives.
  for (const s of [a, b, a.rawStream, b.rawStream]) s.on('error', () => {});
  await Promise.all([a.opened, b.opened]);
  const toA: Buffer[] = [];
  const toB: Buffer[] = [];
  a.on('data', (f: Buffer) => toA.push(Buffer.from(f)));
  b.on('data', (f: Buffer) => toB.push(Buffer.from(f)));
  return { a: a as unknown as Hyperswarm.SecretStream, b: b as unknown as Hyperswarm.SecretStream, toA, toB };
}

export const TEST_AUTH_KEY = Buffer.alloc(32, 7);

/** A PeerConnection on `stream` with test defaults (a minute between pings). */
export function testConnection(stream: Hyperswarm.SecretStream, name: string, extra: Partial<ConnectionOptions> = {}): PeerConnection {
  return new PeerConnection(stream, { authKey: TEST_AUTH_KEY, hello: { name, colour: '#e6194b' }, authTimeoutMs: 10_000, pingIntervalMs: 60_000, logger: silentLogger, ...extra });
}
