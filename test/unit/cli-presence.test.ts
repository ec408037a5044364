/**
 * The headless peer's presence (docs/PROTOCOL.md §6.1, issue 15): the `hyperpair` process publishes
 * `user: {id, name, colour}`, `file: null` and `selections: []`, and another peer on the testnet shows
 * its name and colour, sanitised, as those of its authenticated hello.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { spawnCli } from '../helpers/cli';
import { usePeers } from '../helpers/peers';
import { waitFor } from '../helpers/testnet';
import { tempDir, writeTree } from '../helpers/tree';
import { parseCli, UsageError } from '../../src/cli/args';

const { start, cliNetworkArgs } = usePeers();
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

test('--colour: #rrggbb in either case, sent in lower case; anything else is a usage error', () => {
  assert.equal(parseCli(['share', 'x', '--colour', '#A1b2C3']).colour, '#a1b2c3');
  assert.equal(parseCli(['share', 'x']).colour, undefined);
  for (const bad of ['red', '#abc', 'a1b2c3', '#a1b2c3d']) {
    assert.throws(() => parseCli(['share', 'x', '--colour', bad]), (err: unknown) => err instanceof UsageError && /--colour takes a colour as #rrggbb/.test(err.message), bad);
  }
});

test('a hyperpair process publishes user {id, name, colour} and no file; the other side shows its name sanitised and its colour', async () => {
  const dir = tempDir();
  writeTree(dir, { 'a.txt': 'a\n' });
  // An escape sequence and a right-to-left override in the name: neither may reach another screen.
  const name = 'Eve\u001b[31m \u202eliaM';
  const cli = spawnCli(['share', dir, '--name', name, '--colour', '#A1B2C3', '--no-lan', ...cliNetworkArgs()], children);
  try {
    await waitFor(() => cli.events.some((e) => e.event === 'ready'), 'the process shares its folder', 60_000);
    const code = String(cli.events.find((e) => e.event === 'code')!.code);
    const joiner = await start({ mode: 'join', code, dir: path.join(tempDir(), 'b'), name: 'Bob', lan: false });
    const [member] = joiner.session.peers();
    assert.ok(member, 'the process is a member');
    await waitFor(() => joiner.presence.others().size > 0, 'the process\'s presence on the joiner', 30_000);

    // What the process itself put on the wire (its own name already cleaned by its session).
    const raw = [...joiner.workspace.awareness.getStates().entries()].find(([client]) => client !== joiner.workspace.awareness.clientID)?.[1] as Record<string, unknown>;
    assert.deepEqual(raw.user, { id: member.id, name: 'Eve[31m liaM', colour: '#a1b2c3' });
    assert.equal(raw.file, null, 'no active file: the headless peer has no editor');
    assert.deepEqual(raw.selections, []);

    // What the joiner shows: the verified presence of a directly connected member.
    const [shown] = [...joiner.presence.others().values()];
    assert.deepEqual(shown.user, { id: member.id, name: 'Eve[31m liaM', colour: '#a1b2c3' });
    assert.equal(shown.verified, true);
    assert.equal(shown.file, null);
    assert.equal(member.name, 'Eve[31m liaM', 'the hello says the same');
  } finally {
    cli.child.kill('SIGINT');
    await cli.exit;
  }
});
