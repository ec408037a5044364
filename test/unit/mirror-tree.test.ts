/**
 * Symbolic links and empty folders (docs/PROTOCOL.md §6.1, the index's `tree` map): a joined tree is
 * the repository, links inside the workspace included and links leaving it not; changes follow; a
 * hostile peer's link creates nothing outside; a peer that does not know `tree` keeps working.
 * Real files, real git, real hyperswarm on a loopback testnet.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { Session } from '../../src/session';
import { SharedWorkspace } from '../../src/sync/workspace';
import { INDEX_DOC, syncEncoder } from '../../src/sync/protocol';
import { scanFolder } from '../../src/sync/scan';
import { judgeTreeEntry, TreeEntries, TREE_MAP } from '../../src/sync/tree-entries';
import { judgeLinkTarget } from '../../src/sync/symlinks';
import { startPeer, type PeerOptions, type RunningPeer } from '../../src/app/peer';
import { createTestNetwork, waitFor, type TestNetwork } from '../helpers/testnet';
import { readTree, tempDir, writeTree } from '../helpers/tree';

let net: TestNetwork;
const running: Array<{ close(): Promise<unknown> }> = [];
before(async () => {
  net = await createTestNetwork();
});
after(async () => {
  for (const r of running.reverse()) await r.close();
  await net.destroy();
});
async function start(options: Omit<PeerOptions, 'network'>): Promise<RunningPeer> {
  const p = await startPeer({ ...options, network: net.network });
  running.push(p);
  return p;
}

/** A member running only the session model (an index, no disk): what a peer that knows no `tree` map runs. */
async function modelOnly(code: string): Promise<{ session: Session; ws: SharedWorkspace }> {
  const session = new Session({ code, name: 'model', network: net.network });
  const ws = new SharedWorkspace({ transport: session, mode: 'join' });
  running.push({ close: async () => (ws.close(), await session.leave()) });
  await session.ready();
  return { session, ws };
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.org', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' });
}

const lstat = (abs: string) => fs.lstatSync(abs, { throwIfNoEntry: false });
const linkAt = (abs: string) => (lstat(abs)?.isSymbolicLink() ? fs.readlinkSync(abs) : undefined);
const isEmptyDir = (abs: string) => lstat(abs)?.isDirectory() === true && fs.readdirSync(abs).length === 0;

/** A committed repository with links in and out of the tree and empty folders (untracked: git has none). */
function repo(outside: string): string {
  const root = tempDir();
  writeTree(root, { 'src/index.ts': 'export const x = 1;\n', 'lib/a.txt': 'a\n', 'notes.txt': 'notes\n', 'assets/logo.txt': 'logo\n' });
  fs.symlinkSync('../src/index.ts', path.join(root, 'assets/index-link.ts'));
  fs.symlinkSync('lib', path.join(root, 'lib-link'));
  fs.symlinkSync('../../' + path.basename(outside), path.join(root, 'assets/escape'));
  fs.symlinkSync(outside, path.join(root, 'abs-link'));
  fs.mkdirSync(path.join(root, 'empty'));
  fs.mkdirSync(path.join(root, 'deep/er/empty'), { recursive: true });
  git(root, 'init', '-q');
  git(root, 'add', '.');
  git(root, 'commit', '-q', '-m', 'initial');
  return root;
}

