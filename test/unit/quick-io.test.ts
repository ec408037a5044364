/**
 * QuickIo (src/sync/quick-io.ts): many small file-system calls made synchronously in slices. What
 * each call does on a real disk (the same as the promise API's), that the event loop still turns
 * during a long run of them, and that only calls slow several times in a row send the rest through
 * the promise API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { QuickIo } from '../../src/sync/quick-io';
import { joinSliced, Slicer, sortSliced } from '../../src/sync/slicer';
import { writeWhole } from '../../src/sync/state-dir';
import { tempDir } from '../helpers/tree';
import { turnsDuring } from '../helpers/turns';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // a call that blocks (a slow disk, a collection inside it)
  }
}

/** Runs `work`, counting the steps it reports in each turn of the event loop (the last turn's too). */
async function stepsPerTurn<T>(work: (step: () => void) => Promise<T>): Promise<{ result: T; turns: number[] }> {
  let steps = 0;
  const turns: number[] = [];
  let stop = false;
  const tick = () => {
    turns.push(steps);
    steps = 0;
    if (!stop) setImmediate(tick);
  };
  setImmediate(tick);
  const result = await work(() => steps++);
  stop = true;
  turns.push(steps);
  return { result, turns };
}

test('quick file-system calls read, look at, write, link and remove files as the promise API does', async (t) => {
  const root = tempDir();
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const io = new QuickIo();
  const file = path.join(root, 'a.txt');
  fs.writeFileSync(file, 'hello');
  fs.mkdirSync(path.join(root, 'dir'));
  fs.symlinkSync('a.txt', path.join(root, 'link'));

  assert.equal((await io.readIfFile(file))?.toString(), 'hello');
  assert.equal(await io.readIfFile(path.join(root, 'link')), undefined, 'a link is not followed');
  assert.equal(await io.readIfFile(path.join(root, 'dir')), undefined, 'a folder is no file');
  assert.equal(await io.readIfFile(path.join(root, 'missing')), undefined);
  assert.equal(await io.read(path.join(root, 'missing')), undefined);
  assert.ok((await io.lstat(path.join(root, 'link')))?.isSymbolicLink());
  assert.equal(await io.lstat(path.join(root, 'missing', 'deeper')), undefined, 'missing (ENOENT, ENOTDIR) is undefined, not an error');

  await io.mkdir(path.join(root, 'dir')); // exists: no error
  await io.mkdir(path.join(root, 'new'));
  assert.ok(fs.statSync(path.join(root, 'new')).isDirectory());

  // writeNew never replaces: the file there keeps its bytes.
  await assert.rejects(io.writeNew(file, Buffer.from('other'), 0o644), /EEXIST/);
  assert.equal(fs.readFileSync(file, 'utf8'), 'hello');
  const temp = path.join(root, '.t');
  await io.writeNew(temp, Buffer.from('x'.repeat(100_000)), 0o644);
  await assert.rejects(io.link(temp, file), /EEXIST/);
  await io.link(temp, path.join(root, 'b.txt'));
  await io.unlink(temp);
  await io.unlink(temp, true); // gone already: no error when forced
  await assert.rejects(io.unlink(temp), /ENOENT/);
  assert.equal(fs.readFileSync(path.join(root, 'b.txt'), 'utf8'), 'x'.repeat(100_000));
  await io.writeFile(path.join(root, 'b.txt'), 'in place', 0o600);
  assert.equal(fs.readFileSync(path.join(root, 'b.txt'), 'utf8'), 'in place');
  assert.equal(io.slow, false);
});

test('a FIFO where a file was is not read (a synchronous read would hold the event loop until someone writes)', async (t) => {
  if (process.platform === 'win32') return t.skip('no FIFOs');
  const root = tempDir();
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const fifo = path.join(root, 'pipe');
  execFileSync('mkfifo', [fifo]);
  const io = new QuickIo();
  assert.equal(await io.readIfFile(fifo), undefined);
  assert.equal(await io.read(fifo), undefined);
  fs.symlinkSync('pipe', path.join(root, 'to-pipe'));
  assert.equal(await io.read(path.join(root, 'to-pipe')), undefined, 'followed, still no regular file');
});

test('a long run of synchronous calls hands the event loop back every few milliseconds', async () => {
  const io = new QuickIo();
  const { turns } = await turnsDuring(async () => {
    for (let i = 0; i < 200; i++) await io.run(() => busy(1), () => Promise.resolve());
  });
  assert.ok(turns >= 5, `the loop turned ${turns} times during 200 ms of calls`);
  assert.equal(io.slow, false, 'calls of 1 ms are not slow');
});

