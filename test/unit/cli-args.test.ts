/** The headless peer's command line: what it accepts, and what it refuses with a message a person can act on. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSessionCode } from '../../src/session';
import { parseCli, UsageError, USAGE } from '../../src/cli/args';
import { createOutput } from '../../src/cli/run';

test('share and join with every option', () => {
  const share = parseCli(['share', 'proj', '--name', 'Server', '--bootstrap', '127.0.0.1:4000,[::1]:4001', '--host', '127.0.0.1', '--exclude', '*.log', '--exclude', 'tmp/', '--max-file-size', '2.5', '--json', '--log-level', 'debug']);
  assert.equal(share.command, 'share');
  assert.equal(share.dir, 'proj');
  assert.equal(share.name, 'Server');
  assert.deepEqual(share.network.bootstrap, [{ host: '127.0.0.1', port: 4000 }, { host: '::1', port: 4001 }]);
  assert.equal(share.network.host, '127.0.0.1');
  assert.equal(share.network.firewalled, false, 'a private DHT on a LAN or loopback is reachable directly');
  assert.deepEqual(share.excludes, ['*.log', 'tmp/']);
  assert.equal(share.maxFileSize, 2.5 * 1024 * 1024);
  assert.equal(share.json, true);
  assert.equal(share.logLevel, 'debug');

  const code = createSessionCode();
  const join = parseCli(['join', code.toLowerCase().replace(/-/g, ' '), 'dest', '--force']);
  assert.equal(join.command, 'join');
  assert.equal(join.code, code, 'a code typed in lower case with spaces is understood');
  assert.equal(join.dir, 'dest');
  assert.equal(join.force, true);
  assert.equal(join.maxFileSize, 50 * 1024 * 1024);
  assert.equal(join.logLevel, 'warn');
  assert.equal(join.network.bootstrap, undefined, 'the public DHT by default');

  const link = parseCli(['join', `vscode://hyperpair.hyperpair/join?code=${encodeURIComponent(code)}`, 'dest']);
  assert.equal(link.code, code, 'an invite link works as a code');
});

test('help in every form', () => {
  for (const argv of [[], ['--help'], ['-h'], ['help'], ['share', 'x', '--help']]) assert.equal(parseCli(argv).command, 'help', argv.join(' '));
  assert.match(USAGE, /hyperpair share <dir>/);
  assert.match(USAGE, /hyperpair join <code> <dir>/);
});

test('mistakes are usage errors that say what is wrong', () => {
  const code = createSessionCode();
  const typo = code.slice(0, -1) + (code.endsWith('A') ? 'B' : 'A');
  const cases: Array<[string[], RegExp]> = [
    [['join', typo, 'dest'], /typo — check the code/],
    [['join', code.slice(0, 10), 'dest'], /too short/],
    [['join', code + '!', 'dest'], /"!" cannot appear/],
    [['join', code], /join takes a code and a folder/],
    [['share'], /share takes one folder/],
    [['share', 'a', 'b'], /share takes one folder/],
    [['sync', 'x'], /unknown command "sync"/],
    [['share', 'x', '--bootstrap', 'nonsense'], /is not a bootstrap node/],
    [['share', 'x', '--bootstrap', 'host:99999'], /is not a bootstrap node/],
    [['share', 'x', '--max-file-size', 'big'], /--max-file-size takes a number/],
    [['share', 'x', '--max-file-size=-1'], /--max-file-size takes a number/],
    // Not "ambiguous" (parseArgs' word for a value that starts with "-"): what is wrong with it.
    [['share', 'x', '--max-file-size', '-5'], /^--max-file-size takes a number of megabytes greater than 0, not "-5"$/],
    [['share', 'x', '--name', '--force'], /^--name needs a value; .*write --name=<value>/],
    [['share', 'x', '--host', '203.0.113.7'], /^--host: "203\.0\.113\.7" is not an address of this machine/],
    [['share', 'x', '--host', 'localhost'], /^--host: "localhost" is not an IP address/],
    [['share', 'x', '--log-level', 'loud'], /--log-level takes one of/],
    [['share', 'x', '--frobnicate'], /Unknown option '--frobnicate'/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseCli(argv), (err: unknown) => err instanceof UsageError && message.test(err.message), argv.join(' '));
  }
});

test('output is text for people, or one JSON object per line', () => {
  const lines: string[] = [];
  createOutput(false, (s) => lines.push(s)).line('+ Ann joined', { event: 'peer-join', name: 'Ann' });
  createOutput(true, (s) => lines.push(s)).line('+ Ann joined', { event: 'peer-join', name: 'Ann' });
  assert.deepEqual(lines, ['+ Ann joined\n', '{"event":"peer-join","name":"Ann"}\n']);
});

test('relays, LAN discovery and the relay command', () => {
  const key = 'ab'.repeat(32);
  const share = parseCli(['share', 'proj', '--relay', key, '--relay', key.toUpperCase(), '--no-lan']);
  assert.deepEqual(share.relays.map((k) => k.toString('hex')), [key, key]);
  assert.equal(share.lan, false);
  assert.equal(parseCli(['share', 'proj']).lan, true, 'LAN discovery is on by default');
  assert.deepEqual(parseCli(['share', 'proj']).relays, []);
  assert.throws(() => parseCli(['share', 'proj', '--relay', 'abc']), (err: Error) => err instanceof UsageError && /not a relay key/.test(err.message));
  const relay = parseCli(['relay', '--key-file', 'relay.key', '--bootstrap', '127.0.0.1:4000']);
  assert.equal(relay.command, 'relay');
  assert.equal(relay.keyFile, 'relay.key');
  assert.throws(() => parseCli(['relay', 'extra']), UsageError);
  assert.match(USAGE, /hyperpair relay/);
  assert.match(USAGE, /--no-lan/);
  const only = parseCli(['join', createSessionCode(), 'd', '--relay', key, '--relay-only', '--bootstrap', '127.0.0.1:4000']);
  assert.equal(only.network.holepunch, false);
  assert.equal(only.network.firewalled, true);
  assert.throws(() => parseCli(['share', 'proj', '--relay-only']), /needs at least one --relay/);
});

test('share --admission and --guests: defaults, the values, and a clear refusal of anything else', () => {
  const plain = parseCli(['share', 'proj']);
  assert.equal(plain.admission, 'anyone');
  assert.equal(plain.guests, 'edit');
  const asked = parseCli(['share', 'proj', '--admission', 'ask', '--guests', 'read-only']);
  assert.equal(asked.admission, 'ask');
  assert.equal(asked.guests, 'read-only');
  assert.throws(() => parseCli(['share', 'proj', '--admission', 'maybe']), (e: Error) => e instanceof UsageError && /--admission takes anyone or ask, not "maybe"/.test(e.message));
  assert.throws(() => parseCli(['share', 'proj', '--guests', 'viewer']), (e: Error) => e instanceof UsageError && /--guests takes edit or read-only/.test(e.message));
  assert.throws(() => parseCli(['join', createSessionCode(), 'dest', '--admission', 'ask']), (e: Error) => e instanceof UsageError && /for share/.test(e.message));
  assert.match(USAGE, /--admission <anyone\|ask>/);
});

test('restore: a folder, optionally a file and a version; mistakes say what is wrong', () => {
  const list = parseCli(['restore', 'proj']);
  assert.equal(list.command, 'restore');
  assert.equal(list.dir, 'proj');
  assert.equal(list.restorePath, undefined);
  const one = parseCli(['restore', 'proj', './src\\a.ts', '--version', '3']);
  assert.equal(one.restorePath, 'src/a.ts');
  assert.equal(one.version, 3);
  const cases: Array<[string[], RegExp]> = [
    [['restore'], /restore takes a folder/],
    [['restore', 'a', 'b', 'c'], /restore takes a folder/],
    [['restore', 'a', 'b', '--version', '0'], /--version takes a version number/],
    [['restore', 'a', 'b', '--version', 'latest'], /--version takes a version number/],
    [['restore', 'a', '--version', '1'], /--version needs the file/],
    [['share', 'a', '--version', '1'], /--version is for restore/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseCli(argv), (err: unknown) => err instanceof UsageError && message.test(err.message), argv.join(' '));
  }
  assert.match(USAGE, /hyperpair restore <dir>/);
});
