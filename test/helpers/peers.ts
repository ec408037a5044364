/**
 * Headless peers (startPeer) on one loopback testnet per test file, all closed after the file's tests:
 *
 *   const peers = usePeers();
 *   const a = await peers.start({ mode: 'share', dir, name: 'a' });
 */
import { before, after } from 'node:test';
import { startPeer, type PeerOptions, type RunningPeer } from '../../src/sync/peer';
import { createTestNetwork, type TestNetwork } from './testnet';

export interface TestPeers {
  start(options: Omit<PeerOptions, 'network'>): Promise<RunningPeer>;
  /** `--bootstrap` and `--host` for a headless peer process on the same testnet. */
  cliNetworkArgs(): string[];
}

export function usePeers(): TestPeers {
  let net: TestNetwork | undefined;
  const running: RunningPeer[] = [];
  before(async () => {
    net = await createTestNetwork();
  });
  after(async () => {
    await Promise.all(running.map((p) => p.close()));
    await net?.destroy();
  });
  return {
    async start(options) {
      if (!net) throw new Error('usePeers(): start() is for use inside tests');
      const p = await startPeer({ ...options, network: net.network });
      running.push(p);
      return p;
    },
    cliNetworkArgs() {
      if (!net) throw new Error('usePeers(): cliNetworkArgs() is for use inside tests');
      return ['--bootstrap', net.bootstrapSpec, '--host', '127.0.0.1'];
    },
  };
}
