/**
 * A private hyperswarm DHT on loopback for tests: real DHT nodes, real Noise connections, nothing
 * leaves the machine. Each test network is fresh, so announcements of earlier peers never linger.
 *
 *   const net = await createTestNetwork();
 *   const a = new Session({ code, name: 'A', network: net.network });
 *   ...
 *   await net.destroy();
 */
import createTestnet from '@hyperswarm/testnet';
import type { NetworkOptions } from '../../src/session/network';
import { tempDir } from './tree';

export interface TestNetwork {
  network: NetworkOptions;
  /** `host:port,…` for command-line peers and editor settings. */
  bootstrapSpec: string;
  destroy(): Promise<void>;
}

export async function createTestNetwork(size = 3): Promise<TestNetwork> {
  // Peers keep a sync record per folder (src/sync/disk-state.ts): in tests, never in the home folder.
  // Set here so that command-line peers the test starts inherit it.
  process.env.HYPERPAIR_STATE_DIR ??= tempDir('hyperpair-state-');
  const testnet = await createTestnet(size, { host: '127.0.0.1' });
  return {
    network: { bootstrap: testnet.bootstrap, host: '127.0.0.1', firewalled: false },
    bootstrapSpec: testnet.bootstrap.map((b) => `${b.host}:${b.port}`).join(','),
    destroy: () => testnet.destroy(),
  };
}

/** Resolves when `predicate()` is true, polling; rejects with `what` after `timeoutMs`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
