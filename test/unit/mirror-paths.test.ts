/**
 * Path safety and safe writes: what a shared path may be, and how the mirror writes into the folder.
 * Real files under os.tmpdir(); nothing is mocked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertNoSymlinks, conflictPath, isSafeRelativePath, resolveInside, unsafePathReason, validateRelativePath } from '../../src/sync/paths';
import { atomicWrite, isEmptyOrMissingDir, isEmptyOrMissingDirSync, moveFile, removeFile, TEMP_SUFFIX } from '../../src/sync/fsutil';
import { CheckedFolders } from '../../src/sync/first-copy';
import { readTree, tempDir, writeTree } from '../helpers/tree';

const UNSAFE: Array<[string, string, RegExp]> = [
  ['empty', '', /empty/],
  ['POSIX absolute', '/etc/passwd', /absolute/],
  ['Windows drive', 'C:/Windows/win.ini', /absolute/],
  ['Windows drive, relative form', 'c:evil', /absolute/],
  ['Windows backslash path', 'C:\\x', /absolute/],
  ['UNC', '\\\\server\\share\\x', /character/],
  ['UNC with slashes', '//server/share', /absolute/],
  ['parent', '../evil', /"\.\." segment/],
  ['parent in the middle', 'a/../../b', /"\.\." segment/],
  ['parent at the end', 'a/..', /"\.\." segment/],
  ['dot segment', './a', /"\." segment/],
  ['dot in the middle', 'a/./b', /"\." segment/],
  ['empty segment', 'a//b', /empty segment/],
  ['trailing slash', 'a/', /empty segment/],
  ['backslash', 'a\\b', /character/],
  ['NUL', 'ok/\u0000nul', /character/],
  ['newline', 'a\nb', /character/],
  ['escape', 'a\u001b[31m', /character/],
  ['DEL', 'a\u007f', /character/],
  ['C1 control', 'a\u0085b', /character/],
  ['colon (NTFS stream)', 'file.txt:stream', /character/],
  ['Windows forbidden characters', 'what?.txt', /character/],
  ['reserved CON', 'con', /reserved/],
  ['reserved NUL with extension', 'dir/NUL.txt', /reserved/],
  ['reserved COM1', 'COM1', /reserved/],
  ['reserved LPT9 any case', 'lPt9.log', /reserved/],
  ['reserved COM superscript', 'com¹', /reserved/],
  ['trailing dot', 'name.', /ends with a dot or space/],
  ['trailing space', 'dir /file', /ends with a dot or space/],
  ['too long a name', 'a'.repeat(256), /longer than 255 bytes/],
  ['too long a name in UTF-8 bytes', 'é'.repeat(128), /longer than 255 bytes/],
  ['too long a path', Array.from({ length: 120 }, () => 'abcdefghi').join('/'), /longer than 1024/],
];

const SAFE = [
  'README.md',
  'src/deep/er/file.ts',
  'docs/ünïcödé — name.md',
  'with space/and more spaces.txt',
  '.gitignore',
  '.hidden/.file',
  'emoji 😀/👩‍💻.txt',
  '日本語/ファイル.txt',
  'console.log', // only exact device names (with any extension) are reserved
  'a'.repeat(255),
  'name.with.dots.txt',
  '-leading-dash',
];

test('every kind of unsafe path is refused with a reason that says why', () => {
  for (const [what, p, why] of UNSAFE) {
    assert.throws(() => validateRelativePath(p), why, `${what}: ${JSON.stringify(p)}`);
    assert.equal(isSafeRelativePath(p), false, what);
    assert.match(unsafePathReason(p) ?? '', why, what);
  }
});

test('ordinary, Unicode and space-containing names are accepted unchanged', () => {
  for (const p of SAFE) {
    assert.equal(validateRelativePath(p), p);
    assert.equal(isSafeRelativePath(p), true, p);
  }
});

test('a name in decomposed Unicode is normalised, and not accepted as it stands', () => {
  const nfd = 'cafe\u0301.txt';
  for (let i = 0; i < 2; i++) {
    // Twice: the first answer for its NFC twin is remembered, never for the decomposed name.
    assert.equal(validateRelativePath(nfd), 'caf\u00e9.txt');
    assert.equal(isSafeRelativePath(nfd), false);
    assert.match(unsafePathReason(nfd) ?? '', /NFC/);
    assert.equal(isSafeRelativePath('caf\u00e9.txt'), true);
  }
});

test('verdicts stay the same when paths are checked again, past the number of safe paths remembered', () => {
  for (let round = 0; round < 2; round++) {
    for (const p of SAFE) assert.equal(validateRelativePath(p), p);
    for (const [what, p, why] of UNSAFE) assert.throws(() => validateRelativePath(p), why, what);
    // More safe paths than are remembered (200,000): the set starts again, the answers do not change.
    for (let i = 0; i < 110_000; i++) validateRelativePath(`d${round}/f${i}.txt`);
  }
});

test('resolveInside stays under the root and refuses what would leave it', () => {
  const root = tempDir();
  assert.equal(resolveInside(root, 'a/b.txt'), path.join(root, 'a', 'b.txt'));
  assert.throws(() => resolveInside(root, '../x'), /unsafe path/);
  assert.throws(() => resolveInside(root, '/x'), /unsafe path/);
});

test('a path through a symlink on disk is refused, at any depth, and so is a symlink target', async () => {
  const root = tempDir();
  const outside = tempDir();
  writeTree(root, { 'real/file.txt': 'x' });
  fs.symlinkSync(outside, path.join(root, 'link'));
  fs.mkdirSync(path.join(root, 'real/sub'));
  fs.symlinkSync(outside, path.join(root, 'real/sub/deeper'));
  fs.symlinkSync(path.join(outside, 'f'), path.join(root, 'file-link'));
  await assertNoSymlinks(root, 'real/file.txt');
  await assertNoSymlinks(root, 'real/not/yet/there.txt');
  await assert.rejects(assertNoSymlinks(root, 'link/x.txt'), /symlink link/);
  await assert.rejects(assertNoSymlinks(root, 'real/sub/deeper/x/y.txt'), /symlink real\/sub\/deeper/);
  await assert.rejects(assertNoSymlinks(root, 'file-link'), /symlink/);

  // The writers refuse too, and nothing appears outside.
  await assert.rejects(atomicWrite(root, 'link/evil.txt', Buffer.from('evil')), /symlink/);
  await assert.rejects(atomicWrite(root, 'file-link', Buffer.from('evil')), /symlink/);
  await assert.rejects(removeFile(root, 'link/anything'), /symlink/);
  writeTree(root, { 'movable.txt': 'm' });
  await assert.rejects(moveFile(root, 'movable.txt', 'link/moved.txt'), /symlink/);
  assert.deepEqual(fs.readdirSync(outside), []);
  assert.ok(fs.existsSync(path.join(root, 'movable.txt')));
});

test('atomicWrite creates parents, replaces content, keeps an existing mode and leaves no temp files', async () => {
  const root = tempDir();
  await atomicWrite(root, 'a/b/c/new file.txt', Buffer.from('one'));
  assert.equal(fs.readFileSync(path.join(root, 'a/b/c/new file.txt'), 'utf8'), 'one');
  writeTree(root, { 'run.sh': '#!/bin/sh\n' });
  fs.chmodSync(path.join(root, 'run.sh'), 0o755);
  await atomicWrite(root, 'run.sh', Buffer.from('#!/bin/sh\necho hi\n'));
  assert.equal(fs.statSync(path.join(root, 'run.sh')).mode & 0o777, 0o755);
  assert.equal(fs.readFileSync(path.join(root, 'run.sh'), 'utf8'), '#!/bin/sh\necho hi\n');
  // A name at the length limit: the temp file's own name must not push past it.
  const long = 'x'.repeat(251) + '.txt';
  await atomicWrite(root, long, Buffer.from('long'));
  assert.equal(fs.readFileSync(path.join(root, long), 'utf8'), 'long');
  const all = Object.keys(readTree(root));
  assert.ok(!all.some((p) => p.endsWith(TEMP_SUFFIX)), `temp files left: ${all.join(', ')}`);
  // A directory in the way is an error, not a silent loss.
  fs.mkdirSync(path.join(root, 'is-a-dir'));
  await assert.rejects(atomicWrite(root, 'is-a-dir', Buffer.from('x')));
  assert.ok(fs.statSync(path.join(root, 'is-a-dir')).isDirectory());
});

test('removing and moving prune the folders they leave empty, never the root or a folder with files', async () => {
  const root = tempDir();
  writeTree(root, { 'a/b/c/only.txt': '1', 'a/keep.txt': '2', 'x/y/moved.txt': '3' });
  await removeFile(root, 'a/b/c/only.txt');
  assert.ok(!fs.existsSync(path.join(root, 'a/b')));
  assert.ok(fs.existsSync(path.join(root, 'a/keep.txt')));
  await moveFile(root, 'x/y/moved.txt', 'z/moved.txt');
  assert.ok(!fs.existsSync(path.join(root, 'x')));
  await removeFile(root, 'a/keep.txt');
  await removeFile(root, 'z/moved.txt');
  assert.ok(fs.existsSync(root));
  assert.deepEqual(fs.readdirSync(root), []);
  assert.equal(await isEmptyOrMissingDir(root), true);
  assert.equal(await isEmptyOrMissingDir(path.join(root, 'missing')), true);
  assert.deepEqual([isEmptyOrMissingDirSync(root), isEmptyOrMissingDirSync(path.join(root, 'missing'))], [true, true]);
  writeTree(root, { f: '' });
  assert.equal(await isEmptyOrMissingDir(root), false);
  // A file is not a folder to join into; the sync twin (the editor's join prompts) agrees.
  assert.deepEqual([isEmptyOrMissingDirSync(root), isEmptyOrMissingDirSync(path.join(root, 'f'))], [false, false]);
  assert.equal(await isEmptyOrMissingDir(path.join(root, 'f')), false);
});

test('conflict copies sit beside the file, keep its extension, and are themselves safe paths', () => {
  assert.equal(conflictPath('dir/name.txt', 'abc123'), 'dir/name (conflict abc123).txt');
  assert.equal(conflictPath('Makefile', 'abc123'), 'Makefile (conflict abc123)');
  assert.equal(conflictPath('.env', 'abc123'), '.env (conflict abc123)');
  assert.ok(isSafeRelativePath(conflictPath('a b/ü.tar.gz', 'ffffff')));
});

test('a first copy checks each folder once and places new files by link: never through a link, never over what is there', async () => {
  const root = tempDir();
  const outside = tempDir();
  writeTree(root, { 'pkg/taken.txt': 'the person\'s own', 'pkg/sub/dir-in-the-way/x': 'x' });
  fs.symlinkSync(outside, path.join(root, 'linked'));
  const first = { syncNewFile: false, expect: null, folders: new CheckedFolders() };
  // Many writes into the same new folders at once: they wait for one check of each.
  const names = Array.from({ length: 40 }, (_, i) => `pkg/sub/d${i % 4}/f${i}.ts`);
  await Promise.all(names.map((rel) => atomicWrite(root, rel, Buffer.from(rel), first)));
  for (const rel of names) assert.equal(fs.readFileSync(path.join(root, rel), 'utf8'), rel);
  // Nothing replaced: a file there stays (the general write's compare-and-swap refuses), so does a folder.
  await assert.rejects(atomicWrite(root, 'pkg/taken.txt', Buffer.from('session'), first), /changed|conflict|WriteConflict/i);
  assert.equal(fs.readFileSync(path.join(root, 'pkg/taken.txt'), 'utf8'), 'the person\'s own');
  await assert.rejects(atomicWrite(root, 'pkg/sub/dir-in-the-way', Buffer.from('x'), first), /folder/);
  // A folder that is a link is refused, for every file in it, and nothing appears outside.
  await assert.rejects(atomicWrite(root, 'linked/evil.txt', Buffer.from('evil'), first), /symlink/);
  await assert.rejects(atomicWrite(root, 'linked/deeper/evil.txt', Buffer.from('evil'), first), /symlink/);
  assert.deepEqual(fs.readdirSync(outside), []);
  const all = Object.keys(readTree(root));
  assert.ok(!all.some((p) => p.endsWith(TEMP_SUFFIX)), `temp files left: ${all.join(', ')}`);
});
