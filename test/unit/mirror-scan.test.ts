/**
 * What sharing a folder takes: .gitignore files, the exclude list and the caps, and what is left out,
 * always with a reason. Real folders with real symlinks, FIFOs and sockets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ExcludeRules, scanFolder } from '../../src/sync/scan';
import { tempDir, writeTree } from '../helpers/tree';

const shared = (r: { files: Array<{ rel: string }> }) => r.files.map((f) => f.rel).sort();
const reasonFor = (r: { skipped: Array<{ rel: string; reason: string }> }, rel: string) => r.skipped.find((s) => s.rel === rel)?.reason;

test('.gitignore files at any depth, negations, the exclude list and the default excludes are honoured', async () => {
  const root = tempDir();
  writeTree(root, {
    '.gitignore': 'dist/\n*.log\n!keep.log\n',
    'src/.gitignore': '/generated.ts\n',
    'src/index.ts': 'x',
    'src/generated.ts': 'x',
    'src/sub/generated.ts': 'only the top one of src is ignored',
    'dist/bundle.js': 'x',
    'debug.log': 'x',
    'keep.log': 'x',
    'secrets/key.pem': 'x',
    '.git/config': '[core]',
    'sub/.git': 'gitdir: ../elsewhere', // a submodule's .git file
    'node_modules/pkg/index.js': 'x',
    'a/node_modules/pkg/index.js': 'x',
    '.hyperpair/state': 'x',
    '.abc.hyperpair-tmp': 'x',
  });
  const { report } = await scanFolder(root, { excludes: ['secrets/'] });
  assert.deepEqual(shared(report), ['.gitignore', 'keep.log', 'src/.gitignore', 'src/index.ts', 'src/sub/generated.ts']);
  assert.equal(report.totalBytes, report.files.reduce((n, f) => n + f.size, 0));
  assert.deepEqual(
    [...report.excluded].sort(),
    ['.abc.hyperpair-tmp', '.git/', '.hyperpair/', 'a/node_modules/', 'debug.log', 'dist/', 'node_modules/', 'secrets/', 'src/generated.ts', 'sub/.git'],
  );
  assert.deepEqual(report.skipped, []);
});

test('symlinks, FIFOs, sockets and unportable names are left out and reported, never followed', async () => {
  const root = tempDir();
  const outside = tempDir();
  writeTree(outside, { 'secret.txt': 'do not share' });
  writeTree(root, { 'ok.txt': 'fine', 'bad:name.txt': 'colon', 'trailing.': 'dot', ['cafe\u0301.txt']: 'nfd' });
  fs.symlinkSync(outside, path.join(root, 'dir-link'));
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'file-link'));
  execFileSync('mkfifo', [path.join(root, 'pipe')]);
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(path.join(root, 'sock'), resolve));
  try {
    const { report } = await scanFolder(root);
    assert.deepEqual(shared(report), ['ok.txt']);
    assert.match(reasonFor(report, 'dir-link') ?? '', /symbolic link that is not shared: it points to an absolute path, outside the workspace/);
    assert.match(reasonFor(report, 'file-link') ?? '', /symbolic link that is not shared: it points to an absolute path/);
    assert.match(reasonFor(report, 'pipe') ?? '', /not a regular file/);
    assert.match(reasonFor(report, 'sock') ?? '', /not a regular file/);
    assert.match(reasonFor(report, 'bad:name.txt') ?? '', /every platform: control or reserved character/);
    assert.match(reasonFor(report, 'trailing.') ?? '', /ends with a dot/);
    assert.match(reasonFor(report, 'cafe\u0301.txt') ?? '', /NFC/);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('the per-file, total and file-count caps leave files out with the limit in the reason', async () => {
  const root = tempDir();
  writeTree(root, { 'a.bin': Buffer.alloc(2000), 'b.txt': 'x'.repeat(600), 'c.txt': 'x'.repeat(600), 'd.txt': 'x' });
  const bySize = (await scanFolder(root, { maxFileBytes: 1024, maxTotalBytes: 1000 })).report;
  assert.deepEqual(shared(bySize), ['b.txt', 'd.txt']);
  assert.match(reasonFor(bySize, 'a.bin') ?? '', /larger than the 1\.0 KB limit per file/);
  assert.match(reasonFor(bySize, 'c.txt') ?? '', /over the 1000 B limit for the workspace/);
  assert.equal(bySize.totalBytes, 601);
  const byCount = (await scanFolder(root, { maxFiles: 2 })).report;
  assert.equal(byCount.files.length, 2);
  assert.equal(byCount.skipped.filter((s) => /limit of 2 files/.test(s.reason)).length, 2);
});

test('rules read .gitignore files again when they change, and forget deleted ones', async () => {
  const root = tempDir();
  writeTree(root, { 'sub/.gitignore': '*.tmp\n', 'sub/x.tmp': '' });
  const rules = new ExcludeRules();
  await rules.loadAll(root);
  assert.equal(rules.excluded('sub/x.tmp', false), true);
  assert.equal(rules.excluded('x.tmp', false), false, 'a nested .gitignore only applies below its folder');
  assert.equal(rules.excluded('.git/hooks/pre-commit', false), true);
  assert.equal(rules.excluded('deep/.git', false), true);
  fs.writeFileSync(path.join(root, 'sub/.gitignore'), '*.out\n');
  await rules.loadGitignore(path.join(root, 'sub'), 'sub');
  assert.equal(rules.excluded('sub/x.tmp', false), false);
  assert.equal(rules.excluded('sub/y.out', false), true);
  fs.rmSync(path.join(root, 'sub/.gitignore'));
  await rules.loadGitignore(path.join(root, 'sub'), 'sub');
  assert.equal(rules.excluded('sub/y.out', false), false);
});
