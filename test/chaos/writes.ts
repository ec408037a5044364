/**
 * Scenarios where people keep writing while things go wrong: concurrent writers to one file on several
 * disks; kill -9 and restart of any peer with offline edits; a peer that creates a file and leaves.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { settle } from './oracle';
import { startSession, type ChaosPeer } from './peers';
import { dirsOf, makePeer, seeded, sleep, Tally, tokensOf, until, withPeers, writerFor, type ScenarioContext, type ScenarioResult } from './scenario';
import type { Writer, WriteMode } from './writers';

interface WriteSetting {
  mode: WriteMode;
  min: number;
  max: number;
  /** Each writer starts this much after the previous one. */
  stagger: number;
}

/** From the issue's reproduction (200 ms, the second writer 100 ms later) to 5 ms bursts and 1 s saves. */
export const WRITE_SETTINGS: WriteSetting[] = [
  { mode: 'append', min: 200, max: 200, stagger: 100 },
  { mode: 'rewrite', min: 50, max: 50, stagger: 17 },
  { mode: 'append', min: 5, max: 5, stagger: 2 },
  { mode: 'rewrite', min: 1000, max: 1000, stagger: 300 },
  { mode: 'append', min: 100, max: 600, stagger: 0 },
  { mode: 'rewrite', min: 5, max: 1000, stagger: 0 },
];

const describe = (s: WriteSetting) => `${s.mode} every ${s.min === s.max ? `${s.min}` : `${s.min}–${s.max}`} ms`;

/** A new file made on one peer, present on all before anyone writes to it. */
async function sharedFile(origin: ChaosPeer, all: ChaosPeer[], rel: string, t: Tally): Promise<boolean> {
  fs.writeFileSync(path.join(origin.dir, rel), 'start\n');
  const ok = await until(() => all.every((p) => fs.existsSync(path.join(p.dir, rel))), 30_000, 200);
  if (!ok) t.finding(`${rel}, created on ${origin.name}, did not reach every peer within 30 s`);
  return ok;
}

function writersOn(peers: ChaosPeer[], ctx: ScenarioContext, rel: string, s: WriteSetting, label: string, salt: number): Writer[] {
  return peers.map((p, i) =>
    writerFor(p, {
      id: `${label}-${p.name}`,
      file: rel,
      mode: s.mode,
      intervalMs: { min: s.min, max: s.max },
      offsetMs: i * s.stagger,
      random: seeded(ctx, salt + i),
    }),
  );
}

export async function concurrentWriters(ctx: ScenarioContext): Promise<ScenarioResult> {
  const t = new Tally('concurrent-writers');
  const peers = ['s', 'a', 'b'].map((n) => makePeer(ctx, n));
  await withPeers(peers, async () => {
    await startSession(peers[0], peers.slice(1));
    await writeTrials(ctx, peers, t, 'cw');
  });
  return t.done();
}

/**
 * `ctx.trials` trials on running peers, each on a new file and with the next of WRITE_SETTINGS: every
 * peer's user writes to it at once for `ctx.durationMs`, then the oracle.
 */
export async function writeTrials(ctx: ScenarioContext, peers: ChaosPeer[], t: Tally, label: string): Promise<void> {
  for (let trial = 0; trial < ctx.trials; trial++) {
    const s = WRITE_SETTINGS[trial % WRITE_SETTINGS.length];
    const rel = `${label}-${trial}.txt`;
    if (!(await sharedFile(peers[trial % peers.length], peers, rel, t))) continue;
    const writers = writersOn(peers, ctx, rel, s, `${label}${trial}`, trial * 10);
    writers.forEach((w) => w.start());
    await sleep(ctx.durationMs);
    writers.forEach((w) => w.stop());
    const v = await settle(dirsOf(peers), tokensOf(writers), ctx.settleMs);
    t.add(v, `trial ${trial} (${describe(s)})`);
    ctx.log(`${t.result.scenario} trial ${trial} (${describe(s)}): ${v.linesLost}/${v.linesWritten} lost${v.identical ? '' : ', trees differ'}`);
  }
}

/**
 * kill -9 of any peer (the sharer too) while everyone writes; while it is down its user keeps editing
 * its file, edits another peer's file and creates a new one; then it joins again into the same folder.
 */