test('a joined git repository has the same links inside the tree and empty folders, not the links leaving it; changes follow', async () => {
  const outside = tempDir();
  fs.writeFileSync(path.join(outside, 'secret'), 'secret\n');
  const a = repo(outside);
  const pa = await start({ mode: 'share', dir: a, name: 'a' });
  const skipped = (rel: string) => pa.report!.skipped.find((s) => s.rel === rel)?.reason ?? '';
  assert.match(skipped('assets/escape'), /not shared: it points outside the workspace/);
  assert.match(skipped('abs-link'), /not shared: it points to an absolute path/);
  assert.deepEqual(pa.report!.links.map((l) => `${l.rel}->${l.target}`).sort(), ['assets/index-link.ts->../src/index.ts', 'lib-link->lib']);
  assert.deepEqual(pa.report!.folders.sort(), ['deep/er/empty', 'empty']);
  // The link to a folder is not followed: its files are shared once, under the folder's own path.
  assert.deepEqual(pa.workspace.files().map((f) => f.path).sort(), ['assets/logo.txt', 'lib/a.txt', 'notes.txt', 'src/index.ts']);

  const b = path.join(tempDir(), 'b');
  const pb = await start({ mode: 'join', code: pa.code, dir: b, name: 'b' });
  const at = (rel: string) => path.join(b, ...rel.split('/'));
  await waitFor(() => linkAt(at('assets/index-link.ts')) === '../src/index.ts' && linkAt(at('lib-link')) === 'lib', 'the links on the joiner');
  await waitFor(() => isEmptyDir(at('empty')) && isEmptyDir(at('deep/er/empty')), 'the empty folders on the joiner');
  assert.equal(fs.readFileSync(at('assets/index-link.ts'), 'utf8'), 'export const x = 1;\n', 'the link works on the joiner');
  assert.equal(fs.readFileSync(at('lib-link/a.txt'), 'utf8'), 'a\n');
  assert.equal(lstat(at('assets/escape')), undefined, 'a link leaving the tree is not made');
  assert.equal(lstat(at('abs-link')), undefined, 'an absolute link is not made');
  assert.deepEqual(readTree(b), readTree(a, ['.git']), 'the same files (readTree does not follow links)');
  assert.deepEqual(pb.workspace.files().map((f) => f.path).sort(), pa.workspace.files().map((f) => f.path).sort());

  // On the sharer: a link retargeted, one deleted, one added, a file replaced by a link, a link by a
  // file, an empty folder removed and one made.
  fs.unlinkSync(path.join(a, 'assets/index-link.ts'));
  fs.symlinkSync('../lib/a.txt', path.join(a, 'assets/index-link.ts'));
  fs.unlinkSync(path.join(a, 'lib-link'));
  fs.symlinkSync('src', path.join(a, 'src-link'));
  fs.rmSync(path.join(a, 'notes.txt'));
  fs.symlinkSync('lib/a.txt', path.join(a, 'notes.txt'));
  fs.unlinkSync(path.join(a, 'assets/escape'));
  fs.rmdirSync(path.join(a, 'empty'));
  fs.mkdirSync(path.join(a, 'fresh'));
  await waitFor(() => linkAt(at('assets/index-link.ts')) === '../lib/a.txt', 'the retargeted link');
  await waitFor(() => lstat(at('lib-link')) === undefined, 'the deleted link to go');
  await waitFor(() => linkAt(at('src-link')) === 'src', 'the new link to a folder');
  await waitFor(() => linkAt(at('notes.txt')) === 'lib/a.txt', 'the file replaced by a link');
  await waitFor(() => lstat(at('empty')) === undefined && isEmptyDir(at('fresh')), 'the empty folders to follow');
  assert.equal(fs.readFileSync(at('lib/a.txt'), 'utf8'), 'a\n', 'removing a link to a folder leaves the folder');

  fs.unlinkSync(path.join(a, 'notes.txt'));
  fs.writeFileSync(path.join(a, 'notes.txt'), 'a file again\n');
  await waitFor(() => lstat(at('notes.txt'))?.isFile() === true && fs.readFileSync(at('notes.txt'), 'utf8') === 'a file again\n', 'the link replaced by a file');

  // And the other way: the joiner's new link and folder reach the sharer.
  fs.symlinkSync('../src/index.ts', path.join(b, 'assets/from-b.ts'));
  fs.mkdirSync(path.join(b, 'from-b'));
  await waitFor(() => linkAt(path.join(a, 'assets/from-b.ts')) === '../src/index.ts' && isEmptyDir(path.join(a, 'from-b')), 'the joiner\'s link and folder on the sharer');
  // A folder the sharer removes goes on the joiner only while it is empty there.
  fs.writeFileSync(path.join(b, 'fresh/local.txt'), 'mine\n');
  await waitFor(() => fs.existsSync(path.join(a, 'fresh/local.txt')), 'the joiner\'s file on the sharer');
  assert.deepEqual(fs.readdirSync(outside), ['secret'], 'nothing was written outside');
});

