/**
 * Real repositories: what a real `git` says is shared (tracked files even under node_modules/ or an
 * ignored path, untracked unless ignored), symbolic links in and out of the tree, the scan cache,
 * and joining into your own clone of the same repository with local changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { contentHash } from '../../src/sync/hash';
import { judgeLinkTarget } from '../../src/sync/symlinks';
import { scanFolder } from '../../src/sync/scan';
import { ScanCache } from '../../src/sync/scan-cache';
import { folderStateDir } from '../../src/sync/state-dir';
import { usePeers } from '../helpers/peers';
import { waitFor } from '../helpers/testnet';
import { readTree, tempDir, writeTree } from '../helpers/tree';

const peers = usePeers();
const shared = (r: { files: Array<{ rel: string }> }) => r.files.map((f) => f.rel).sort();
const reasonFor = (r: { skipped: Array<{ rel: string; reason: string }> }, rel: string) => r.skipped.find((s) => s.rel === rel)?.reason;

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.org', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' });
}

/** A repository with tracked files where a plain .gitignore walk would not look, committed. */
function repo(): string {
  const root = tempDir();
  writeTree(root, {
    '.gitignore': 'node_modules/\nbuild/\n*.log\n',
    'src/index.ts': 'export const x = 1;\n',
    'node_modules/fixture/index.js': 'module.exports = "tracked on purpose";\n',
    'build/keep.js': 'tracked although build/ is ignored\n',
    'assets/logo.bin': Uint8Array.from({ length: 3000 }, (_, i) => (i * 31) & 255),
  });
  git(root, 'init', '-q');
  git(root, 'add', '-f', '.');
  git(root, 'commit', '-q', '-m', 'initial');
  // Not committed: an untracked file (shared), ignored ones (not), an installed dependency (not).
  writeTree(root, { 'notes.md': 'draft\n', 'build/out.js': 'generated', 'debug.log': 'x', 'node_modules/dep/index.js': 'installed' });
  return root;
}

test('in a git repository: tracked files always (even under node_modules/ or an ignored path), untracked unless ignored', async () => {
  const root = repo();
  fs.rmSync(path.join(root, 'src/index.ts')); // deleted, not committed yet: not shared
  const { report, rules } = await scanFolder(root);
  assert.equal(report.mode, 'git');
  assert.deepEqual(shared(report), ['.gitignore', 'assets/logo.bin', 'build/keep.js', 'node_modules/fixture/index.js', 'notes.md']);
  assert.ok(report.excluded.includes('build/out.js'), `ignored files are listed as left out: ${report.excluded.join(', ')}`);
  assert.ok(report.excluded.includes('debug.log'));
  assert.ok(report.excluded.some((e) => e.startsWith('node_modules/dep')));
  assert.ok(!report.files.some((f) => f.rel.startsWith('.git/')));
  // The same rules decide for files that appear later, and for what a peer may write here.
  assert.equal(rules.excluded('node_modules/fixture/index.js', false), false);
  assert.equal(rules.excluded('node_modules', true), false, 'a folder holding tracked files is followed');
  assert.equal(rules.excluded('node_modules/dep/index.js', false), true);
  assert.equal(rules.excluded('build/new.js', false), true);
  assert.equal(rules.excluded('.git/config', false), true);
  // Outside git (or asked not to use it): today's rules.
  const walked = (await scanFolder(root, { git: false })).report;
  assert.equal(walked.mode, 'walk');
  assert.deepEqual(shared(walked), ['.gitignore', 'assets/logo.bin', 'notes.md']);
});

test('a folder inside a repository that ignores it is scanned by its own rules, not as all-ignored', async () => {
  const root = repo();
  const inner = path.join(root, 'build', 'joined');
  writeTree(inner, { 'a.txt': 'a', 'node_modules/x.js': 'x' });
  const { report } = await scanFolder(inner);
  assert.equal(report.mode, 'walk');
  assert.deepEqual(shared(report), ['a.txt']);
  // A repository nested in the shared one (not a submodule): left out with the reason.
  const nested = path.join(root, 'vendor/lib');
  writeTree(nested, { 'x.c': 'int x;\n' });
  git(nested, 'init', '-q');
  const outer = (await scanFolder(root)).report;
  assert.match(reasonFor(outer, 'vendor/lib/') ?? '', /a git repository of its own/);
  assert.ok(!shared(outer).some((p) => p.startsWith('vendor/')));
});

