/**
 * Connection intake: a new Noise stream (from the DHT or the LAN, see paths.ts) becomes a
 * `PeerConnection`, or is dropped (the session is closing). A remote that proves itself a stranger or
 * runs another protocol version is banned here, for the rest of the session (docs/PROTOCOL.md §4.2).
 */
import type Hyperswarm from 'hyperswarm';
import { PeerConnection } from './connection';
import { shortKey } from './format';
import type { Logger } from './log';
import { PROTOCOL_VERSION, type Hello } from './wire';

export interface IntakeOptions {
  authKey: Buffer;
  hello: Hello;
  authTimeoutMs: number;
  pingIntervalMs: number;
  logger: Logger;
  rejected(id: string, reason: string): void;
  mismatch(version: number, message: string): void;
}

/** Opens the Hyperpair channel on `stream`; undefined when the stream was dropped instead. */
export function intake(stream: Hyperswarm.SecretStream, ban: () => void, o: IntakeOptions, closing: boolean): PeerConnection | undefined {
  if (closing) {
    stream.on('error', () => {});
    stream.destroy();
    return undefined;
  }
  let conn: PeerConnection;
  try {
    conn = new PeerConnection(stream, {
      authKey: o.authKey,
      hello: o.hello,
      authTimeoutMs: o.authTimeoutMs,
      pingIntervalMs: o.pingIntervalMs,
      logger: o.logger,
    });
  } catch (err) {
    o.logger.warn(`could not open a channel: ${(err as Error).message}`);
    stream.on('error', () => {});
    stream.destroy();
    return undefined;
  }
  const id = conn.remoteId;
  conn.on('rejected', (reason, banned) => {
    o.logger.debug(`refused ${shortKey(id)}${banned ? ' (banned)' : ''}: ${reason}`);
    if (banned) ban(); // never dialled nor accepted again in this session
    o.rejected(id, reason);
  });
  conn.on('mismatch', (version) => {
    const message = `The other peer runs Hyperpair protocol ${version}; this one runs protocol ${PROTOCOL_VERSION}. Update Hyperpair so that both match.`;
    o.logger.error(message);
    ban();
    o.mismatch(version, message);
  });
  return conn;
}