export async function killRestart(ctx: ScenarioContext): Promise<ScenarioResult> {
  const t = new Tally('kill-restart');
  const names = ['s', 'a', 'b'];
  const own = (p: ChaosPeer) => `kr-${p.name}.txt`;
  const peers = names.map((n) => makePeer(ctx, n, n === 's' ? Object.fromEntries(names.map((m) => [`kr-${m}.txt`, 'start\n'])) : {}));
  const random = seeded(ctx, 1000);
  await withPeers(peers, async () => {
    const code = await startSession(peers[0], peers.slice(1));
    for (let trial = 0; trial < ctx.trials; trial++) {
      const s = WRITE_SETTINGS[trial % WRITE_SETTINGS.length];
      // Each writes its own file, so that what is lost here is lost by the restart, not by the write
      // races of concurrent-writers; the offline edits below also touch another peer's file.
      const writers = peers.map((p, i) =>
        writerFor(p, { id: `kr${trial}-${p.name}`, file: own(p), mode: s.mode, intervalMs: { min: Math.max(s.min, 20), max: Math.max(s.max, 20) }, offsetMs: i * s.stagger, random: seeded(ctx, 1000 + trial * 10 + i) }),
      );
      writers.forEach((w) => w.start());
      const victim = peers[Math.floor(random() * peers.length)];
      await sleep(random() * ctx.durationMs * 0.5);
      await victim.kill();
      // Offline: the writer on its folder keeps going, and a new file appears there.
      const offline = writerFor(victim, { id: `kr${trial}-${victim.name}-new`, file: `offline-${trial}.txt`, mode: 'append', intervalMs: { min: 1, max: 1 }, random });
      const other = peers[(peers.indexOf(victim) + 1) % peers.length];
      const offlineOther = writerFor(victim, { id: `kr${trial}-${victim.name}-other`, file: own(other), mode: 'append', intervalMs: { min: 1, max: 1 }, random });
      for (let i = 0; i < 3; i++) {
        offline.writeOnce();
        offlineOther.writeOnce();
      }
      await sleep(300 + random() * 1500);
      victim.rejoin(code);
      try {
        await victim.waitFor('ready', 60_000);
      } catch (err) {
        t.finding(`trial ${trial}: ${victim.name} did not come back: ${(err as Error).message.slice(0, 300)}`);
      }
      await sleep(ctx.durationMs * 0.5);
      writers.forEach((w) => w.stop());
      const v = await settle(dirsOf(peers), tokensOf([...writers, offline, offlineOther]), ctx.settleMs);
      t.add(v, `trial ${trial} (${victim.name} killed, ${describe(s)})`);
      ctx.log(`kill-restart trial ${trial} (${victim.name}): ${v.linesLost}/${v.linesWritten} lost${v.identical ? '' : ', trees differ'}`);
      if (!victim.running) victim.rejoin(code); // give the next trial its three peers if a restart failed
      await victim.waitFor('ready', 60_000).catch(() => undefined);
    }
  });
  return t.done();
}

/**
 * A peer creates a file and leaves within moments (Ctrl+C or kill -9) while the others keep editing;
 * then it comes back. Nobody may freeze: the others' edits keep flowing both ways, Ctrl+C stops within
 * seconds, the returning peer completes its join, and its new file ends up everywhere.
 */
export async function createThenLeave(ctx: ScenarioContext): Promise<ScenarioResult> {
  const t = new Tally('create-then-leave');
  const random = seeded(ctx, 2000);
  // A session of its own per trial: a session that froze in one trial would fail all the next.
  for (let trial = 0; trial < ctx.trials; trial++) {
    const tctx = { ...ctx, root: path.join(ctx.root, `t${trial}`) };
    const [s, a, b] = ['s', 'a', 'b'].map((n) => makePeer(tctx, n, n === 's' ? { 'ctl-s.txt': 'start\n', 'ctl-a.txt': 'start\n' } : {}));
    await withPeers([s, a, b], async () => {
      const code = await startSession(s, [a, b]);
      // Each of the two who stay writes its own file: what this scenario proves is that edits keep
      // flowing both ways, apart from the write races that concurrent-writers covers.
      const writers = [s, a].map((p, i) =>
        writerFor(p, { id: `ctl${trial}-${p.name}`, file: `ctl-${p.name}.txt`, mode: trial % 2 ? 'rewrite' : 'append', intervalMs: { min: 100, max: 300 }, offsetMs: i * 50, random: seeded(ctx, 2000 + trial * 10 + i) }),
      );
      writers.forEach((w) => w.start());
      const created = writerFor(b, { id: `ctl${trial}-b-new`, file: `created-${trial}.txt`, mode: 'append', intervalMs: { min: 1, max: 1 }, random });
      for (let i = 0; i < 5; i++) created.writeOnce();
      const delay = Math.round(random() * 1500);
      await sleep(delay);
      const how = `${trial % 2 === 0 ? 'Ctrl+C' : 'kill -9'} ${delay} ms after creating`;
      if (trial % 2 === 0) {
        if (!(await b.stop(10_000))) t.finding(`trial ${trial}: Ctrl+C did not stop the peer within 10 s (killed)`);
      } else await b.kill();
      // The two who stayed must keep syncing with each other while b is away. Judged with the writers
      // paused: while each still writes every 100–300 ms, two trees are identical only in an instant
      // when no write is on its way, which a loaded machine may not offer within the settle time (the
      // finding "not identical, no line missing" seen once under heavy load, never alone).
      await sleep(ctx.durationMs);
      writers.forEach((w) => w.stop());
      const stayed = await settle(dirsOf([s, a]), tokensOf(writers), ctx.settleMs);
      if (stayed.linesLost > 0 || !stayed.identical || stayed.doubled.length) {
        const what = [...stayed.lostSample, ...stayed.doubled, ...stayed.differ].slice(0, 6).join('; ');
        t.finding(`trial ${trial}: after b left (${how}), s and a stopped syncing: ${stayed.linesLost} of their lines not on both${stayed.identical ? '' : ', trees differ'} (${what})`);
      }
      writers.forEach((w) => w.start());
      b.rejoin(code);
      try {
        await b.waitFor('ready', 60_000);
      } catch (err) {
        const last = b.runEvents().filter((e) => e.event === 'progress').pop();
        t.finding(`trial ${trial}: b did not complete its join again${last ? ` (stuck at ${last.files}/${last.totalFiles} files)` : ''}: ${(err as Error).message.slice(0, 200)}`);
      }
      await sleep(ctx.durationMs * 0.3);
      writers.forEach((w) => w.stop());
      const v = await settle(dirsOf([s, a, b]), [...tokensOf(writers), ...created.written], ctx.settleMs);
      t.add(v, `trial ${trial} (${how})`);
      ctx.log(`create-then-leave trial ${trial} (${how}): ${v.linesLost}/${v.linesWritten} lost${v.identical ? '' : ', trees differ'}`);
    });
  }
  return t.done();
}
