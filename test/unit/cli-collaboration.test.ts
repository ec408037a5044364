/**
 * The headless peer's shared servers and chat, as processes: `share --port` shares a real HTTP
 * server, the joiner prints where it is reachable and a request through that address is answered by
 * the sharer's server; "say" on one peer's standard input is printed by the other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliTestbed, spawnCli, type Proc } from '../helpers/cli';
import { startHttpWsServer } from '../helpers/servers';
import { waitFor } from '../helpers/testnet';
import { tempDir, writeTree } from '../helpers/tree';

const bed = cliTestbed();
const cli = (args: string[]): Proc => {
  const p = spawnCli(args, []);
  bed.track(p.child);
  return p;
};
const net = () => ['--bootstrap', bed.net().bootstrapSpec, '--host', '127.0.0.1', '--no-lan'];
const event = (p: Proc, name: string) => p.events.find((e) => e.event === name);

test('share --port: the joiner prints where the server is reachable, and it answers there; say is printed on the other side', async () => {
  const web = await startHttpWsServer('from the sharer');
  const dir = tempDir();
  writeTree(dir, { 'a.txt': 'a' });
  const sharer = cli(['share', dir, '--name', 'Ada', '--port', String(web.port), ...net()]);
  try {
    await waitFor(() => !!event(sharer, 'code'), 'the session code');
    assert.deepEqual(event(sharer, 'server-shared'), { event: 'server-shared', port: web.port });
    const joiner = cli(['join', String(event(sharer, 'code')!.code), tempDir() + '/b', '--name', 'Bob', ...net()]);
    await waitFor(() => !!event(joiner, 'server-reachable'), 'the joiner to print the shared server');
    const r = event(joiner, 'server-reachable')!;
    assert.equal(r.remotePort, web.port);
    assert.equal(r.name, 'Ada');
    const res = await fetch(`http://127.0.0.1:${r.localPort}/page`);
    assert.equal(await res.text(), 'from the sharer /page');

    joiner.child.stdin.write('say hello @Ada, see a.txt:1\n');
    await waitFor(() => !!event(sharer, 'chat'), 'the sharer to print the message');
    const said = event(sharer, 'chat')!;
    assert.equal(said.name, 'Bob');
    assert.equal(said.text, 'hello @Ada, see a.txt:1');
    assert.equal(said.mentionsMe, true);
  } finally {
    await web.close();
  }
});
