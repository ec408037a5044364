/** Two in-process peers over folders on a test network, and a check that folders are alike. */
import * as path from 'node:path';
import { startPeer, type RunningPeer } from '../../src/sync/peer';
import type { TestNetwork } from './testnet';
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
