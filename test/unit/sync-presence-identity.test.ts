/**
 * Presence bound to authenticated keys (src/sync/presence-identity.ts): nobody appears as somebody
 * else. Real SharedWorkspaces over the in-process transport, in a topology with a relay
 * (a—b—c, no a—c link) and a malicious member m connected to a and b.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedWorkspace } from '../../src/sync/workspace';
import { PresenceIdentity } from '../../src/sync/presence-identity';
import { MemoryTransport, link } from '../helpers/memory-transport';
import { waitFor } from '../helpers/testnet';

function peer(name: string, mode: 'share' | 'join' = 'join') {
  const transport = new MemoryTransport(name);
  const ws = new SharedWorkspace({ transport, mode });
  const identity = new PresenceIdentity(ws.awareness, transport);
  return { transport, ws, identity, id: transport.self.id };
}

/** Everything `from` relayed to `to` so far has arrived: the transport delivers in order per link. */
async function flushed(from: Peer, to: Peer): Promise<void> {
  const mark = Math.random();
  from.ws.awareness.setLocalStateField('mark', mark);
  await waitFor(() => (to.ws.awareness.getStates().get(from.ws.awareness.clientID) as { mark?: number } | undefined)?.mark === mark, 'a round trip', 10_000);
}

type Peer = ReturnType<typeof peer>;

test('a member cannot appear as another; relayed presence is shown; names are the authenticated ones, sanitised', async () => {
  const a = peer('a', 'share');
  const b = peer('b');
  const c = peer('c');
  const m = peer('d'); // the malicious one ('d': peer ids are hex)
  const all = [a, b, c, m];
  try {
    link(a.transport, b.transport);
    link(b.transport, c.transport);
    link(a.transport, m.transport);
    link(b.transport, m.transport);
    b.ws.awareness.setLocalStateField('user', { id: b.id, name: 'Bob', colour: '#00ff00' });
    c.ws.awareness.setLocalStateField('user', { id: c.id, name: '\u202EloraC\u202C [x](command:evil) ' + 'z'.repeat(10_000), colour: '#0000ff' });
    // m claims to be b (whom a hears directly), in its own state...
    m.ws.awareness.setLocalStateField('user', { id: b.id, name: 'Bob', colour: '#00ff00' });

    const claims = (id: string) => [...a.identity.others().values()].filter((p) => p.user?.id === id);
    await waitFor(() => claims(b.id).length === 1 && claims(c.id).length === 1, 'b\'s and c\'s presence at a', 10_000);
    // Give m's forgery every chance to arrive (directly, and through b if b relayed it): wait until
    // a holds m's raw state, then for the relay to have had its turn (b holds it too).
    await waitFor(() => a.ws.awareness.getStates().has(m.ws.awareness.clientID) && b.ws.awareness.getStates().has(m.ws.awareness.clientID), 'm\'s state at a and b', 10_000);
    await waitFor(() => a.ws.awareness.getStates().has(c.ws.awareness.clientID), 'c\'s state relayed to a', 10_000);
    await flushed(b, a);

    const seenB = claims(b.id);
    assert.equal(seenB.length, 1, 'only b\'s own state speaks for b');
    assert.equal([...a.identity.others().keys()].includes(m.ws.awareness.clientID), false, 'm\'s forgery is not shown');
    assert.equal(seenB[0].verified, true);
    assert.equal(seenB[0].user?.name, b.transport.self.name, 'a verified presence shows the name of the authenticated hello');

    const seenC = claims(c.id)[0];
    assert.equal(seenC.verified, false, 'c is heard only through b');
    assert.equal(seenC.user?.name.includes('\u202E'), false);
    assert.equal(seenC.user?.name.includes(']('), false);
    assert.equal([...(seenC.user?.name ?? '')].length, 64);

    // m claiming to be a itself, to a (and to b, who must not relay it as if it were a's).
    m.ws.awareness.setLocalStateField('user', { id: a.id, name: 'a', colour: '#123456' });
    await waitFor(() => (a.ws.awareness.getStates().get(m.ws.awareness.clientID) as { user?: { id?: string } } | undefined)?.user?.id === a.id, 'm\'s second forgery at a', 10_000);
    await waitFor(() => (b.ws.awareness.getStates().get(m.ws.awareness.clientID) as { user?: { id?: string } } | undefined)?.user?.id === a.id, 'm\'s second forgery at b', 10_000);
    await flushed(a, b);
    assert.equal([...a.identity.others().values()].some((p) => p.user?.id === a.id), false, 'nobody else is shown as a, to a');
    const atB = [...b.identity.others().entries()].filter(([, p]) => p.user?.id === a.id);
    assert.equal(atB.length, 0, 'b hears a directly: a state claiming a that a never sent is not shown');
    // A newcomer connected to a only gets a's states on joining: not the one claiming to be a.
    a.ws.awareness.setLocalStateField('user', { id: a.id, name: 'Ann', colour: '#ff00ff' });
    const e = peer('e');
    all.push(e);
    link(a.transport, e.transport);
    await waitFor(() => [...e.identity.others().values()].some((p) => p.user?.id === a.id), 'a\'s presence at the newcomer', 10_000);
    await waitFor(() => e.ws.awareness.getStates().has(b.ws.awareness.clientID), 'the others\' states at the newcomer', 10_000);
    await flushed(a, e);
    assert.equal([...e.identity.others().values()].filter((p) => p.user?.id === a.id).length, 1, 'only a speaks for a, to a newcomer');

    // And when m finally speaks as itself, it is shown, with its own authenticated name.
    m.ws.awareness.setLocalStateField('user', { id: m.id, name: 'whatever', colour: '#123456' });
    await waitFor(() => claims(m.id).length === 1, 'm as itself', 10_000);
    assert.equal(claims(m.id)[0].user?.name, 'd');
  } finally {
    for (const p of all) {
      p.identity.dispose();
      p.ws.close();
    }
  }
});
