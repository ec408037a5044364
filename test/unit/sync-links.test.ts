/**
 * Forwarding only where needed (issue 15, docs/PROTOCOL.md §6.2): peers publish who they are connected
 * to, and a change from S is not passed on to a member that S is linked to. Counted on an in-process
 * mesh of eight: an edit is 7 messages in a full mesh (it was 7 + 42), and so is a change of presence
 * (awareness is relayed by the same rule); a missing link still delivers, and a link that drops while a
 * change is on its way is healed by the resync that follows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerLinks, readLinks } from '../../src/sync/links';
import { MemoryTransport, unlink } from '../helpers/memory-transport';
import { linksKnown, mesh, ticks, type MeshPeer } from '../helpers/mesh';
import { waitFor } from '../helpers/testnet';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';

/**
 * Every peer's copy of the text, once all hold it. A text's first edit also marks its index entry
 * `edited` (§6.1, once per text): made here, so that the counts below are of the edits alone.
 */
async function loadAll(peers: MeshPeer[], id: string): Promise<Y.Text[]> {
  const texts = await Promise.all(peers.map((p) => p.ws.text(id)));
  texts[0].insert(0, '.');
  const edited = (p: MeshPeer) => p.ws.index.getMap<Y.Map<unknown>>('files').get(id)?.get('edited') === true;
  await waitFor(() => peers.every(edited) && texts.every((t) => t.toString().startsWith('.')), 'the first edit everywhere');
  return texts;
}

test('full mesh of eight: an edit is 7 messages, not 7 + 42, and reaches everyone', async () => {
  const peers = mesh(8);
  try {
    const f = peers[0].ws.createText('notes.md', 'start', 'disk');
    const texts = await loadAll(peers, f.id);
    await waitFor(() => linksKnown(peers), 'every peer knows every link');
    await ticks(10);
    for (const [round, author] of [0, 3, 7].entries()) {
      for (const p of peers) p.updates = 0;
      texts[author].insert(0, `<${round}>`);
      await waitFor(() => texts.every((t) => t.toString().startsWith(`<${round}>`)), `edit ${round} everywhere`);
      await ticks(10); // anything forwarded needlessly would be on its way now
      const sent = peers.reduce((n, p) => n + p.updates, 0);
      assert.equal(sent, 7, `round ${round}: ${sent} update messages`);
    }
  } finally {
    for (const p of peers) p.ws.close();
  }
});

test('full mesh of eight: a change of presence is relayed by the same rule, 7 messages and not 7 + 42', async () => {
  const peers = mesh(8);
  try {
    await waitFor(() => linksKnown(peers), 'every peer knows every link');
    await ticks(10);
    for (const [round, author] of [0, 5].entries()) {
      for (const p of peers) p.awareness = 0;
      peers[author].ws.awareness.setLocalStateField('file', { id: String(round).repeat(32), path: `f${round}.md` });
      const seen = (p: MeshPeer) => (p.ws.awareness.getStates().get(peers[author].ws.awareness.clientID) as { file?: { path?: string } } | undefined)?.file?.path === `f${round}.md`;
      await waitFor(() => peers.every(seen), `presence ${round} everywhere`);
      await ticks(10);
      const sent = peers.reduce((n, p) => n + p.awareness, 0);
      assert.equal(sent, 7, `round ${round}: ${sent} awareness messages`);
    }
  } finally {
    for (const p of peers) p.ws.close();
  }
});

test('a mesh of eight missing one link: edits still reach both ends, with few duplicates', async () => {
  const peers = mesh(8, { skip: [[1, 2]] });
  try {
    const f = peers[0].ws.createText('notes.md', 'start', 'disk');
    const texts = await loadAll(peers, f.id);
    await waitFor(() => linksKnown(peers), 'every peer knows every link');
    await ticks(10);
    for (const [from, to] of [
      [1, 2],
      [2, 1],
    ]) {
      for (const p of peers) p.updates = 0;
      texts[from].insert(0, `<${from}>`);
      await waitFor(() => texts[to].toString().startsWith(`<${from}>`), `${from}'s edit on ${to}`);
      await waitFor(() => texts.every((t) => t.toString() === texts[0].toString()), 'every text the same');
      await ticks(10);
      const sent = peers.reduce((n, p) => n + p.updates, 0);
      // 6 from the author, then each of its 6 neighbours passes it across the missing link once.
      assert.equal(sent, 12, `${sent} update messages`);
    }
  } finally {
    for (const p of peers) p.ws.close();
  }
});

test('a link that drops while a change is on its way: the change still arrives (resync)', async () => {
  const peers = mesh(8);
  try {
    const f = peers[0].ws.createText('notes.md', 'start', 'disk');
    const texts = await loadAll(peers, f.id);
    await waitFor(() => linksKnown(peers), 'every peer knows every link');
    // The edit leaves after the link is cut; the others still believe in the link when it reaches them.
    texts[1].insert(0, '<lost?>');
    unlink(peers[1].transport, peers[2].transport);
    await waitFor(() => texts[2].toString().startsWith('<lost?>'), 'the edit on the far end of the dropped link', 10_000);
  } finally {
    for (const p of peers) p.ws.close();
  }
});

test('links are believed only from the peer itself and only when both ends claim them', () => {
  const self = new MemoryTransport('e0');
  const doc = new Y.Doc();
  const awareness = new awarenessProtocol.Awareness(doc);
  const links = new PeerLinks(awareness, self);
  const s = 'a1'.padEnd(64, '0');
  const p = 'b2'.padEnd(64, '0');
  const claim = (of: string, peers: string[]) => {
    const d = new Y.Doc();
    const a = new awarenessProtocol.Awareness(d);
    a.setLocalStateField('links', { of, peers: peers.map((x) => x.slice(0, 16)) });
    const u = awarenessProtocol.encodeAwarenessUpdate(a, [d.clientID]);
    a.destroy();
    return u;
  };
  links.heard(s, claim(s, [p]));
  assert.equal(links.covers(s, p), false, 'one end only');
  links.heard(s, claim(p, [s])); // p's claim delivered by s: a forgery
  assert.equal(links.covers(s, p), false, 'a claim about p from s');
  links.heard(p, claim(p, [s]));
  assert.equal(links.covers(s, p), true, 'both ends');
  assert.equal(links.covers(undefined, p), false, 'a local change goes everywhere');
  links.forget(p);
  assert.equal(links.covers(s, p), false, 'p left');
  assert.equal(readLinks({ of: s, peers: ['zz', 42, p.slice(0, 16)] })?.peers.length, 1, 'malformed entries dropped');
  assert.equal(readLinks({ of: 'x', peers: [] }), undefined);
  links.close();
  awareness.destroy();
});