/** A sync update of the index whose `tree` map holds `entries`, as a hostile peer crafts it. */
function hostileTreeUpdate(entries: Record<string, unknown>): Uint8Array {
  const doc = new Y.Doc();
  for (const [p, v] of Object.entries(entries)) doc.getMap(TREE_MAP).set(p, v);
  const e = syncEncoder(INDEX_DOC);
  encoding.writeVarUint(e, 2);
  encoding.writeVarUint8Array(e, Y.encodeStateAsUpdate(doc));
  return encoding.toUint8Array(e);
}

test('links and empty folders a joiner changed while away reach the session when it comes back; what it left alone follows the session', async () => {
  const a = tempDir();
  writeTree(a, { 'x.txt': 'x\n', 'y.txt': 'y\n', 'z.txt': 'z\n' });
  for (const name of ['gone-link', 'moved-link', 'kept-link']) fs.symlinkSync('x.txt', path.join(a, name));
  fs.mkdirSync(path.join(a, 'gone-folder'));
  const pa = await start({ mode: 'share', dir: a, name: 'a' });
  const b = path.join(tempDir(), 'b');
  const pb = await start({ mode: 'join', code: pa.code, dir: b, name: 'b' });
  const inB = (rel: string) => path.join(b, rel);
  const inA = (rel: string) => path.join(a, rel);
  await waitFor(() => linkAt(inB('kept-link')) === 'x.txt' && linkAt(inB('gone-link')) === 'x.txt' && isEmptyDir(inB('gone-folder')), 'the links and the folder on the joiner');
  await pb.close();
  // Away: the joiner removes a link and a folder and retargets a link; the sharer retargets another.
  fs.unlinkSync(inB('gone-link'));
  fs.unlinkSync(inB('moved-link'));
  fs.symlinkSync('y.txt', inB('moved-link'));
  fs.rmdirSync(inB('gone-folder'));
  fs.unlinkSync(inA('kept-link'));
  fs.symlinkSync('z.txt', inA('kept-link'));
  const tree = new TreeEntries(pa.workspace.index);
  await waitFor(() => tree.get('kept-link')?.kind === 'link' && (tree.get('kept-link') as { target: string }).target === 'z.txt', "the sharer's retargeted link in the session");

  const pb2 = await start({ mode: 'join', code: pa.code, dir: b, name: 'b' });
  await waitFor(
    () => lstat(inA('gone-link')) === undefined && linkAt(inA('moved-link')) === 'y.txt' && lstat(inA('gone-folder')) === undefined,
    "the joiner's changes while away on the sharer",
  );
  await waitFor(() => linkAt(inB('kept-link')) === 'z.txt', "the sharer's change on the joiner");
  assert.equal(lstat(inB('gone-link')), undefined, 'the link removed while away did not come back');
  assert.equal(linkAt(inB('moved-link')), 'y.txt');
  assert.equal(lstat(inB('gone-folder')), undefined, 'the folder removed while away did not come back');
  await pb2.close();
});

