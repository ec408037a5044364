/**
 * The headless peer's shared servers and chat, as processes: `share --port` shares a real HTTP
 * server, the joiner prints where it is reachable and a request through that address is answered by
 * the sharer's server; "say" on one peer's standard input is printed by the other; `--record-call`
 * records what a member says in the call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Session } from '../../src/session/session';
import { SessionCall } from '../../src/session/voice/call';
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
    await waitFor(() => !!event(sharer, 'server-shared'), 'the server shared (after the folder is read)');
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

test('join --record-call: the headless peer records what a member says in the call as Ogg Opus', async () => {
  const dir = tempDir();
  writeTree(dir, { 'a.txt': 'a' });
  const sharer = cli(['share', dir, '--name', 'Ada', ...net()]);
  await waitFor(() => !!event(sharer, 'code'), 'the session code');
  const file = path.join(tempDir(), 'call.ogg');
  const joiner = cli(['join', String(event(sharer, 'code')!.code), tempDir() + '/b', '--name', 'Bob', '--record-call', file, ...net()]);
  await waitFor(() => !!event(joiner, 'call-joined'), 'the joiner to be in the call');
  // A speaker: a member in-process whose call sends 50 frames (Opus's 20 ms silence packet).
  const speaker = new Session({ code: String(event(sharer, 'code')!.code), name: 'Cy', network: bed.net().network, lan: false });
  const call = new SessionCall(speaker);
  try {
    await speaker.ready();
    call.join();
    await waitFor(() => call.members().some((m) => m.peer.name === 'Bob'), 'Cy to see Bob in the call');
    // And Bob to see Cy: a frame that comes before Cy's "in the call" is not heard (call.ts), and on a
    // loaded machine a datagram can overtake that message on the stream.
    const seesCy = (e: Record<string, unknown>) => e.event === 'call-members' && Array.isArray(e.names) && e.names.includes('Cy');
    await waitFor(() => joiner.events.some(seesCy), 'Bob to see Cy in the call');
    for (let i = 0; i < 50; i++) call.send({ time: 1000 + i * 20, level: 0, data: new Uint8Array([0xf8, 0xff, 0xfe]) });
    await waitFor(() => !!event(joiner, 'call-recording'), 'the joiner to record Cy');
    assert.equal(event(joiner, 'call-recording')!.name, 'Cy');
    // All 50 frames written before the recorder stops: its JSON says how long each recording is, so
    // stop only once the last frame can have arrived (the frames are sent back to back on one stream).
    await waitFor(() => fs.existsSync(file) && fs.statSync(file).size >= 50 * (27 + 1 + 3), 'the frames on disk');
    joiner.child.kill('SIGINT');
    await joiner.exit;
    const recorded = event(joiner, 'call-recorded') as { files: Array<{ file: string; seconds: number }> } | undefined;
    assert.deepEqual(recorded?.files, [{ file, seconds: 1 }]);
    const bytes = fs.readFileSync(file);
    const pages = bytes.toString('latin1').split('OggS').length - 1;
    assert.equal(pages, 2 + 50 + 1, 'OpusHead, OpusTags, one page per packet, the end');
    assert.ok(bytes.includes(Buffer.from('OpusHead')) && bytes.includes(Buffer.from('OpusTags')));
  } finally {
    call.close();
    await speaker.leave();
  }
});
