/**
 * The suite's last line (`scripts/tap-summary.sh`): a skipped or to-do test is never counted as passed,
 * and a run whose runner did not finish never reads as clean. Real `node --test` runs produce the TAP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/tree';

const SUMMARY = path.resolve(__dirname, '../../../scripts/tap-summary.sh');

const FIXTURE = `
const { test } = require('node:test');
test('passes', () => {});
test('skipped by option', { skip: 'no network' }, () => {});
test('skipped from inside', (t) => { t.skip('not here'); });
test('to do, failing', { todo: true }, () => { throw new Error('later'); });
test('to do, passing', { todo: 'later' }, () => {});
test('fails', () => { throw new Error('boom'); });
test('group', async (t) => {
  await t.test('nested skip', { skip: true }, () => {});
  await t.test('nested pass', () => {});
});
`;

/** Runs the fixture under node --test with the TAP reporter (as scripts/test.sh does); returns the TAP file. */
function tapOf(dir: string, name: string, source: string): string {
  const file = path.join(dir, `${name}.test.js`);
  fs.writeFileSync(file, source);
  const tap = path.join(dir, `${name}.tap`);
  // Without NODE_TEST_CONTEXT the child is a runner of its own, not a subtest reporting to this one.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  try {
    execFileSync(process.execPath, ['--test', '--test-reporter=tap', `--test-reporter-destination=${tap}`, file], { stdio: 'ignore', env });
  } catch {
    // A failing test makes the runner exit 1: that is part of the fixture.
  }
  return tap;
}

const summarise = (extra: number, ...taps: string[]) => execFileSync('bash', [SUMMARY, String(extra), ...taps], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();

test('skips and to-dos are counted apart from passes, nested ones included', () => {
  const dir = tempDir();
  const tap = tapOf(dir, 'mixed', FIXTURE);
  // Passed: "passes", "nested pass" and the group holding them (node counts the group as a test).
  assert.equal(summarise(0, tap), '3 passed, 1 failed, 5 skipped');
  assert.equal(summarise(2, tap, tap), '6 passed, 4 failed, 10 skipped', 'files add up, and failures outside the TAP count');
});

test('a TAP file the runner never finished counts its results and one failure more', () => {
  const dir = tempDir();
  const tap = tapOf(dir, 'mixed', FIXTURE);
  const cut = path.join(dir, 'cut.tap');
  const lines = fs.readFileSync(tap, 'utf8').split('\n');
  // Keep up to the "to do, passing" result: no runner summary at the end.
  fs.writeFileSync(cut, lines.slice(0, lines.findIndex((l) => /^ok 5 /.test(l)) + 1).join('\n') + '\n');
  assert.equal(summarise(0, cut), '1 passed, 1 failed, 4 skipped');
});