test('a hostile peer\'s links that point outside, lead through a link or take a file\'s path create nothing, and the files stay intact', async () => {
  const parent = tempDir();
  const dir = path.join(parent, 'shared');
  const outside = tempDir();
  writeTree(dir, { 'mine.txt': 'mine\n', 'sub/keep.txt': 'keep\n' });
  fs.symlinkSync(outside, path.join(dir, 'planted'));
  const victim = await start({ mode: 'share', dir, name: 'victim' });
  const before = { parent: fs.readdirSync(parent).sort(), tree: readTree(dir) };
  const { session: raw, ws } = await modelOnly(victim.code);
  await waitFor(() => ws.files().length === 2, 'the attacker to hold the index');
  raw.send(
    victim.session.self.id,
    hostileTreeUpdate({
      'etc-link': { kind: 'link', target: '../../etc' },
      'sub/abs': { kind: 'link', target: '/etc/passwd' },
      'sub/climb': { kind: 'link', target: 'sub/../../../x' },
      'planted/evil': { kind: 'link', target: 'x' },
      'planted/dir': { kind: 'folder' },
      'mine.txt': { kind: 'link', target: 'sub/keep.txt' },
      sub: { kind: 'folder' },
      '../up': { kind: 'folder' },
      'odd': { kind: 'socket', target: 'x' },
      'ok-dir': { kind: 'folder' },
      'sub/ok-link': { kind: 'link', target: 'keep.txt' },
      hooks: { kind: 'link', target: '.git/hooks' },
    }),
  );
  await waitFor(() => isEmptyDir(path.join(dir, 'ok-dir')) && linkAt(path.join(dir, 'sub/ok-link')) === 'keep.txt', 'the well-formed entries to be made');
  await victim.mirror.idle();
  for (const rel of ['etc-link', 'sub/abs', 'sub/climb', 'odd', 'hooks']) assert.equal(lstat(path.join(dir, rel)), undefined, `${rel} was created`);
  assert.deepEqual(fs.readdirSync(outside), [], 'something was written through the planted link');
  assert.deepEqual(fs.readdirSync(parent).sort(), before.parent, 'something was written beside the folder');
  // A link where the victim has a file: the file is kept beside it, as for two files at one path (§6.4).
  await waitFor(() => linkAt(path.join(dir, 'mine.txt')) === 'sub/keep.txt', 'the link where the file was');
  const aside = victim.workspace.files().find((f) => f.path.startsWith('mine (conflict '))?.path ?? '';
  await waitFor(() => fs.existsSync(path.join(dir, aside)), 'the file moved aside on disk');
  assert.equal(fs.readFileSync(path.join(dir, aside), 'utf8'), 'mine\n');
  const { 'mine.txt': mine, ...rest } = before.tree;
  assert.deepEqual(readTree(dir), { ...rest, [aside]: mine }, 'the files stay intact');
  // The connection stays: a file made after still arrives (bad entries are not acted on, not fatal).
  ws.createText('after.txt', 'after\n', 'disk');
  await waitFor(() => fs.existsSync(path.join(dir, 'after.txt')), 'a later file on the victim');
});

test('a peer that knows no `tree` map stores and forwards it, lists files only, and stays connected; too many entries cut the sender off', async () => {
  const dir = tempDir();
  writeTree(dir, { 'a.txt': 'a\n' });
  fs.symlinkSync('a.txt', path.join(dir, 'a-link'));
  fs.mkdirSync(path.join(dir, 'empty'));
  const sharer = await start({ mode: 'share', dir, name: 'sharer', caps: { maxFiles: 20, maxFileBytes: 1_000_000 } });
  const leaves: string[] = [];
  sharer.session.on('peer-leave', (p) => leaves.push(p.id));
  const old = await modelOnly(sharer.code);
  await waitFor(() => old.ws.index.getMap(TREE_MAP).size === 2, 'the tree map on the model-only peer');
  assert.deepEqual(old.ws.files().map((f) => f.path), ['a.txt'], 'only files are files');
  // It forwards what it holds: a joiner connected to it alone would get the links from it (Yjs).
  assert.deepEqual(old.ws.index.getMap(TREE_MAP).toJSON(), { 'a-link': { kind: 'link', target: 'a.txt' }, empty: { kind: 'folder' } });
  fs.writeFileSync(path.join(dir, 'b.txt'), 'b\n');
  await waitFor(() => old.ws.byPath('b.txt') !== undefined, 'a later file on the model-only peer');
  assert.ok(!leaves.includes(old.session.self.id), 'the model-only peer was cut off');

  const flood: Record<string, unknown> = {};
  for (let i = 0; i < 30; i++) flood[`f${i}`] = { kind: 'folder' };
  const mallory = await modelOnly(sharer.code);
  await waitFor(() => mallory.ws.files().length === 2, 'the flooder to hold the index');
  // It may hold the index from the other member alone: the message must reach the sharer itself.
  await waitFor(() => mallory.session.peers().some((p) => p.id === sharer.session.self.id), 'the flooder connected to the sharer');
  mallory.session.send(sharer.session.self.id, hostileTreeUpdate(flood));
  await waitFor(() => leaves.includes(mallory.session.self.id), 'the flooder to be cut off');
  assert.equal(fs.existsSync(path.join(dir, 'f0')), false);
});

