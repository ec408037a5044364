/**
 * Scenarios around a join: the sharer leaves while someone is receiving files; the joiner's disk is full.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { settle } from './oracle';
import { startSession } from './peers';
import { dirsOf, makePeer, seeded, sleep, Tally, tokensOf, until, withPeers, writerFor, type ScenarioContext, type ScenarioResult } from './scenario';

/** A project of `count` text files of about `bytes` each, seeded, with lines that are unique. */
export function project(random: () => number, count: number, bytes: number, label: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < count; i++) {
    const lines: string[] = [];
    let size = 0;
    for (let k = 0; size < bytes; k++) {
      const line = `${label}-f${i}-l${k} ${Math.floor(random() * 1e9).toString(36)}`;
      lines.push(line);
      size += line.length + 1;
    }
    files[`src/m${i % 10}/file-${i}.txt`] = Buffer.from(lines.join('\n') + '\n');
  }
  return files;
}

/** How soon after the sharer left a join must complete. */
const JOIN_AFTER_LEAVE_MS = 20_000;

/**
 * A second joiner is receiving files when the sharer leaves (Ctrl+C or kill -9): it must complete from
 * the peer that stays, promptly, with every file whole.
 */
export async function sharerLeavesMidJoin(ctx: ScenarioContext): Promise<ScenarioResult> {
  const t = new Tally('sharer-leaves-mid-join');
  const random = seeded(ctx, 3000);
  for (let trial = 0; trial < ctx.trials; trial++) {
    const files = project(random, 150, 40_000, `mj${trial}`);
    const s = makePeer({ ...ctx, root: path.join(ctx.root, `t${trial}`) }, 's', files);
    const [a, b] = ['a', 'b'].map((n) => makePeer({ ...ctx, root: path.join(ctx.root, `t${trial}`) }, n));
    const expected = new Map(Object.entries(files));
    await withPeers([s, a, b], async () => {
      const code = await startSession(s, [a]);
      b.join(code);
      // Leave as soon as b has started receiving (its first progress line), not before.
      const receiving = await until(() => b.runEvents().some((e) => e.event === 'progress') || b.has('ready'), 60_000, 5);
      const midJoin = receiving && !b.has('ready');
      const how = trial % 2 === 0 ? 'Ctrl+C' : 'kill -9';
      if (how === 'Ctrl+C') await s.stop(10_000);
      else await s.kill();
      const leftAt = Date.now();
      let joinedAfterMs: number | undefined;
      try {
        await b.waitFor('ready', ctx.settleMs + 20_000);
        joinedAfterMs = Date.now() - leftAt;
      } catch (err) {
        t.finding(`trial ${trial}: the joiner did not complete after the sharer left (${how}): ${(err as Error).message.slice(0, 200)}`);
      }
      const v = await settle(dirsOf([a, b]), [], ctx.settleMs, expected);
      t.add(v, `trial ${trial} (${how}${midJoin ? '' : ', the join had already finished'})`);
      if (!midJoin) t.finding(`trial ${trial}: the join finished before the sharer left (not a mid-join trial)`);
      t.note(`trial ${trial} (${how}): joined ${joinedAfterMs === undefined ? 'never' : `${joinedAfterMs} ms after the sharer left`}`);
      ctx.log(`sharer-leaves-mid-join trial ${trial} (${how}): ${v.filesLost}/${v.filesExpected} files lost, joined ${joinedAfterMs === undefined ? 'never' : `${joinedAfterMs} ms after the sharer left`}`);
      // A sharer killed without a word is passed over after 10 s of silence (docs/PROTOCOL.md §6.2), so
      // the bound is that plus a margin for a loaded machine; the bug was a stall of 30 s and more.
      if (joinedAfterMs !== undefined && joinedAfterMs > JOIN_AFTER_LEAVE_MS) t.finding(`trial ${trial}: the join completed only ${joinedAfterMs} ms after the sharer left (${how})`);
    });
  }
  return t.done();
}

function mountTmpfs(dir: string, size: string): string | undefined {
  if (process.platform !== 'linux') return 'a tmpfs needs Linux';
  if (process.getuid?.() !== 0) return 'mounting a small tmpfs needs root';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `mount -t tmpfs was refused: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`;
  }
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  } catch {
    // not mounted
  }
}

/**
 * The joiner's disk (a small tmpfs) fills up during the join while the sharer keeps writing. The joiner
 * must not report success for files it could not write; once space is freed, everything arrives.
 */
export async function fullDisk(ctx: ScenarioContext): Promise<ScenarioResult> {
  const t = new Tally('full-disk');
  const random = seeded(ctx, 4000);
  for (let trial = 0; trial < ctx.trials; trial++) {
    const troot = path.join(ctx.root, `t${trial}`);
    const disk = path.join(troot, 'j');
    fs.mkdirSync(disk, { recursive: true });
    const why = mountTmpfs(disk, '2m');
    if (why) {
      t.result.skipped = why;
      return t.done();
    }
    try {
      const files = project(random, 20, 80_000, `fd${trial}`); // 1.6 MB
      const s = makePeer({ ...ctx, root: troot }, 's', { ...files, 'log.txt': 'start\n' });
      const j = makePeer({ ...ctx, root: troot }, 'j');
      // Most of the small disk is taken: about half of the project fits.
      const filler = path.join(disk, 'filler');
      fs.writeFileSync(filler, Buffer.alloc(1024 * 1024));
      const expected = new Map(Object.entries(files));
      await withPeers([s, j], async () => {
        s.share();
        const code = String((await s.waitFor('code', 60_000)).code);
        await s.waitFor('ready', 60_000);
        const writer = writerFor(s, { id: `fd${trial}-s`, file: 'log.txt', mode: 'append', intervalMs: { min: 50, max: 150 }, random });
        writer.start();
        j.join(code);
        // The join either completes (then it must be whole) or says why not; it must not hang silently.
        await until(() => j.has('ready') || !j.running || j.told().some((m) => /space|ENOSPC|full/i.test(m)), 60_000, 100);
        const joined = j.runEvents().find((e) => e.event === 'joined');
        const onDisk = [...expected.keys()].filter((rel) => fs.existsSync(path.join(j.dir, rel))).length;
        // A join that says it is incomplete (`complete: false`, with what failed) tells the truth.
        if (joined && joined.complete !== false && onDisk < expected.size) {
          t.finding(`trial ${trial}: the joiner said "Joined: ${joined.files} files" (complete) with ${onDisk} of ${expected.size} on its disk`);
        }
        if (!j.told().some((m) => /space|ENOSPC|full/i.test(m)) && onDisk < expected.size) {
          t.finding(`trial ${trial}: the full disk was not reported to the user (stderr: ${j.stderr.trim().split('\n').slice(-2).join(' | ').slice(0, 200)})`);
        }
        // Space comes back: what could not be written is retried, and the sharer's lines keep arriving.
        fs.rmSync(filler);
        if (!j.running) {
          j.rejoin(code);
          await j.waitFor('ready', 60_000).catch((err: Error) => t.finding(`trial ${trial}: rejoin after freeing space failed: ${err.message.slice(0, 200)}`));
        }
        await sleep(ctx.durationMs);
        writer.stop();
        const v = await settle(dirsOf([s, j]), tokensOf([writer]), ctx.settleMs, expected);
        t.add(v, `trial ${trial}`);
        ctx.log(`full-disk trial ${trial}: ${v.filesLost}/${v.filesExpected} files and ${v.linesLost}/${v.linesWritten} lines lost after space was freed`);
      });
    } finally {
      unmount(disk);
    }
  }
  return t.done();
}