test('symbolic links: one inside the tree is listed to be shared as a link, one leaving it is reported with where it points; a peer\'s escaping target is refused', async () => {
  const root = repo();
  const outside = tempDir();
  fs.symlinkSync('../src/index.ts', path.join(root, 'assets/index-link.ts'));
  fs.symlinkSync('../../' + path.basename(outside), path.join(root, 'assets/escape'));
  fs.symlinkSync(outside, path.join(root, 'abs-link'));
  git(root, 'add', 'assets/index-link.ts');
  const { report } = await scanFolder(root);
  assert.ok(!shared(report).some((p) => /link|escape/.test(p)), 'no link is shared as a file');
  assert.deepEqual(report.links, [{ rel: 'assets/index-link.ts', target: '../src/index.ts' }], 'a link inside the tree is shared as a link (mirror-tree.test.ts)');
  assert.equal(reasonFor(report, 'assets/index-link.ts'), undefined);
  assert.match(reasonFor(report, 'assets/escape') ?? '', /points outside the workspace/);
  assert.match(reasonFor(report, 'abs-link') ?? '', /absolute path, outside the workspace/);
  // What every receiving peer checks of a link announced to it: it never climbs out of the tree.
  assert.ok(judgeLinkTarget('a', '../../etc').outside);
  assert.ok(judgeLinkTarget('deep/er/a', '../../../etc/passwd').outside);
  assert.ok(judgeLinkTarget('a', '/etc').outside);
  assert.ok(judgeLinkTarget('a', 'C:\\Windows').outside);
  assert.ok(judgeLinkTarget('a', 'x/../../y').outside);
  assert.ok(judgeLinkTarget('a', 'sub/.').resolved === 'sub');
  assert.equal(judgeLinkTarget('deep/a', '../b/c.txt').resolved, 'b/c.txt');
  assert.ok(judgeLinkTarget('a', 'con.txt').outside, 'a target that is no portable path is refused too');
});

test('a folder moved in during a session is shared, and the scan cache of the whole folder stays as the start left it', async () => {
  const root = tempDir();
  const elsewhere = tempDir();
  const stateDir = tempDir('hyperpair-state-');
  writeTree(root, { 'a.txt': 'aaaa', 'b/c.txt': 'cccc' });
  writeTree(elsewhere, { 'new/x.txt': 'xxxx', 'new/deeper/y.txt': 'yyyy' });
  // The cache keeps no file changed within its racy window (2 s): these must be older.
  await waitFor(() => Date.now() - fs.statSync(path.join(elsewhere, 'new/deeper/y.txt')).ctimeMs > 2_100, 'the files older than the racy window', 10_000);
  const p = await peers.start({ mode: 'share', dir: root, name: 'a', stateDir });
  const rows = () => cachedPaths(path.join(folderStateDir(root, stateDir), 'scan-cache.json'));
  assert.deepEqual(rows(), ['a.txt', 'b/c.txt']);
  fs.renameSync(path.join(elsewhere, 'new'), path.join(root, 'new')); // its files keep their times
  await waitFor(() => !!p.workspace.byPath('new/x.txt') && !!p.workspace.byPath('new/deeper/y.txt'), 'the new folder\'s files shared');
  await p.close();
  // The folder was listed on its own: its files are no rows of the folder's cache (under names
  // relative to it, they would be wrong ones), and the folder's own rows are kept for the next start.
  assert.deepEqual(rows(), ['a.txt', 'b/c.txt']);
});

test('the scan cache: a second scan reuses hashes, and a modified file (same size) is hashed again', async () => {
  const root = tempDir();
  const stateRoot = tempDir('hyperpair-state-');
  writeTree(root, { 'a.txt': 'aaaa', 'b/c.txt': 'cccc', 'd.bin': Uint8Array.from([0, 1, 2]) });
  const first = await ScanCache.open(root, stateRoot, 0);
  const one = (await scanFolder(root, { cache: first })).report;
  assert.equal(first.misses, 3);
  for (const f of one.files) assert.equal(f.hash, contentHash(fs.readFileSync(path.join(root, f.rel))));
  fs.writeFileSync(path.join(root, 'a.txt'), 'AAAA'); // same size; mtime and ctime move
  const second = await ScanCache.open(root, stateRoot, 0);
  const two = (await scanFolder(root, { cache: second })).report;
  assert.equal(second.hits, 2, 'the unchanged files come from the cache');
  assert.equal(second.misses, 1);
  assert.equal(two.files.find((f) => f.rel === 'a.txt')?.hash, contentHash(Buffer.from('AAAA')));
  // A change that restores the old mtime is still seen (ctime moves).
  const st = fs.statSync(path.join(root, 'b/c.txt'));
  fs.writeFileSync(path.join(root, 'b/c.txt'), 'CCCC');
  fs.utimesSync(path.join(root, 'b/c.txt'), st.atime, st.mtime);
  const third = await ScanCache.open(root, stateRoot, 0);
  const three = (await scanFolder(root, { cache: third })).report;
  assert.equal(three.files.find((f) => f.rel === 'b/c.txt')?.hash, contentHash(Buffer.from('CCCC')));
  // A recent change is not trusted next time (it could share its timestamp with a later write).
  const fresh = tempDir('hyperpair-state-');
  await scanFolder(root, { cache: await ScanCache.open(root, fresh) });
  const after = await ScanCache.open(root, fresh);
  await scanFolder(root, { cache: after });
  assert.equal(after.hits, 0);
});

