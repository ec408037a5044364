/**
 * The workspace model over real Sessions on a private hyperswarm testnet: three peers, the first
 * sharing. What a user meets: the joiners get everything byte for byte, concurrent typing from all
 * three converges, files created, renamed and deleted anywhere reach everyone, presence travels, and
 * the others carry on when the one who shared leaves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session, createSessionCode } from '../../src/session';
import { SharedWorkspace } from '../../src/sync/workspace';
import { createTestNetwork, waitFor } from '../helpers/testnet';

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 7 + (i >> 9)) & 255);

test('three peers over hyperswarm: initial sync, concurrent typing, file changes, presence, the sharer leaving', { timeout: 240_000 }, async () => {
  const net = await createTestNetwork();
  const code = createSessionCode();
  const names = ['A', 'B', 'C'];
  const sessions = names.map((name) => new Session({ code, name, network: net.network }));
  const ws = sessions.map((s, i) => new SharedWorkspace({ transport: s, mode: i === 0 ? 'share' : 'join' }));
  try {
    const [a, b, c] = ws;
    const readme = a.createText('docs/read me.md', '# Hyperpair\n\nshared notes\n', 'disk');
    const empty = a.createText('empty', '', 'disk');
    const image = a.createBinary('assets/ünï code.bin', bytes(700_000), 'disk');
    await Promise.all(sessions.map((s) => s.ready()));
    await waitFor(() => sessions.every((s) => s.peers().length === 2), 'a full mesh of three', 90_000);

    // Initial sync: the index, every text, and the binary (three chunks) byte for byte.
    for (const joiner of [b, c]) {
      await joiner.whenIndexReady();
      assert.deepEqual(joiner.files().map((f) => f.path).sort(), ['assets/ünï code.bin', 'docs/read me.md', 'empty']);
      assert.deepEqual(Buffer.from(await joiner.binary(image.id)), Buffer.from(bytes(700_000)));
      await joiner.whenComplete();
      assert.equal(joiner.loadedText(readme.id)?.toString(), '# Hyperpair\n\nshared notes\n');
      assert.equal(joiner.loadedText(empty.id)?.toString(), '');
      assert.equal(joiner.byId(image.id)?.hash, image.hash);
    }

    // Concurrent typing: everyone types into one file at once, at different places.
    const texts = await Promise.all(ws.map((w) => w.text(readme.id)));
    for (let round = 0; round < 40; round++) {
      texts.forEach((t, i) => {
        // At a boundary between markers (or an end), so that no marker splits another.
        const boundaries = [0, t.length, ...[...t.toString().matchAll(/>/g)].map((m) => m.index! + 1)];
        const at = boundaries[(round * 7 + i * 13) % boundaries.length];
        const marker = `<${names[i]}${round}>`;
        t.doc!.transact(() => t.insert(at, marker), 'editor');
        // Every fifth marker is deleted again by its author (while the others type elsewhere).
        if (round % 5 === 4) t.doc!.transact(() => t.delete(t.toString().indexOf(marker), marker.length), 'editor');
      });
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => texts.every((t) => t.toString() === texts[0].toString()), 'the three texts to converge', 60_000);
    for (const name of names) {
      for (let round = 0; round < 40; round++) {
        const kept = texts[0].toString().includes(`<${name}${round}>`);
        assert.equal(kept, round % 5 !== 4, `${name}${round} ${kept ? 'kept' : 'lost'}`);
      }
    }
    assert.ok(texts[0].toString().includes('shared notes'));

    // File changes from any peer reach the others.
    const fromC = c.createText('src/from c.ts', 'export const c = 1;\n', 'disk');
    b.rename(readme.id, 'README.md', 'disk');
    a.remove(empty.id, 'disk');
    c.updateBinary(image.id, bytes(300_000, 2), 'disk');
    await waitFor(
      () =>
        ws.every(
          (w) =>
            w.byId(fromC.id)?.path === 'src/from c.ts' &&
            w.byId(readme.id)?.path === 'README.md' &&
            w.byId(empty.id) === undefined &&
            w.byId(image.id)?.size === 300_000,
        ),
      'the changes on every peer',
      60_000,
    );
    assert.deepEqual(Buffer.from(await a.binary(image.id)), Buffer.from(bytes(300_000, 2)));
    assert.equal((await a.text(fromC.id)).toString(), 'export const c = 1;\n');

    // Presence: what one peer publishes, the others see.
    a.awareness.setLocalStateField('user', { id: sessions[0].self.id, name: 'A', colour: '#ff0000' });
    const seesA = (w: SharedWorkspace) =>
      [...w.awareness.getStates().values()].some((s) => (s as { user?: { name?: string } }).user?.name === 'A');
    await waitFor(() => seesA(b) && seesA(c), 'A\'s presence on B and C');

    // The sharer leaves; the others carry on.
    a.close();
    await sessions[0].leave();
    await waitFor(() => sessions[1].peers().length === 1 && sessions[2].peers().length === 1, 'B and C still connected', 60_000);
    await waitFor(() => !seesA(b) && !seesA(c), 'A\'s presence gone');
    texts[1].doc!.transact(() => texts[1].insert(0, 'after A left\n'), 'editor');
    await waitFor(() => texts[2].toString().startsWith('after A left\n'), 'B\'s edit reaches C');
    assert.equal(texts[1].toString(), texts[2].toString());
  } finally {
    ws.forEach((w) => w.close());
    await Promise.all(sessions.map((s) => s.leave()));
    await net.destroy();
  }
});