test('runs at once share one slice of the event loop: a turn does not last the sum of their budgets', async () => {
  // Two runs (a join's scan and writers) each a step of 2 ms at a time; a ticker counts the turns.
  const { turns } = await stepsPerTurn(async (step) => {
    const run = async (io: QuickIo) => {
      for (let i = 0; i < 60; i++) await io.run(() => void (busy(2), step()), () => Promise.resolve());
    };
    await Promise.all([run(new QuickIo()), run(new QuickIo())]);
  });
  const most = Math.max(...turns);
  // One slice (12 ms) is 6 steps; the run resumed after the other spent it does one step. A budget
  // per run made it 12.
  assert.ok(most <= 9, `at most ${most} steps in one turn`);
});

test('tasks that share one slicer (a join\'s 32 writers) are one loop: one least share a turn, not one each', async () => {
  const slicer = new Slicer();
  let next = 0;
  const { turns } = await stepsPerTurn(async (step) => {
    const worker = async () => {
      while (next < 600) {
        next++;
        await slicer.maybeYield();
        busy(1);
        step();
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
  });
  // One slice (12 ms) is about 12 steps. A least share of 2 ms for each task back in a turn made it
  // 12 + 31 × 2 = 74. (The first turn has a step of each task: all 32 start before any has worked.)
  const most = Math.max(...turns.slice(2));
  assert.ok(most <= 16, `at most ${most} steps in one turn after the start (${turns.join(' ')})`);
  assert.equal(next, 600);
});

test('only calls slow several times in a row send the rest through the promise API', async () => {
  const io = new QuickIo();
  const ran: string[] = [];
  const call = (ms: number) => io.run(() => (busy(ms), ran.push('sync')), async () => void ran.push('promised'));
  // One slow call (a garbage collection inside it), then fast ones: still synchronous.
  await call(25);
  await call(0);
  await call(25);
  await call(25);
  await call(0);
  assert.equal(io.slow, false);
  // Three in a row: a slow disk.
  await call(25);
  await call(25);
  await call(25);
  assert.equal(io.slow, true);
  await call(0);
  assert.deepEqual(ran, [...Array(8).fill('sync'), 'promised']);
});

test('a sliced sort hands the event loop back while it sorts, and sorts as Array.prototype.sort does', async () => {
  let seed = 11;
  const items = Array.from({ length: 20_000 }, (_, i) => ({ key: (seed = (seed * 1103515245 + 12345) % 2147483648) % 5000, i }));
  const { result: sorted, turns } = await stepsPerTurn((compared) =>
    sortSliced(items, (a, b) => {
      compared();
      busy(0.001);
      return a.key - b.key;
    }),
  );
  const total = turns.reduce((a, b) => a + b, 0);
  // All at once it is one turn of ~280,000 comparisons (0.3 s here); sliced, a turn is one slice
  // (12 ms) and at most one run of 1,024 (~10,000 comparisons).
  assert.ok(Math.max(...turns) < total / 4, `at most ${Math.max(...turns)} of ${total} comparisons in one turn`);
  // Stable, as Array.prototype.sort: equal keys keep their order.
  assert.deepEqual(sorted, [...items].sort((a, b) => a.key - b.key));
});

test('joinSliced gives one string per slice, which joined are the pieces joined with the separator; writeWhole writes them one at a time as one file', async (t) => {
  const items = Array.from({ length: 20_000 }, (_, i) => i);
  const piece = (i: number) => {
    busy(0.002);
    return `"f${i}":{"hash":"${i.toString(16)}"}`;
  };
  for (const separator of [',', '', '\n']) {
    const strings = await joinSliced(items, piece, separator);
    assert.equal(strings.join(''), items.map(piece).join(separator), `separator ${JSON.stringify(separator)}`);
    if (separator === ',') assert.ok(strings.length > 1, `${strings.length} strings: the work took several slices`);
  }
  assert.deepEqual(await joinSliced([], piece, ','), []);
  const root = tempDir();
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const file = path.join(root, 'list.json');
  fs.writeFileSync(file, 'the old list');
  const strings = await joinSliced(items.slice(0, 3000), piece, ',');
  await writeWhole(file, ['{', ...strings, '}'], 0o600);
  const written = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, { hash: string }>;
  assert.equal(Object.keys(written).length, 3000);
  assert.equal(written.f2999.hash, (2999).toString(16));
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(fs.readdirSync(root), ['list.json'], 'no temporary file left');
});