/** The paths a scan cache file holds rows for (`{"version":2}`, then a JSON array per line). */
function cachedPaths(file: string): string[] {
  const [header, ...lines] = fs.readFileSync(file, 'utf8').split('\n');
  assert.equal(header, '{"version":2}');
  return lines.filter(Boolean).map((l) => (JSON.parse(l) as [string])[0]).sort();
}

test('the scan cache file: a row per line, read back a slice at a time; a damaged line costs only its file; version 1 is still read', async () => {
  const root = tempDir();
  const stateRoot = tempDir('hyperpair-state-');
  const stat = (i: number) => ({ size: i, mtimeMs: 1_000 + i, ctimeMs: 2_000 + i, ino: 3_000 + i }) as fs.Stats;
  const hash = (i: number) => contentHash(Buffer.from(String(i)));
  const cache = await ScanCache.open(root, stateRoot, 0);
  for (let i = 0; i < 5_000; i++) cache.remember(`d${i % 13}/f "${i}".txt`, stat(i), hash(i), 1e9);
  await cache.save();
  const file = path.join(folderStateDir(root, stateRoot), 'scan-cache.json');
  assert.equal(cachedPaths(file).length, 5_000);
  const back = await ScanCache.open(root, stateRoot, 0);
  for (const i of [0, 1, 2_500, 4_999]) assert.equal(back.lookup(`d${i % 13}/f "${i}".txt`, stat(i)), hash(i));
  assert.equal(back.lookup('d1/f "1".txt', { ...stat(1), ctimeMs: 7 } as fs.Stats), undefined, 'a changed ctime is no hit');

  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines[2] = lines[2].slice(0, 10); // cut short, as by a crash
  fs.writeFileSync(file, lines.join('\n'));
  const damaged = await ScanCache.open(root, stateRoot, 0);
  const cut = (JSON.parse(fs.readFileSync(file, 'utf8').split('\n')[3]) as [string])[0];
  assert.ok(damaged.lookup(cut, stat(Number(/"(\d+)"/.exec(cut)![1]))) !== undefined, 'the next line is read');
  assert.equal(damaged.hits, 1);

  fs.writeFileSync(file, JSON.stringify({ version: 1, files: { 'a.txt': [4, 1_004, 2_004, 3_004, hash(4)], 'bad.txt': [1, 2, 3, 4, 'nohash'] } }));
  const v1 = await ScanCache.open(root, stateRoot, 0);
  assert.equal(v1.lookup('a.txt', stat(4)), hash(4), 'a cache written by an earlier version is used');
  assert.equal(v1.lookup('bad.txt', stat(1)), undefined);
});

test('the scan cache lets go of its rows after a scan and reads them back for the next one (a mirror keeps one cache for the session); a start\'s is read by its scan', async () => {
  const root = tempDir();
  const stateRoot = tempDir('hyperpair-state-');
  writeTree(root, { 'a.txt': 'aaaa', 'b/c.txt': 'cccc' });
  const cache = await ScanCache.open(root, stateRoot, 0);
  await scanFolder(root, { cache });
  assert.equal(cache.misses, 2);
  assert.equal(cache.lookup('a.txt', fs.statSync(path.join(root, 'a.txt'))), undefined, 'not held between scans');
  cache.misses = 0;
  const again = (await scanFolder(root, { cache })).report;
  assert.equal(cache.hits, 2, 'the second scan of the same instance reads the saved rows back');
  assert.equal(cache.misses, 0);
  for (const f of again.files) assert.equal(f.hash, contentHash(fs.readFileSync(path.join(root, f.rel))));

  // A start's cache is not read until its scan (the code is printed first): then its rows are used.
  const unread = ScanCache.unread(root, stateRoot, 0);
  assert.equal(unread.lookup('a.txt', fs.statSync(path.join(root, 'a.txt'))), undefined, 'nothing read yet');
  await scanFolder(root, { cache: unread });
  assert.equal(unread.hits, 2, 'the scan read it first');
});