test('what a tree entry may be, judged on every peer', () => {
  assert.deepEqual(judgeTreeEntry('a/b', { kind: 'link', target: '../c' }), { entry: { kind: 'link', target: '../c' } });
  assert.deepEqual(judgeTreeEntry('a', { kind: 'folder' }), { entry: { kind: 'folder' } });
  assert.deepEqual(judgeTreeEntry('a', { kind: 'later-kind' }), {}, 'an unknown kind is ignored, not an error');
  for (const [p, v] of [
    ['a', { kind: 'link', target: '../../etc' }],
    ['a', { kind: 'link', target: '/etc' }],
    ['a', { kind: 'link', target: 'x/../../y' }],
    ['a/b', { kind: 'link', target: 'c/../../../d' }],
    ['a', { kind: 'link', target: '.' }],
    ['a', { kind: 'link' }],
    ['a', { kind: 'link', target: '' }],
    ['a', { kind: 'link', target: 'C:\\Windows' }],
    ['a', { kind: 'link', target: 'x'.repeat(5000) }],
    ['../a', { kind: 'folder' }],
    ['x', 1],
  ] as Array<[string, unknown]>) {
    assert.ok(judgeTreeEntry(p, v).problem, `${p} ${JSON.stringify(v)} must be refused`);
  }
  // `..` only leads: after a name, a link on the way could make it leave the tree.
  assert.ok(judgeLinkTarget('x/y/a', '../b/../../q').outside);
  assert.equal(judgeLinkTarget('x/y/a', '../../b/q').resolved, 'b/q');
  assert.equal(judgeLinkTarget('a', './b/./c').resolved, 'b/c');
});

test('outside git too: links and empty folders are listed, and the scan never follows a link', async () => {
  const root = tempDir();
  writeTree(root, { 'lib/a.txt': 'a\n', 'node_modules/x/i.js': 'x' });
  fs.symlinkSync('lib', path.join(root, 'lib-link'));
  fs.symlinkSync('..', path.join(root, 'up'));
  fs.mkdirSync(path.join(root, 'empty/inner'), { recursive: true });
  fs.mkdirSync(path.join(root, 'node_modules/empty'));
  const { report } = await scanFolder(root);
  assert.equal(report.mode, 'walk');
  assert.deepEqual(report.files.map((f) => f.rel), ['lib/a.txt']);
  assert.deepEqual(report.links, [{ rel: 'lib-link', target: 'lib' }]);
  assert.deepEqual(report.folders, ['empty/inner'], 'only folders with nothing in them; excluded ones stay out');
  assert.match(report.skipped.find((s) => s.rel === 'up')?.reason ?? '', /outside the workspace/);
});

test('joining into a folder whose own file sits where the session has a link: it is kept beside, as a conflict copy (a file where a peer has an empty folder: mirror-safety.test.ts)', async () => {
  const a = tempDir();
  writeTree(a, { 'a.txt': 'a\n' });
  fs.symlinkSync('a.txt', path.join(a, 'readme'));
  fs.mkdirSync(path.join(a, 'empty'));
  const pa = await start({ mode: 'share', dir: a, name: 'a' });
  const b = tempDir();
  writeTree(b, { readme: 'my own readme\n' });
  // Its own link and empty folder, which the session lacks, join it.
  fs.symlinkSync('a.txt', path.join(b, 'extra'));
  fs.mkdirSync(path.join(b, 'own-empty'));
  const pb = await start({ mode: 'join', code: pa.code, dir: b, name: 'b', force: true });
  await waitFor(() => linkAt(path.join(b, 'readme')) === 'a.txt' && isEmptyDir(path.join(b, 'empty')), 'the link and the folder on the joiner');
  const asides = () => pb.workspace.files().filter((f) => f.path.includes('(conflict ')).map((f) => f.path);
  await waitFor(() => asides().length === 1 && [a, b].every((d) => fs.existsSync(path.join(d, asides()[0]))), 'the copy beside, on both peers');
  const [aside] = asides();
  assert.match(aside, /^readme \(conflict [0-9a-f]{6}\)$/);
  assert.equal(fs.readFileSync(path.join(a, aside), 'utf8'), 'my own readme\n');
  assert.equal(linkAt(path.join(a, 'readme')), 'a.txt', 'the sharer keeps its link');
  await waitFor(() => linkAt(path.join(a, 'extra')) === 'a.txt' && isEmptyDir(path.join(a, 'own-empty')), 'the joiner\'s own link and folder on the sharer');
});

