/**
 * `rm -rf` of one peer's whole folder (a joiner's, then the sharer's) while the others keep working:
 * that peer must stop sharing from the vanished folder and say so; nobody else loses a file or a line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { project } from './joins';
import { settle } from './oracle';
import { startSession } from './peers';
import { dirsOf, makePeer, seeded, sleep, Tally, tokensOf, withPeers, writerFor, type ScenarioContext, type ScenarioResult } from './scenario';

export async function folderRemoved(ctx: ScenarioContext): Promise<ScenarioResult> {
  const t = new Tally('folder-removed');
  const random = seeded(ctx, 6000);
  for (let trial = 0; trial < ctx.trials; trial++) {
    const tctx = { ...ctx, root: path.join(ctx.root, `t${trial}`) };
    const files = project(random, 30, 2000, `fr${trial}`);
    const peers = ['s', 'a', 'b'].map((n) => makePeer(tctx, n, n === 's' ? { ...files, 'fr-s.txt': 'start\n', 'fr-a.txt': 'start\n' } : {}));
    const expected = new Map(Object.entries(files));
    await withPeers(peers, async () => {
      await startSession(peers[0], peers.slice(1));
      const victim = trial % 2 === 0 ? peers[2] : peers[0];
      const survivors = peers.filter((p) => p !== victim);
      const writers = survivors.map((p, i) =>
        writerFor(p, { id: `fr${trial}-${p.name}`, file: `fr-${p.name === 's' ? 's' : 'a'}.txt`, mode: 'append', intervalMs: { min: 50, max: 200 }, random: seeded(ctx, 6000 + trial * 10 + i) }),
      );
      writers.forEach((w) => w.start());
      await sleep(500);
      const toldBefore = victim.told().length;
      // `rm -rf` while the peer may still write into the folder: again until it is gone, as a person would.
      for (let i = 0; i < 20 && fs.existsSync(victim.dir); i++) {
        try {
          fs.rmSync(victim.dir, { recursive: true, force: true });
        } catch {
          await sleep(50);
        }
      }
      await sleep(ctx.durationMs);
      writers.forEach((w) => w.stop());
      const v = await settle(dirsOf(survivors), tokensOf(writers), ctx.settleMs, expected);
      const label = `trial ${trial} (${victim.name === 's' ? "the sharer's" : "a joiner's"} folder removed)`;
      t.add(v, label);
      if (victim.told().length === toldBefore) t.finding(`${label}: the peer whose folder vanished said nothing`);
      ctx.log(`folder-removed ${label}: ${v.filesLost}/${v.filesExpected} files and ${v.linesLost}/${v.linesWritten} lines lost on the others`);
    });
  }
  return t.done();
}
