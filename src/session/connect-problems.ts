/**
 * When a direct connection fails in a way a relay gets around: which relay to use, what to tell the
 * person (at most once a minute), and the last failure, for the connection report.
 */
import { RELAY_ADVICE } from './format';

/** Failures of a direct connection that a relay gets around (hyperdht error codes). */
const HOLEPUNCH_FAILURES = new Set([
  'HOLEPUNCH_ABORTED',
  'HOLEPUNCH_DOUBLE_RANDOMIZED_NATS',
  'HOLEPUNCH_PROBE_TIMEOUT',
  'CANNOT_HOLEPUNCH',
  'REMOTE_NOT_HOLEPUNCHABLE',
  'REMOTE_NOT_HOLEPUNCHING',
]);

const REPORT_EVERY_MS = 60_000;

export class ConnectProblems {
  /** The last direct connection that failed, for the connection report. */
  last: { code: string; at: number } | undefined;
  private lastReportAt = 0;

  constructor(
    private readonly relays: Buffer[],
    private readonly report: (message: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    for (const r of relays) {
      if (r.length !== 32) throw new Error('a relay key is 32 bytes (64 hex characters, as `hyperpair relay` prints it)');
    }
  }

  /** The relay to go through, or null to connect directly (hyperswarm's `relayThrough`). */
  pickRelay(force: boolean, randomizedNat: boolean): Buffer | null {
    // Like hyperswarm's default: relay after holepunching failed, or when this NAT randomises ports.
    if (this.relays.length === 0 || !(force || randomizedNat)) return null;
    return this.relays[Math.floor(Math.random() * this.relays.length)];
  }

  /** A dial failed with a hyperdht error code. */
  failed(code: string): void {
    if (!HOLEPUNCH_FAILURES.has(code)) return;
    const now = this.now();
    this.last = { code, at: now };
    if (now - this.lastReportAt < REPORT_EVERY_MS) return;
    this.lastReportAt = now;
    const what = `Could not reach a peer directly (${code}: NAT or firewall)`;
    this.report(
      this.relays.length
        ? `${what}; connecting through a relay instead.`
        : `${what} and no relay is configured. ${RELAY_ADVICE} Peers on the same local network also find each other with LAN discovery.`,
    );
  }
}
