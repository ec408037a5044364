/**
 * Real editing traces from test/data/traces (josephg/editing-traces, CC BY 4.0; see the README there
 * for the licence and source): loading, and the bookkeeping needed to replay them, sequentially or per
 * agent. They are kept in the repository so a fresh clone runs every test.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as Y from 'yjs';

// Compiled to out/test/helpers/, so the repository root is three levels up.
export const TRACES_DIR = path.resolve(__dirname, '../../../test/data/traces');
export type Patch = [pos: number, del: number, ins: string, time?: unknown];

export interface SequentialTrace {
  startContent: string;
  endContent: string;
  txns: Array<{ patches: Patch[] }>;
}

export interface ConcurrentTrace {
  numAgents: number;
  endContent: string;
  txns: Array<{ parents: number[]; agent: number; patches: Patch[] }>;
}

export function tracePath(name: string): string {
  const file = path.join(TRACES_DIR, name);
  if (!fs.existsSync(file)) throw new Error(`trace ${name} not found in ${TRACES_DIR}`);
  return file;
}

export function loadTrace<T>(name: string): T {
  return JSON.parse(zlib.gunzipSync(fs.readFileSync(tracePath(name))).toString('utf8')) as T;
}

/** Whether any inserted text has characters outside the BMP (then code points ≠ UTF-16 units). */
export function hasAstral(txns: Array<{ patches: Patch[] }>): boolean {
  return txns.some((t) => t.patches.some((p) => /[\ud800-\udfff]/.test(p[2])));
}

/** The UTF-16 offset of code point `cp` in `text`. */
export function cpToUtf16(text: string, cp: number): number {
  let units = 0;
  for (let i = 0; i < cp && units < text.length; i++) {
    const c = text.charCodeAt(units);
    units += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
  }
  return units;
}

/** Applies one transaction's patches (code-point positions) to a Y.Text inside one Yjs transaction. */
export function applyPatches(ytext: Y.Text, patches: Patch[], astral: boolean, origin: unknown = 'editor'): void {
  ytext.doc!.transact(() => {
    for (const [pos, del, ins] of patches) {
      let at = pos;
      let len = del;
      if (astral) {
        const s = ytext.toString();
        at = cpToUtf16(s, pos);
        len = cpToUtf16(s, pos + del) - at;
      }
      if (len) ytext.delete(at, len);
      if (ins) ytext.insert(at, ins);
    }
  }, origin);
}

/**
 * For each transaction, how many transactions of each agent it has seen (its ancestors). Each agent's
 * transactions are causally ordered, so "seen" is always a prefix of that agent's sequence.
 */
export function seenVectors(trace: ConcurrentTrace): { seen: number[][]; ordinal: number[] } {
  const seen: number[][] = [];
  const ordinal: number[] = [];
  const counts = new Array<number>(trace.numAgents).fill(0);
  trace.txns.forEach((t, i) => {
    const v = new Array<number>(trace.numAgents).fill(0);
    for (const p of t.parents) {
      const pv = seen[p];
      for (let a = 0; a < v.length; a++) v[a] = Math.max(v[a], pv[a]);
      v[trace.txns[p].agent] = Math.max(v[trace.txns[p].agent], ordinal[p] + 1);
    }
    seen[i] = v;
    ordinal[i] = counts[t.agent]++;
  });
  return { seen, ordinal };
}

/** The reference: every agent a plain in-process Y.Doc (client id agent+1), merged at the parents. */
export function replayInProcess(trace: ConcurrentTrace): string[] {
  const astral = hasAstral(trace.txns);
  const { seen } = seenVectors(trace);
  const docs = Array.from({ length: trace.numAgents }, (_, a) => {
    const d = new Y.Doc();
    d.clientID = a + 1;
    return d;
  });
  // Each agent's updates, in order; an agent catches up on the others' prefixes before each txn.
  const updates: Uint8Array[][] = docs.map(() => []);
  const applied = docs.map(() => new Array<number>(trace.numAgents).fill(0));
  docs.forEach((d, a) => d.on('update', (u: Uint8Array, origin: unknown) => origin === 'editor' && updates[a].push(u)));
  trace.txns.forEach((t, i) => {
    const a = t.agent;
    for (let b = 0; b < trace.numAgents; b++) {
      if (b === a) continue;
      while (applied[a][b] < seen[i][b]) Y.applyUpdate(docs[a], updates[b][applied[a][b]++], 'remote');
    }
    applyPatches(docs[a].getText('content'), t.patches, astral);
  });
  for (let a = 0; a < docs.length; a++) for (let b = 0; b < docs.length; b++) if (a !== b) for (const u of updates[b]) Y.applyUpdate(docs[a], u, 'remote');
  return docs.map((d) => d.getText('content').toString());
}

/**
 * Replays a sequential trace into `ytext` (one Yjs transaction per trace transaction, with `origin`);
 * `onTxn` runs after each, e.g. to let updates travel or to sample timings. Returns the edit count.
 */
export async function replaySequential(
  trace: SequentialTrace,
  ytext: Y.Text,
  options: { origin?: unknown; onTxn?: (index: number) => void | Promise<void> } = {},
): Promise<number> {
  const astral = hasAstral(trace.txns);
  if (ytext.length === 0 && trace.startContent) ytext.doc!.transact(() => ytext.insert(0, trace.startContent), options.origin ?? 'editor');
  let edits = 0;
  for (let i = 0; i < trace.txns.length; i++) {
    const patches = trace.txns[i].patches;
    applyPatches(ytext, patches, astral, options.origin ?? 'editor');
    edits += patches.length;
    await options.onTxn?.(i);
  }
  return edits;
}
