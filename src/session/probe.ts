/**
 * Diagnose Connection outside a session, exactly when someone cannot connect: a throwaway peer on a
 * fresh random topic bootstraps the DHT, measures the NAT and starts LAN discovery as a session would,
 * reports, and leaves. Nothing of any real session is involved, so the report holds no secret.
 */
import type HyperDHT from 'hyperdht';
import type { Diagnosis } from './diagnose';
import type { Logger } from './log';
import type { NetworkOptions } from './network';
import { Session } from './session';

export interface ProbeOptions {
  name: string;
  network?: NetworkOptions;
  lan?: boolean;
  relays?: Buffer[];
  keyPair?: HyperDHT.KeyPair;
  logger?: Logger;
  /** Report what is known by then, even if the DHT has not answered (an unreachable DHT takes long). */
  timeoutMs?: number;
}

export async function probeConnectivity(options: ProbeOptions): Promise<Diagnosis> {
  const { timeoutMs = 20_000, ...sessionOptions } = options;
  const probe = Session.start(sessionOptions);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([probe.ready(), timedOut]);
    return { ...probe.diagnose(), outsideSession: true, status: 'outside any session' };
  } finally {
    clearTimeout(timer);
    await probe.leave();
  }
}