test('on disk, nothing in the way of a link or folder from the session is replaced unread, and removing one removes only what is as made', async () => {
  const dir = tempDir();
  writeTree(dir, { '.gitignore': '*.log\n', 'a.txt': 'a\n', 'dir/f.txt': 'f\n', 'debug.log': 'my unshared log\n' });
  fs.mkdirSync(path.join(dir, 'in-way'));
  const victim = await start({ mode: 'share', dir, name: 'victim' });
  const notices: string[] = [];
  victim.workspace.on('notice', (m) => notices.push(m));
  const peer = await modelOnly(victim.code);
  await waitFor(() => peer.ws.files().length === 3 && peer.ws.index.getMap(TREE_MAP).has('in-way'), 'the index on the other peer');
  const tree = peer.ws.index.getMap<unknown>(TREE_MAP);
  peer.ws.index.transact(() => {
    tree.set('in-way', { kind: 'link', target: 'a.txt' }); // an empty folder there: it goes
    tree.set('debug.log', { kind: 'link', target: 'a.txt' }); // a file the session never had: kept beside
    tree.set('dir', { kind: 'link', target: 'a.txt' }); // a shared file below: the link is not made
    tree.set('box', { kind: 'folder' });
    tree.set('bad', { kind: 'link', target: '' });
  });
  const at = (rel: string) => path.join(dir, rel);
  await waitFor(() => linkAt(at('in-way')) === 'a.txt' && linkAt(at('debug.log')) === 'a.txt' && isEmptyDir(at('box')), 'the links and the folder');
  const aside = victim.workspace.files().find((f) => f.path.startsWith('debug (conflict '))?.path ?? '';
  await waitFor(() => aside !== '' && fs.existsSync(at(aside)), 'the unshared file kept beside, as a conflict copy');
  assert.equal(fs.readFileSync(at(aside), 'utf8'), 'my unshared log\n');
  await victim.mirror.idle();
  assert.equal(fs.readFileSync(at('dir/f.txt'), 'utf8'), 'f\n', 'a link over a shared file\'s folder is not made');
  assert.equal(lstat(at('bad')), undefined);
  assert.equal(notices.filter((m) => m.includes('"bad"')).length, 1, `a refused entry is told once: ${notices.join(' | ')}`);
  assert.ok(notices.some((m) => m.includes('dir/f.txt') && m.includes('the link not made')), notices.join(' | '));

  // Removed from the session: the folder goes only while empty, the link only while as made.
  fs.writeFileSync(at('box/mine.log'), 'unshared, mine\n');
  fs.unlinkSync(at('debug.log'));
  fs.symlinkSync('dir/f.txt', at('debug.log')); // retargeted here
  await waitFor(() => JSON.stringify(tree.get('debug.log')) === JSON.stringify({ kind: 'link', target: 'dir/f.txt' }), 'the retarget to reach the other peer');
  peer.ws.index.transact(() => {
    tree.delete('box');
    tree.delete('in-way');
  });
  await waitFor(() => lstat(at('in-way')) === undefined, 'the link to go');
  await victim.mirror.idle();
  assert.equal(fs.readFileSync(at('box/mine.log'), 'utf8'), 'unshared, mine\n', 'a folder with something in it stays');
});
