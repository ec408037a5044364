/**
 * Workspaces on the in-process transport in a chosen topology (a full mesh, or one with links left
 * out), with every sync message each peer sends recorded: for tests that count what travels where
 * (forwarding only where needed, who is asked for a new file's text or chunks). Peer ids are hex (`a0`, `a1`…
 * padded), so that links are read as peer ids.
 */
import * as decoding from 'lib0/decoding';
import { readLinks } from '../../src/sync/links';
import { decodeMessage, MessageType } from '../../src/sync/protocol';
import { SharedWorkspace } from '../../src/sync/workspace';
import { MemoryTransport, link } from './memory-transport';

export interface SentSync {
  to: string;
  doc: string;
  /** 0 = step 1, 1 = step 2, 2 = update. */
  kind: number;
}

/** A chunk message a peer sent (§6.3). */
export interface SentChunk {
  to: string;
  type: 'get' | 'data' | 'missing';
  hash: string;
}

export interface MeshPeer {
  transport: MemoryTransport;
  ws: SharedWorkspace;
  /** Sync `update` messages this peer sent (reset it to count from a moment on). */
  updates: number;
  /** Awareness messages this peer sent (reset it to count from a moment on). */
  awareness: number;
  /** Every sync message this peer sent, in order. */
  sent: SentSync[];
  /** Every chunk message this peer sent, in order. */
  chunks: SentChunk[];
}

export interface MeshOptions {
  /** Pairs of peer indices left unlinked. */
  skip?: Array<[number, number]>;
  /** How long a fetched text may stay unanswered before the next member is asked. */
  docRequestTimeoutMs?: number;
}

/** `n` workspaces, the first sharing, linked pairwise except the pairs in `skip`. */
export function mesh(n: number, options: MeshOptions = {}): MeshPeer[] {
  const skip = options.skip ?? [];
  const peers: MeshPeer[] = [];
  for (let i = 0; i < n; i++) {
    const transport = new MemoryTransport(`a${i}`);
    const ws = new SharedWorkspace({ transport, mode: i === 0 ? 'share' : 'join', docRequestTimeoutMs: options.docRequestTimeoutMs });
    const p: MeshPeer = { transport, ws, updates: 0, awareness: 0, sent: [], chunks: [] };
    const send = transport.send.bind(transport);
    transport.send = (peerId, data) => {
      const m = decodeMessage(data);
      if (m.type === MessageType.Awareness) p.awareness++;
      if (m.type === MessageType.Sync) {
        const kind = decoding.readVarUint(m.decoder);
        if (kind === 2) p.updates++;
        p.sent.push({ to: peerId, doc: m.doc, kind });
      }
      if (m.type === MessageType.BlobGet || m.type === MessageType.BlobData || m.type === MessageType.BlobMissing) {
        const type = m.type === MessageType.BlobGet ? 'get' : m.type === MessageType.BlobData ? 'data' : 'missing';
        p.chunks.push({ to: peerId, type, hash: m.hash });
      }
      return send(peerId, data);
    };
    peers.push(p);
  }
  const skipped = (i: number, j: number) => skip.some(([x, y]) => (x === i && y === j) || (x === j && y === i));
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (!skipped(i, j)) link(peers[i].transport, peers[j].transport);
  return peers;
}

/** Every peer holds every peer's state, each naming as many links as that peer has. */
export function linksKnown(peers: MeshPeer[]): boolean {
  return peers.every((p) =>
    peers.every((q) => {
      const state = [...p.ws.awareness.getStates().values()].map((s) => readLinks((s as { links?: unknown }).links)).find((l) => l?.of === q.transport.self.id);
      return state?.peers.length === q.transport.peers().length;
    }),
  );
}

/** Lets `n` turns of the event loop pass (in-process messages are delivered on setImmediate). */
export async function ticks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}
