/**
 * Where a process allocated (`node out/bench/alloc-summary.js <file.heapprofile> [top]`), from a
 * sampling heap profile that keeps collected objects (HYPERPAIR_ALLOC_DIR, see peer-probe.ts): bytes
 * by the function that allocated, and by the nearest frame in Hyperpair's own code (its callers'
 * chain shortened), largest first; a third argument keeps only the functions whose name starts with it
 * (`Set`: who made the sets). A bench-only tool.
 */
import * as fs from 'node:fs';
import { SourceMap } from 'node:module';

interface Frame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface Node { callFrame: Frame; selfSize: number; children: Node[] }

const [file, topArg, only] = process.argv.slice(2);
if (!file) throw new Error('usage: alloc-summary <file.heapprofile> [top]');
const top = Number(topArg ?? 25);
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as { head: Node; samples: Array<{ size: number }> };
const bySelf = new Map<string, number>();
const byOwn = new Map<string, number>();
// The bundle's frames told by their source file (dist/cli-main.js is one file with its dependencies in it).
const maps = new Map<string, SourceMap | null>();
const mapOf = (url: string): SourceMap | null => {
  if (!maps.has(url)) {
    const js = url.replace(/^file:\/\//, '');
    maps.set(url, js.endsWith('.js') && fs.existsSync(js + '.map') ? new SourceMap(JSON.parse(fs.readFileSync(js + '.map', 'utf8')) as never) : null);
  }
  return maps.get(url) ?? null;
};
const where = (f: Frame): string => {
  const hit = mapOf(f.url)?.findEntry(f.lineNumber, f.columnNumber) as { originalSource?: string; originalLine?: number } | undefined;
  return hit?.originalSource ? `${hit.originalSource.replace(/^.*?\/(node_modules|src)\//, '$1/')}:${(hit.originalLine ?? 0) + 1}` : `${f.url.replace(/^.*\//, '')}:${f.lineNumber + 1}`;
};
const name = (f: Frame) => `${f.functionName || '(anonymous)'} ${where(f)}`;
const own = (f: Frame) => where(f).startsWith('src/');
let total = 0;
const walk = (n: Node, stack: Frame[]) => {
  const here = [...stack, n.callFrame];
  if (n.selfSize && (!only || name(n.callFrame).startsWith(only))) {
    total += n.selfSize;
    bySelf.set(name(n.callFrame), (bySelf.get(name(n.callFrame)) ?? 0) + n.selfSize);
    const mine = [...here].reverse().filter(own).slice(0, 3).map(name).join(' ← ') || '(no frame of ours)';
    byOwn.set(mine, (byOwn.get(mine) ?? 0) + n.selfSize);
  }
  for (const c of n.children) walk(c, here);
};
walk(profile.head, []);
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(v / 1048576).toFixed(1).padStart(8)} MB  ${k}`);
};
console.log(`allocated (sampled estimate): ${(total / 1048576).toFixed(0)} MB`);
print('by allocating function', bySelf);
print('by the nearest frames of our code', byOwn);
