/**
 * Shared terminals in the headless peer, as real processes: `share --terminal` shares a shell, the
 * joiner prints its output, may type only after "terminal allow", and sees it closed on "terminal
 * stop". Plus how terminal output becomes plain lines in text mode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plainLines } from '../../src/cli/terminals';
import { cliTestbed, spawnCli, type Proc } from '../helpers/cli';
import { CODE_SERVER_PTY } from '../helpers/pty';
import { waitFor } from '../helpers/testnet';
import { tempDir, writeTree } from '../helpers/tree';

const bed = cliTestbed();
const env = { ...process.env, HYPERPAIR_NODE_PTY: CODE_SERVER_PTY, SHELL: '/bin/bash' };
const cli = (args: string[]): Proc => {
  const p = spawnCli(args, [], true, env);
  bed.track(p.child);
  return p;
};
const net = () => ['--bootstrap', bed.net().bootstrapSpec, '--host', '127.0.0.1', '--no-lan'];
const events = (p: Proc, name: string) => p.events.filter((e) => e.event === name);
const output = (p: Proc) => events(p, 'terminal-output').map((e) => String(e.data)).join('');

test('share --terminal: the joiner prints its output, types once allowed, and sees it stopped', async () => {
  const dir = tempDir();
  writeTree(dir, { 'a.txt': 'a' });
  const sharer = cli(['share', dir, '--name', 'Ada', '--terminal', ...net()]);
  await waitFor(() => events(sharer, 'code').length > 0, 'the session code');
  await waitFor(() => events(sharer, 'terminal-opened').length > 0 || events(sharer, 'terminal-problem').length > 0, 'the sharer to share its terminal');
  assert.equal(events(sharer, 'terminal-opened')[0]?.mine, true, JSON.stringify(events(sharer, 'terminal-problem')));
  const joiner = cli(['join', String(events(sharer, 'code')[0].code), tempDir() + '/b', '--name', 'Bob', ...net()]);
  await waitFor(() => events(joiner, 'terminal-opened').length > 0, 'the joiner to see the terminal');
  assert.equal(events(joiner, 'terminal-opened')[0].name, 'Ada');

  sharer.child.stdin.write('type echo ada-$((6*7))\n');
  await waitFor(() => output(joiner).includes('ada-42'), 'the joiner to print the output');

  joiner.child.stdin.write('type echo bob-$((2*3))\n');
  await waitFor(() => events(joiner, 'terminal-problem').length > 0, 'the joiner to be told it may not type');
  assert.match(String(events(joiner, 'terminal-problem')[0].message), /no terminal you may type in/);

  sharer.child.stdin.write('terminal allow Bob\n');
  await waitFor(() => events(joiner, 'terminal-changed').some((e) => e.canType === true), 'the joiner to be allowed');
  joiner.child.stdin.write('type echo bob-$((2*21))\n');
  await waitFor(() => output(sharer).includes('bob-42'), 'the sharer to see what the joiner typed run');
  await waitFor(() => events(sharer, 'terminal-typed').some((e) => e.name === 'Bob'), 'the sharer to see who typed');
  assert.ok(!output(sharer).includes('bob-6'), 'what was typed before the grant never ran');

  sharer.child.stdin.write('terminal stop\n');
  await waitFor(() => events(joiner, 'terminal-closed').length > 0, 'the joiner to see the terminal closed');
  assert.match(String(events(joiner, 'terminal-closed')[0].reason), /Ada: stopped sharing/);
});

test('text mode prints terminal output as plain lines: no escape sequences, carriage returns overwrite', () => {
  const first = plainLines('', '\x1b]0;title\x07\x1b[31mred\x1b[0m text\r\n50%\r100%\r\npart');
  assert.deepEqual(first.lines, ['red text', '100%']);
  assert.equal(first.rest, 'part');
  const second = plainLines(first.rest, 'ial\n');
  assert.deepEqual(second.lines, ['partial']);
  const long = plainLines('', 'x'.repeat(10_000));
  assert.equal(long.lines.length, 2);
  assert.equal(long.rest.length, 10_000 - 2 * 4096);
});
