/**
 * Delegation in two real VS Code instances (issue 17): the owner (Alice) lets Bob manage people;
 * Bob, from his own window, makes a third member (Cy, a headless peer) read-only and then removes
 * him — the owner's Hyperpair checks and signs each change, everyone sees it, and Cy is told and
 * leaves. Alice then takes it back.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnCli } from '../helpers/cli';
import { sessionPairSuite, until } from './fixture';

const { pair, editorTest } = sessionPairSuite({ 'notes.txt': 'shared notes\n' });

interface Row {
  id: string;
  name: string;
  person?: string;
  standing?: string;
  connection: string;
}

async function rowOf(who: 'a' | 'b', name: string, check: (r: Row) => boolean = () => true): Promise<Row> {
  let row: Row | undefined;
  await until(async () => {
    row = (await pair()[who].testApi<Row[]>('participants')).find((r) => r.name.startsWith(name) && check(r));
    return !!row;
  }, `${name}'s row in ${who}'s participants view`, 60_000);
  return row!;
}

editorTest('the owner lets Bob manage people; Bob makes Cy read-only, then removes him; Alice takes it back', async () => {
  const { a, b, network } = pair();
  const code = await a.testApi<string>('sessionCode');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperpair-delegation-'));
  const cy = spawnCli(['join', code, path.join(dir, 'cy'), '--name', 'Cy', '--bootstrap', network.bootstrapSpec, '--host', '127.0.0.1', '--no-lan'], []);
  try {
    await rowOf('a', 'Cy', (r) => r.connection !== 'indirect');
    const cyAtB = await rowOf('b', 'Cy', (r) => r.connection !== 'indirect');

    await a.command('hyperpair.letManagePeople', await rowOf('a', 'Bob'));
    // Bob asks as soon as his window knows he may (the owner's word travels to him first).
    await until(async () => {
      await b.command('hyperpair.makeReadOnly', cyAtB);
      const rows = await a.testApi<Row[]>('participants');
      return rows.some((r) => r.name.startsWith('Cy') && r.standing === 'read-only');
    }, 'Cy read-only at Alice, asked by Bob', 60_000);
    await rowOf('b', 'Cy', (r) => r.standing === 'read-only');

    await b.command('hyperpair.removeParticipant', cyAtB, { confirmed: true });
    await until(() => cy.child.exitCode !== null || cy.events.some((e) => e.event === 'removed'), 'Cy to be told and leave', 60_000).catch((err: Error) => {
      // What Cy heard, and whether the owner's Hyperpair refused Bob (shown to him, not thrown).
      throw new Error(`${err.message}; Cy's last lines: ${JSON.stringify(cy.events.slice(-8))}; ${cy.stderr().slice(-2000)}`);
    });
    await until(async () => !(await a.testApi<Row[]>('participants')).some((r) => r.name.startsWith('Cy')), 'Cy gone from Alice\'s view', 60_000);

    await a.command('hyperpair.stopManagingPeople', await rowOf('a', 'Bob'));
    assert.equal((await a.testApi<unknown[]>('peers')).length, 1, 'Alice and Bob still in');
  } finally {
    if (cy.child.exitCode === null) cy.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 240_000);
