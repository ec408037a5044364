/**
 * A member reached over a newer connection (src/session/transport.ts `peer-renewed`): two connections
 * between the same peers (LAN and DHT) were open at once, each side keeps the newer, and what was in
 * flight on the dropped one is gone, both ways, with no leave on the side that replaced it. A
 * two-editor run hung for good so: the joiner's `step 1` for the index was lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedWorkspace } from '../../src/sync/workspace';
import { MemoryTransport, link } from '../helpers/memory-transport';
import { waitFor } from '../helpers/testnet';

/** Drops every message `t` sends while `dropping()` is true. */
function lossy(t: MemoryTransport, dropping: () => boolean): void {
  const send = t.send.bind(t);
  t.send = (peer, data) => (dropping() ? true : send(peer, data));
}

test('a member renewed after messages were lost: the one told asks again for what it lacks, the index and edits', async () => {
  const [ta, tb] = [new MemoryTransport('renew-a'), new MemoryTransport('renew-b')];
  const a = new SharedWorkspace({ transport: ta, mode: 'share' });
  const notes = a.createText('notes.md', 'hello\n', 'editor');
  const b = new SharedWorkspace({ transport: tb, mode: 'join' });
  let lost = false;
  lossy(ta, () => lost);
  try {
    link(ta, tb);
    await b.whenIndexReady();
    const atB = await b.text(notes.id);
    await waitFor(() => atB.toString() === 'hello\n', 'the text at b');
    // The old connection drops what a sends: an edit and a new file never reach b.
    lost = true;
    (await a.text(notes.id)).insert(0, 'from a: ');
    a.createText('new.md', 'made meanwhile\n', 'editor');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(atB.toString(), 'hello\n');
    lost = false;
    // b's newer connection replaces the old one: no leave, no join.
    tb.emit('peer-renewed', ta.self);
    await waitFor(() => atB.toString() === 'from a: hello\n', "a's lost edit at b", 5000);
    await waitFor(() => b.byPath('new.md') !== undefined, "a's lost file at b", 5000);
  } finally {
    a.close();
    b.close();
  }
});

test('a joiner whose step 1 for the index was lost gets the index when its member is renewed', async () => {
  const [ta, tb] = [new MemoryTransport('renew-c'), new MemoryTransport('renew-d')];
  const a = new SharedWorkspace({ transport: ta, mode: 'share' });
  a.createText('x.md', 'x\n', 'editor');
  const b = new SharedWorkspace({ transport: tb, mode: 'join' });
  let lost = true;
  lossy(tb, () => lost);
  let ready = false;
  void b.whenIndexReady().then(() => (ready = true));
  try {
    link(ta, tb);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(ready, false, 'its step 1 is lost');
    lost = false;
    tb.emit('peer-renewed', ta.self);
    await waitFor(() => ready && b.byPath('x.md') !== undefined, 'the index at the joiner, well before the 3 s re-ask', 2000);
  } finally {
    a.close();
    b.close();
  }
});
