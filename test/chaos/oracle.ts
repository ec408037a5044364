/**
 * The exact oracle: every token every writer wrote is on every surviving peer's disk (in the file it
 * was written to, or in a conflict copy beside it — anything in the shared tree), and all surviving
 * trees are byte-identical.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Folder names and suffixes that are the peer's own bookkeeping, never shared content. */
const PRIVATE_DIRS = ['.hyperpair'];
const TEMP_SUFFIX = '.hyperpair-tmp';

export interface TreeSnapshot {
  /** relative path → content (utf8 for comparison; binary compares as its bytes' latin1). */
  files: Map<string, Buffer>;
  /** Hidden temporary files the peer left behind. */
  leftovers: string[];
}

export function snapshot(root: string): TreeSnapshot {
  const files = new Map<string, Buffer>();
  const leftovers: string[] = [];
  const walk = (dir: string, rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // a folder that vanished while being read: the next poll sees the new state
    }
    for (const d of entries) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) {
        if (!PRIVATE_DIRS.includes(d.name)) walk(path.join(dir, d.name), r);
      } else if (d.isFile()) {
        if (d.name.endsWith(TEMP_SUFFIX)) leftovers.push(r);
        else {
          try {
            files.set(r, fs.readFileSync(path.join(dir, d.name)));
          } catch {
            // renamed away between readdir and read
          }
        }
      }
    }
  };
  walk(root, '');
  return { files, leftovers };
}

export function sameTree(a: TreeSnapshot, b: TreeSnapshot): boolean {
  if (a.files.size !== b.files.size) return false;
  for (const [k, v] of a.files) {
    const w = b.files.get(k);
    if (!w || !w.equals(v)) return false;
  }
  return true;
}

/** Up to `max` paths where a tree differs from the first, each with the peers that differ. */
function differences(snaps: Array<{ name: string; snap: TreeSnapshot }>, max = 5): string[] {
  const [first, ...rest] = snaps;
  const paths = new Set(snaps.flatMap((s) => [...s.snap.files.keys()]));
  const out: string[] = [];
  for (const rel of [...paths].sort()) {
    const want = first.snap.files.get(rel);
    const odd = rest.filter((s) => {
      const got = s.snap.files.get(rel);
      return !got !== !want || (got && want && !got.equals(want));
    });
    if (!odd.length) continue;
    const show = (b: Buffer | undefined) => (b ? JSON.stringify(b.toString('utf8').slice(-60)) : 'missing');
    out.push(`${rel}: ${first.name} ${show(want)}; ${odd.map((s) => `${s.name} ${show(s.snap.files.get(rel))}`).join('; ')}`);
    if (out.length >= max) break;
  }
  return out;
}

/** Every line of every file in the tree. */
function linesOf(s: TreeSnapshot): Set<string> {
  const out = new Set<string>();
  for (const buf of s.files.values()) for (const l of buf.toString('utf8').split(/\r?\n/)) out.add(l);
  return out;
}

export interface Verdict {
  linesWritten: number;
  /** Tokens missing from at least one surviving peer. */
  linesLost: number;
  /** A few of the lost tokens, with the peers that miss them. */
  filesExpected: number;
  /** Expected files missing or different on at least one peer. */
  filesLost: number;
  lostSample: string[];
  /** Tokens found twice in one file (a few): an edit taken twice. */
  doubled: string[];
  identical: boolean;
  /** Where the trees differ, when they do (a few paths, with each peer's file's end). */
  differ: string[];
  leftovers: number;
}

/**
 * `tokens`: lines that must be on every peer; `expectedFiles`: files that must be on every peer with
 * exactly these bytes (a join's content).
 */
export function judge(dirs: Array<{ name: string; dir: string }>, tokens: string[], expectedFiles = new Map<string, Buffer>()): Verdict {
  const snaps = dirs.map((d) => ({ name: d.name, snap: snapshot(d.dir) }));
  const lines = snaps.map((s) => ({ name: s.name, lines: linesOf(s.snap) }));
  const lostSample: string[] = [];
  let linesLost = 0;
  for (const t of tokens) {
    const missing = lines.filter((l) => !l.lines.has(t)).map((l) => l.name);
    if (missing.length === 0) continue;
    linesLost++;
    if (lostSample.length < 5) lostSample.push(`${t} (not on ${missing.join(', ')})`);
  }
  // A token is written once: twice in one file, an edit was taken a second time (conflict copies,
  // whole files kept beside another, may repeat a token in a file of their own).
  const tokenSet = new Set(tokens);
  const doubled: string[] = [];
  for (const s of snaps) {
    for (const [rel, buf] of s.snap.files) {
      const seen = new Set<string>();
      for (const l of buf.toString('utf8').split(/\r?\n/)) {
        if (!tokenSet.has(l)) continue;
        if (seen.has(l) && doubled.length < 5) doubled.push(`${l} (twice in ${rel} on ${s.name})`);
        seen.add(l);
      }
    }
  }
  let filesLost = 0;
  for (const [rel, want] of expectedFiles) {
    const missing = snaps.filter((s) => !s.snap.files.get(rel)?.equals(want)).map((s) => s.name);
    if (missing.length === 0) continue;
    filesLost++;
    if (lostSample.length < 10) lostSample.push(`file ${rel} (not on ${missing.join(', ')})`);
  }
  const identical = snaps.every((s) => sameTree(s.snap, snaps[0].snap));
  return { linesWritten: tokens.length, linesLost, filesExpected: expectedFiles.size, filesLost, lostSample, doubled, identical, differ: identical ? [] : differences(snaps), leftovers: snaps.reduce((n, s) => n + s.snap.leftovers.length, 0) };
}

/**
 * Waits until the oracle is satisfied or `timeoutMs` passes (a peer may still be catching up), then
 * returns the verdict as it stands: a timeout is not an error, it is what gets reported.
 */
export async function settle(
  dirs: Array<{ name: string; dir: string }>,
  tokens: string[],
  timeoutMs: number,
  expectedFiles?: Map<string, Buffer>,
): Promise<Verdict> {
  // Reading whole trees is not free on a shared machine: poll a few times a second, not continuously.
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = judge(dirs, tokens, expectedFiles);
    if ((v.linesLost === 0 && v.filesLost === 0 && v.identical && !v.doubled.length) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}
