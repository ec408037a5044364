/**
 * Headless peers (startPeer) for tests: two in-process peers over folders on a test network, a check
 * that folders are alike, and peers on one loopback testnet per test file, all closed after its tests:
 *
 *   const peers = usePeers();
 *   const a = await peers.start({ mode: 'share', dir, name: 'a' });
 */
import { before, after } from 'node:test';
import * as path from 'node:path';
import { startPeer, type PeerOptions, type RunningPeer } from '../../src/app/peer';
import { createTestNetwork, type TestNetwork } from './testnet';
import { readTree, tempDir, writeTree } from './tree';
export interface Pair {
  a: string;
  b: string;
  pa: RunningPeer;
  pb: RunningPeer;
}

/** `a` shares a folder holding `files`; `b` joins into a new folder. Both go into `running` (close them after). */
export async function startPair(net: TestNetwork, running: RunningPeer[], files: Record<string, string | Uint8Array>): Promise<Pair> {
  const a = tempDir();
  writeTree(a, files);
  const pa = await startPeer({ mode: 'share', dir: a, name: 'a', network: net.network });
  running.push(pa);
  const b = path.join(tempDir(), 'b');
  const pb = await startPeer({ mode: 'join', code: pa.code, dir: b, name: 'b', network: net.network });
  running.push(pb);
  return { a, b, pa, pb };
}

/** A predicate (for waitFor): every folder holds the same files, byte for byte. */
export const sameTrees = (dirs: string[]) => (): boolean => {
  const trees = dirs.map((d) => JSON.stringify(readTree(d)));
  return trees.every((t) => t === trees[0]);
};

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
