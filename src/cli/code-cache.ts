/**
 * Loads the headless peer's bundle with a V8 code cache, as VS Code does for extensions' files: V8
 * compiles a 1.5 MB bundle in 25–35 ms at every start (more on a busy machine), one task in which the
 * event loop answers nothing; from its code cache, in about 5. The cache is made once per bundle and
 * Node version, after the bundle has run for a second (so the functions it called are in it too), or
 * as the process exits if that is sooner.
 *
 * The cache is code: it lives only in a folder of this user's that nobody else can write
 * (`$XDG_CACHE_HOME/hyperpair/code`, else `~/.cache/hyperpair/code`; `HYPERPAIR_CODE_CACHE` names
 * another, or `off`). Its name carries a hash of the bundle's text, so a cache is never used with
 * another build; V8 itself refuses one made by another V8 or with other flags. V8 does not check
 * the bytes themselves (a damaged cache crashed the process), so the file begins with the SHA-256 of
 * the rest, checked before V8 sees it. Anything amiss (no such folder, unreadable, damaged,
 * rejected) costs only the cache: the bundle is compiled as usual.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import * as vm from 'node:vm';

/** How long after loading the cache is made: the start's functions have been compiled by then. */
const MAKE_AFTER_MS = 1000;

export interface CodeCacheLoad {
  /** Whether V8 took a cache made before (false: none, another build's, or rejected). */
  readonly usedCache: boolean;
  /** The cache file this load reads or writes (undefined: no usable cache folder). */
  readonly cacheFile: string | undefined;
  /** Resolves once the cache is written, or known not to be (for tests; the loader never waits). */
  readonly settled: Promise<void>;
}

/** The cache folder, or undefined when caching is off or no private folder can be had. */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const named = env.HYPERPAIR_CODE_CACHE;
  if (named === 'off') return undefined;
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  const dir = named ? path.resolve(named) : path.join(base, 'hyperpair', 'code');
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    return isPrivate(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** A real folder (no link), owned by this user, that no one else may write into. */
function isPrivate(dir: string): boolean {
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) return false;
  if (typeof process.getuid !== 'function') return true; // Windows: a folder under the user's profile
  return st.uid === process.getuid() && (st.mode & 0o022) === 0;
}

/**
 * Runs the CommonJS file `file` as `require` would (its own `require`, `module`, `exports`,
 * `__filename`, `__dirname`), compiled from the code cache when there is one, and returns its exports.
 * Reading, checking, compiling and running each take a turn of the event loop of their own: one
 * turn for all of them held it 40–65 ms with four peers starting on two cores.
 */
export async function loadWithCodeCache(file: string, dir: string | undefined = codeCacheDir()): Promise<{ exports: unknown; load: CodeCacheLoad }> {
  const source = stripShebang(await fsp.readFile(file, 'utf8'));
  await turn();
  const cacheFile = dir ? path.join(dir, `${cachePrefix(file)}${createHash('sha256').update(process.version).update('\0').update(source).digest('hex').slice(0, 32)}.bin`) : undefined;
  const cachedData = cacheFile ? await readIfAny(cacheFile) : undefined;
  await turn();
  const script = new vm.Script(wrap(source), { filename: file, cachedData });
  const usedCache = cachedData !== undefined && script.cachedDataRejected === false;
  await turn();

  const mod = { exports: {} as unknown, filename: file, id: file, loaded: false };
  const run = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
  run.call(mod.exports, mod.exports, createRequire(file), mod, file, path.dirname(file));
  mod.loaded = true;

  const settled = usedCache || !cacheFile ? Promise.resolve() : new Promise<void>((resolve) => {
    // After a moment, or as the process exits if that is sooner (`hyperpair help`).
    const make = () => {
      clearTimeout(timer);
      process.removeListener('exit', make);
      writeCache(cacheFile, script.createCachedData(), cachePrefix(file));
      resolve();
    };
    const timer = setTimeout(make, MAKE_AFTER_MS).unref();
    process.once('exit', make);
  });
  return { exports: mod.exports, load: { usedCache, cacheFile, settled } };
}

function cachePrefix(file: string): string {
  return `${path.basename(file, '.js')}-`;
}

function stripShebang(source: string): string {
  return source.startsWith('#!') ? source.replace(/^#![^\n]*/, '') : source;
}

/** Node's own CommonJS wrapper, so that line and column numbers stay the file's. */
function wrap(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) { ${source}\n});`;
}

const SUM_BYTES = 32;

function checksum(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The cache's bytes if the file holds them whole (its checksum first), else undefined. */
async function readIfAny(file: string): Promise<Buffer | undefined> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file);
  } catch {
    return undefined;
  }
  const data = bytes.subarray(SUM_BYTES);
  return bytes.length > SUM_BYTES && checksum(data).equals(bytes.subarray(0, SUM_BYTES)) ? data : undefined;
}

/** Writes the cache whole or not at all, and removes the caches of earlier builds of the same file. */
function writeCache(file: string, data: Buffer, prefix: string): void {
  const dir = path.dirname(file);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, Buffer.concat([checksum(data), data]), { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, file);
    for (const name of fs.readdirSync(dir)) {
      if (name.startsWith(prefix) && name.endsWith('.bin') && name !== path.basename(file)) fs.rmSync(path.join(dir, name), { force: true });
    }
  } catch {
    fs.rmSync(tmp, { force: true });
  }
}
