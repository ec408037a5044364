/**
 * A real concurrent editing session (friendsforever: two people typing into one document) replayed
 * with one Hyperpair peer per agent over real hyperswarm. Each transaction is applied once its
 * author's peer has received exactly the edits of its parents: the test holds back the other agent's
 * updates at the receiving peer and releases them one by one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import * as decoding from 'lib0/decoding';
import { Session, createSessionCode } from '../../src/session';
import type { PeerInfo, PeerTransport } from '../../src/session/transport';
import { MessageType, decodeMessage } from '../../src/sync/protocol';
import { SharedWorkspace } from '../../src/sync/workspace';
import { createTestNetwork, waitFor } from '../helpers/testnet';
import { applyPatches, hasAstral, loadTrace, replayInProcess, seenVectors, type ConcurrentTrace, type SequentialTrace } from '../helpers/traces';

/** Passes everything through, except updates of one document, which wait until released. */
class GatedTransport extends EventEmitter implements PeerTransport {
  readonly held: Array<{ peer: PeerInfo; data: Uint8Array }> = [];
  released = 0;
  gatedDoc = '';

  constructor(private readonly inner: Session) {
    super();
    inner.on('peer-join', (p) => this.emit('peer-join', p));
    inner.on('peer-leave', (p, r) => this.emit('peer-leave', p, r));
    inner.on('message', (peer, data) => {
      if (this.gatedDoc && isUpdateOf(data, this.gatedDoc)) this.held.push({ peer, data });
      else this.emit('message', peer, data);
    });
  }
  get self() {
    return this.inner.self;
  }
  peers() {
    return this.inner.peers();
  }
  send(id: string, data: Uint8Array) {
    return this.inner.send(id, data);
  }
  drained(id: string) {
    return this.inner.drained(id);
  }
  disconnect(id: string, reason: string) {
    this.inner.disconnect(id, reason);
  }
  /** Delivers held updates until `count` have been delivered in all. */
  async releaseUntil(count: number): Promise<void> {
    while (this.released < count) {
      while (this.held.length <= this.released) await new Promise((r) => setImmediate(r));
      const { peer, data } = this.held[this.released++];
      this.emit('message', peer, data);
    }
  }
}

function isUpdateOf(data: Uint8Array, doc: string): boolean {
  const m = decodeMessage(data);
  if (m.type !== MessageType.Sync || m.doc !== doc) return false;
  const d = decoding.createDecoder(data.subarray(m.decoder.pos));
  return decoding.readVarUint(d) === 2;
}

test('friendsforever, one peer per agent over hyperswarm, converges to the trace\'s endContent', { timeout: 600_000 }, async () => {
  const trace = loadTrace<ConcurrentTrace>('friendsforever.json.gz');
  // The reference: plain Yjs in one process, with the same client ids, reproduces endContent.
  const reference = replayInProcess(trace);
  assert.ok(reference.every((t) => t === trace.endContent), 'the in-process reference replay');

  const net = await createTestNetwork();
  const code = createSessionCode();
  const sessions = [0, 1].map((a) => new Session({ code, name: `agent${a}`, network: net.network }));
  const gates = sessions.map((s) => new GatedTransport(s));
  const peers = gates.map(
    (g, a) => new SharedWorkspace({ transport: g, mode: a === 0 ? 'share' : 'join', clientID: a + 1 }),
  );
  try {
    const file = peers[0].createText('story.txt', '', 'editor');
    await Promise.all(sessions.map((s) => s.ready()));
    await waitFor(() => sessions.every((s) => s.peers().length === 1), 'the two agents connected', 60_000);
    const texts = await Promise.all(peers.map((p) => p.text(file.id)));
    gates.forEach((g) => (g.gatedDoc = file.id));

    const astral = hasAstral(trace.txns);
    const { seen } = seenVectors(trace);
    for (let i = 0; i < trace.txns.length; i++) {
      const t = trace.txns[i];
      const other = 1 - t.agent;
      await gates[t.agent].releaseUntil(seen[i][other]);
      applyPatches(texts[t.agent], t.patches, astral, 'editor');
    }
    const totals = [0, 1].map((a) => trace.txns.filter((t) => t.agent === a).length);
    await Promise.all([gates[0].releaseUntil(totals[1]), gates[1].releaseUntil(totals[0])]);
    await waitFor(() => texts[0].toString() === texts[1].toString(), 'both peers to converge', 60_000);
    assert.equal(texts[0].toString(), trace.endContent);
    assert.equal(texts[1].toString(), trace.endContent);
  } finally {
    peers.forEach((p) => p.close());
    await Promise.all(sessions.map((s) => s.leave()));
    await net.destroy();
  }
});

test('friendsforever (linearised) typed into one peer reaches another identical, over the model', { timeout: 300_000 }, async () => {
  const { MemoryTransport, link } = await import('../helpers/memory-transport');
  const { replaySequential } = await import('../helpers/traces');
  const trace = loadTrace<SequentialTrace>('friendsforever_flat.json.gz');
  const ta = new MemoryTransport('a');
  const tb = new MemoryTransport('b');
  const a = new SharedWorkspace({ transport: ta, mode: 'share' });
  const b = new SharedWorkspace({ transport: tb, mode: 'join' });
  try {
    const file = a.createText('story.txt', '', 'editor');
    link(ta, tb);
    const [textA, textB] = await Promise.all([a.text(file.id), b.text(file.id)]);
    // Let updates travel every 100 transactions, so that the joiner receives them as a stream.
    await replaySequential(trace, textA, { onTxn: (i) => (i % 100 === 0 ? new Promise((r) => setImmediate(r)) : undefined) });
    assert.equal(textA.toString(), trace.endContent);
    await waitFor(() => textB.toString() === trace.endContent, 'the other peer to have the end content');
  } finally {
    a.close();
    b.close();
  }
});
