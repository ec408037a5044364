/**
 * The headless peer's bundle loaded through a V8 code cache (src/cli/code-cache.ts): made once, used
 * by the next start, never taken from a folder others can write, and worth nothing more than a
 * compile when it is damaged or from another build.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { codeCacheDir } from '../../src/cli/code-cache';
import { tempDir } from '../helpers/tree';

const LOADER = path.resolve(__dirname, '../../src/cli/code-cache.js');
const ENTRY = path.resolve(__dirname, '../../../dist/cli.js');

/** Loads `file` in a fresh process with the cache in `dir`; what it printed, and whether V8 took a cache. */
function load(file: string, dir: string): { printed: string; usedCache: boolean } {
  const script = `
    const { loadWithCodeCache } = require(${JSON.stringify(LOADER)});
    const keep = setTimeout(() => {}, 5000);
    loadWithCodeCache(${JSON.stringify(file)}, ${JSON.stringify(dir)}).then(({ exports, load }) => load.settled.then(() => { clearTimeout(keep); process.stdout.write(JSON.stringify({ printed: exports.hello(), usedCache: load.usedCache })); }));
  `;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as { printed: string; usedCache: boolean };
}

function module(dir: string, word: string): string {
  const file = path.join(dir, 'mod.js');
  // What a CommonJS file sees: its own require (relative to it), module, exports, __dirname.
  fs.writeFileSync(file, `#!/usr/bin/env node\nconst path = require('node:path');\nconst { extra } = require('./extra.js');\nmodule.exports.hello = () => ${JSON.stringify(word)} + ' from ' + path.basename(__dirname) + extra;\n`);
  fs.writeFileSync(path.join(dir, 'extra.js'), `exports.extra = '!';\n`);
  return file;
}

test('the first start makes the cache, the next uses it; another build gets its own and the old one goes', () => {
  const src = tempDir();
  const cache = path.join(tempDir(), 'code');
  fs.mkdirSync(cache, { mode: 0o700 });
  const file = module(src, 'hi');
  const first = load(file, cache);
  assert.deepEqual(first, { printed: `hi from ${path.basename(src)}!`, usedCache: false });
  const made = fs.readdirSync(cache);
  assert.equal(made.length, 1);
  assert.match(made[0], /^mod-[0-9a-f]{32}\.bin$/);
  assert.equal(fs.statSync(path.join(cache, made[0])).mode & 0o777, 0o600, 'only its owner reads the cache');
  assert.deepEqual(load(file, cache), { printed: `hi from ${path.basename(src)}!`, usedCache: true });

  module(src, 'bye');
  assert.deepEqual(load(file, cache), { printed: `bye from ${path.basename(src)}!`, usedCache: false }, 'a changed file never runs an old cache');
  const now = fs.readdirSync(cache);
  assert.equal(now.length, 1);
  assert.notEqual(now[0], made[0], 'the earlier build\'s cache was removed');
  assert.equal(load(file, cache).usedCache, true);
});

test('a damaged cache is refused by V8: the file is compiled as usual, and the cache made again', () => {
  const src = tempDir();
  const cache = path.join(tempDir(), 'code');
  fs.mkdirSync(cache, { mode: 0o700 });
  const file = module(src, 'hi');
  load(file, cache);
  const [name] = fs.readdirSync(cache);
  const bytes = fs.readFileSync(path.join(cache, name));
  for (let i = 64; i < bytes.length; i += 97) bytes[i] ^= 0x5a;
  fs.writeFileSync(path.join(cache, name), bytes);
  assert.deepEqual(load(file, cache), { printed: `hi from ${path.basename(src)}!`, usedCache: false });
  assert.equal(load(file, cache).usedCache, true, 'made again, whole');
});

test('the cache is code: never read from a folder others can write into, nor when turned off', () => {
  const open = path.join(tempDir(), 'open');
  fs.mkdirSync(open);
  fs.chmodSync(open, 0o777);
  assert.equal(codeCacheDir({ HYPERPAIR_CODE_CACHE: open }), undefined, 'a folder anyone can write is no cache');
  fs.chmodSync(open, 0o700);
  assert.equal(codeCacheDir({ HYPERPAIR_CODE_CACHE: open }), open);
  const link = path.join(tempDir(), 'link');
  fs.symlinkSync(open, link);
  assert.equal(codeCacheDir({ HYPERPAIR_CODE_CACHE: link }), undefined, 'a link is not followed to a cache');
  assert.equal(codeCacheDir({ HYPERPAIR_CODE_CACHE: 'off' }), undefined);
  const home = tempDir();
  assert.equal(codeCacheDir({ XDG_CACHE_HOME: home }), path.join(home, 'hyperpair', 'code'), 'made, private, under the XDG cache folder');
  assert.equal(fs.statSync(path.join(home, 'hyperpair', 'code')).mode & 0o777, 0o700);
});

test('the hyperpair command runs through it: its bundle loads and answers', () => {
  const cache = tempDir();
  const out = execFileSync(process.execPath, [ENTRY, 'help'], { encoding: 'utf8', env: { ...process.env, HYPERPAIR_CODE_CACHE: cache } });
  assert.match(out, /hyperpair share/);
});
