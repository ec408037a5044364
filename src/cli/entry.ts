/**
 * `dist/cli.js`, the `hyperpair` command: runs the headless peer's bundle (`dist/cli-main.js`, from
 * `main.ts`) through the V8 code cache of `code-cache.ts`, so that a start does not hold the event
 * loop while V8 compiles it.
 */
import * as path from 'node:path';
import { loadWithCodeCache } from './code-cache';

loadWithCodeCache(path.join(__dirname, 'cli-main.js')).catch((err: Error) => {
  process.stderr.write(`hyperpair: cannot load ${path.join(__dirname, 'cli-main.js')}: ${err.message}\n`);
  process.exitCode = 1;
});
