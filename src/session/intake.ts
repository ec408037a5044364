/**
 * Connection intake: a new Noise stream (from the DHT or the LAN) becomes a `PeerConnection`, or is
 * dropped (the session is closing, or it duplicates a LAN connection). A remote that fails
 * authentication or runs another protocol version is banned here, for the rest of the session
 * (hyperswarm's `PeerInfo.ban`; docs/PROTOCOL.md §4.2).
 */
import type Hyperswarm from 'hyperswarm';
import { DUPLICATE_CONNECTION, PeerConnection } from './connection';
import { shortKey } from './format';
import type { Logger } from './log';
import { PROTOCOL_VERSION, type Hello } from './wire';

export interface IntakeOptions {
  authKey: Buffer;
  hello: Hello;
  authTimeoutMs: number;
  pingIntervalMs: number;
  logger: Logger;
  /** The stream duplicates a LAN connection to the same peer, which wins (SessionSwarm). */
  losesToLan(stream: Hyperswarm.SecretStream): boolean;
  /** The path can break during the handshake (LAN, relayed): silence then proves nothing. */
  fragilePath(stream: Hyperswarm.SecretStream): boolean;
  rejected(id: string, reason: string): void;
  mismatch(version: number, message: string): void;
}

/** Opens the Hyperpair channel on `stream`; undefined when the stream was dropped instead. */
export function intake(stream: Hyperswarm.SecretStream, info: Hyperswarm.PeerInfo, o: IntakeOptions, closing: boolean): PeerConnection | undefined {
  // A DHT dial that completed while the peer was already reached over the LAN: the LAN one is
  // kept on both sides (SessionSwarm), so this one goes before it starts anything.
  const duplicate = !closing && o.losesToLan(stream);
  if (closing || duplicate) {
    stream.on('error', () => {});
    stream.destroy(duplicate ? new Error(DUPLICATE_CONNECTION) : undefined);
    return undefined;
  }
  let conn: PeerConnection;
  try {
    conn = new PeerConnection(stream, {
      authKey: o.authKey,
      hello: o.hello,
      authTimeoutMs: o.authTimeoutMs,
      banSilence: !o.fragilePath(stream),
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
  conn.on('rejected', (reason) => {
    o.logger.debug(`refused ${shortKey(id)}: ${reason}`);
    info.ban(true); // never dialled nor accepted again in this session
    o.rejected(id, reason);
  });
  conn.on('mismatch', (version) => {
    const message = `The other peer runs Hyperpair protocol ${version}; this one runs protocol ${PROTOCOL_VERSION}. Update Hyperpair so that both match.`;
    o.logger.error(message);
    info.ban(true);
    o.mismatch(version, message);
  });
  return conn;
}
