/** The tests' temporary folders go when their process exits, unless asked to be kept. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';

const helper = path.join(__dirname, '..', 'helpers', 'tree.js');
/** Runs a process that makes a temporary folder with a file in it and exits; returns the folder. */
function makeAndExit(env: NodeJS.ProcessEnv): string {
  const script = `const { tempDir } = require(${JSON.stringify(helper)}); const d = tempDir('hyperpair-cleanup-'); require('fs').mkdirSync(d + '/sub'); require('fs').writeFileSync(d + '/sub/f', 'x'); console.log(d);`;
  return execFileSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' }).trim();
}

test('a test process\'s temporary folders are removed when it exits, and kept with HYPERPAIR_KEEP_TEMP', () => {
  const gone = makeAndExit({ HYPERPAIR_KEEP_TEMP: '' });
  assert.ok(gone.includes('hyperpair-cleanup-'), gone);
  assert.equal(fs.existsSync(gone), false, 'removed at exit');
  const kept = makeAndExit({ HYPERPAIR_KEEP_TEMP: '1' });
  assert.equal(fs.readFileSync(path.join(kept, 'sub', 'f'), 'utf8'), 'x', 'kept when asked');
  fs.rmSync(kept, { recursive: true, force: true });
});