test('a sharer in git: tracked files under node_modules/ and an ignored folder reach a fresh joiner\'s disk; ignored ones do not', async () => {
  const a = repo();
  const pa = await peers.start({ mode: 'share', dir: a, name: 'a' });
  assert.ok(pa.workspace.byPath('node_modules/fixture/index.js'), 'tracked under node_modules/: shared');
  assert.ok(pa.workspace.byPath('build/keep.js'), 'tracked under an ignored folder: shared');
  assert.ok(!pa.workspace.byPath('build/out.js'), 'untracked and ignored: not shared');
  assert.ok(!pa.workspace.byPath('node_modules/dep/index.js'));
  // A fresh joiner (no repository) writes them although its own rules would leave them out: its
  // build needs the repository's files.
  const fresh = path.join(tempDir(), 'fresh');
  const pf = await peers.start({ mode: 'join', code: pa.code, dir: fresh, name: 'fresh' });
  await waitFor(() => fs.existsSync(path.join(fresh, 'node_modules/fixture/index.js')), 'the tracked fixture on the joiner');
  assert.equal(fs.readFileSync(path.join(fresh, 'build/keep.js'), 'utf8'), 'tracked although build/ is ignored\n');
  assert.ok(fs.existsSync(path.join(fresh, 'notes.md')));
  assert.ok(!fs.existsSync(path.join(fresh, 'build/out.js')));
  await pf.close();
});

test('joining into your own clone: identical files are adopted, your uncommitted change is kept beside (and the join says so), theirs arrives', async () => {
  const a = repo();
  const b = path.join(tempDir(), 'clone');
  git(path.dirname(b), 'clone', '-q', a, b);
  // The sharer's uncommitted work, and the joiner's.
  fs.writeFileSync(path.join(a, 'src/index.ts'), 'export const x = 2; // the sharer\'s\n');
  fs.writeFileSync(path.join(b, 'build/keep.js'), 'the joiner\'s own change\n');
  const pa = await peers.start({ mode: 'share', dir: a, name: 'a' });
  const notices: string[] = [];
  const pb = await peers.start({ mode: 'join', code: pa.code, dir: b, name: 'b', force: true, onWorkspace: (w) => w.on('notice', (m) => notices.push(m)) });
  await waitFor(() => fs.readFileSync(path.join(b, 'src/index.ts'), 'utf8').includes('the sharer'), "the sharer's change in the clone");
  const copy = 'build/keep (conflict ' + contentHash(Buffer.from("the joiner's own change\n")).slice(0, 6) + ').js';
  // The join says which of the joiner's changes it kept beside, and where: during the join itself.
  assert.deepEqual(notices, [`build/keep.js on this disk differed from the session's; this disk's version is kept as ${copy}`]);
  await waitFor(() => fs.existsSync(path.join(a, copy)), "the joiner's change kept as a conflict copy, on the sharer too");
  await pb.mirror.idle();
  await pa.mirror.idle();
  assert.equal(fs.readFileSync(path.join(b, copy), 'utf8'), "the joiner's own change\n");
  assert.equal(fs.readFileSync(path.join(b, 'build/keep.js'), 'utf8'), 'tracked although build/ is ignored\n');
  // Nothing else became a conflict copy: the clone's identical files were adopted.
  const conflicts = Object.keys(readTree(b, ['.git'])).filter((p) => p.includes('(conflict'));
  assert.deepEqual(conflicts, [copy]);
  assert.equal(fs.readFileSync(path.join(b, 'node_modules/fixture/index.js'), 'utf8'), 'module.exports = "tracked on purpose";\n');
  assert.ok(!fs.existsSync(path.join(b, 'node_modules/dep')), "the sharer's installed (untracked, ignored) dependency is not shared");
  const strip = (t: Record<string, string>) => Object.fromEntries(Object.entries(t).filter(([p]) => !p.startsWith('node_modules/dep') && !p.startsWith('build/out') && p !== 'debug.log'));
  assert.deepEqual(strip(readTree(b, ['.git'])), strip(readTree(a, ['.git'])));
});
