/**
 * A member who joins the session while a call is running (issue 19, CI: the two-editor call test's
 * recorder never heard Alice and Bob): Ada and Bob are full peers talking in the call, then a headless
 * member joins with --record-call and must hear both of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startPeer, type RunningPeer } from '../../src/app/peer';
import { SessionCall } from '../../src/session/voice/call';
import { cliTestbed, spawnCli, type Proc } from '../helpers/cli';
import { waitFor } from '../helpers/testnet';
import { tempDir, writeTree } from '../helpers/tree';

const bed = cliTestbed();
const net = () => ['--bootstrap', bed.net().bootstrapSpec, '--host', '127.0.0.1', '--no-lan'];
const recordings = (p: Proc) => p.events.filter((e) => e.event === 'call-recording');

/** A member in the call saying a silence packet every 20 ms, as a call page does. */
function talk(peer: RunningPeer): { call: SessionCall; stop: () => void } {
  const call = new SessionCall(peer.session);
  call.join();
  let i = 0;
  const timer = setInterval(() => call.send({ time: Date.now(), level: 40 + (i++ % 10), data: new Uint8Array([0xf8, 0xff, 0xfe]) }), 20);
  return {
    call,
    stop: () => {
      clearInterval(timer);
      call.close();
    },
  };
}

test('a member who joins while Ada and Bob talk in the call hears both of them', { timeout: 180_000 }, async () => {
  const dir = tempDir();
  writeTree(dir, { 'a.txt': 'hello\n' });
  const ada = await startPeer({ mode: 'share', dir, name: 'Ada', network: bed.net().network, lan: false });
  const bob = await startPeer({ mode: 'join', code: ada.code, dir: tempDir() + '/b', name: 'Bob', network: bed.net().network, lan: false });
  const talkers = [talk(ada), talk(bob)];
  try {
    await waitFor(() => talkers.every((t) => t.call.members().length === 1 && t.call.received > 50), 'Ada and Bob to hear each other');
    const file = path.join(tempDir(), 'call.ogg');
    const rec = spawnCli(['join', ada.code, tempDir() + '/r', '--name', 'Rec', '--record-call', file, ...net(), '--log-level', 'debug'], []);
    bed.track(rec.child);
    await waitFor(() => recordings(rec).length === 2, 'the recorder to hear Ada and Bob', 60_000).catch((err: Error) => {
      throw new Error(`${err.message}: its events ${JSON.stringify(rec.events)}; Ada sees ${JSON.stringify(talkers[0].call.members().map((m) => m.peer.name))}, Bob sees ${JSON.stringify(talkers[1].call.members().map((m) => m.peer.name))}\n${rec.stderr().slice(-4000)}`);
    });
    assert.deepEqual(recordings(rec).map((e) => e.name).sort(), ['Ada', 'Bob']);
    // In the call from the start, not once the folder's first copy is written.
    await waitFor(() => rec.events.some((e) => e.event === 'joined'), 'the recorder to have the files');
    const order = rec.events.map((e) => e.event);
    assert.ok(order.indexOf('call-joined') < order.indexOf('joined'), `the call before the files: ${order.join(' ')}`);
    assert.ok(rec.events.some((e) => e.event === 'call-members' && JSON.stringify(e.names) === '["Ada","Bob"]'), 'it tells who is in the call');
    rec.child.kill('SIGINT');
    await rec.exit;
    assert.ok(fs.statSync(file).size > 0);
  } finally {
    for (const t of talkers) t.stop();
    await bob.close();
    await ada.close();
  }
});
