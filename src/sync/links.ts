/**
 * Who is connected to whom, so that a change is forwarded only where it is needed (docs/PROTOCOL.md
 * §6.2). Each peer publishes its direct links in its awareness state (`links: {of, peers}`: its own
 * peer id and the first 16 hex characters of each member's); a peer reads a neighbour's links only
 * from the state that neighbour's own connection delivered, and counts a link S—P only when both S
 * and P claim it. A change received from S then goes to no member P linked to S: S (or the peer S
 * had it from, and so on back to its author) sent it to P already. In a full mesh of n peers an edit
 * is n − 1 messages instead of (n − 1)²; a missing link is not claimed, so the change is still
 * forwarded across it.
 *
 * Awareness, not a new message type: an additive field that older peers ignore (§7). Without a
 * neighbour's links (an older peer, or before its state arrived) everything is forwarded to everyone.
 */
import * as decoding from 'lib0/decoding';
import type { Awareness } from 'y-protocols/awareness';
import type { PeerInfo } from '../session/transport';
import { MAX_AWARENESS_STATES } from './awareness';
import { endOfTask, OnceSoon } from '../session/once-soon';

/** Links published at most (a session larger than this forwards to everyone beyond it). */
export const MAX_LINKS = 256;
const PREFIX = 16;
const PEER_ID = /^[0-9a-f]{64}$/;
const LINK = /^[0-9a-f]{16}$/;

export interface LinksState {
  of: string;
  peers: string[];
}

export interface LinksTransport {
  readonly self: PeerInfo;
  peers(): PeerInfo[];
}

export class PeerLinks {
  /** Each directly connected peer's links, as its own connection last delivered them. */
  private readonly linksOf = new Map<string, Set<string>>();
  private readonly publishSoon = new OnceSoon(() => this.publishNow(), endOfTask);
  private closed = false;

  constructor(
    private readonly awareness: Awareness,
    private readonly transport: LinksTransport,
  ) {}

  /** Publishes this peer's links (at the end of the task: a burst of joins is one awareness update). */
  publish(): void {
    if (!this.closed) this.publishSoon.request();
  }

  private publishNow(): void {
    // A peer that withdrew its presence (setLocalState(null)) publishes nothing until it comes back.
    if (this.closed || this.awareness.getLocalState() === null) return;
    const peers = this.transport
      .peers()
      .map((p) => p.id.slice(0, PREFIX))
      .sort()
      .slice(0, MAX_LINKS);
    const links: LinksState = { of: this.transport.self.id, peers };
    this.awareness.setLocalStateField('links', links);
  }

  /** Reads the links a peer published about itself from an awareness update its connection delivered. */
  heard(peerId: string, update: Uint8Array): void {
    const links = ownLinks(update, peerId);
    if (links) this.linksOf.set(peerId, links);
  }

  /** A peer left: what it said about its links is void. */
  forget(peerId: string): void {
    this.linksOf.delete(peerId);
  }

  /** Whether `to` gets a change from `from` without this peer passing it on (both claim the link). */
  covers(from: string | undefined, to: string): boolean {
    if (from === undefined) return false;
    return this.linksOf.get(from)?.has(to.slice(0, PREFIX)) === true && this.linksOf.get(to)?.has(from.slice(0, PREFIX)) === true;
  }

  close(): void {
    this.closed = true;
    this.linksOf.clear();
  }
}

/** The links in the state of the client that names `peerId` as itself, if the update holds one. */
function ownLinks(update: Uint8Array, peerId: string): Set<string> | undefined {
  try {
    // y-protocols awareness update: varUint count, then per client varUint id, varUint clock, varString JSON.
    const d = decoding.createDecoder(update);
    const count = decoding.readVarUint(d);
    for (let i = 0; i < count && i <= MAX_AWARENESS_STATES; i++) {
      decoding.readVarUint(d);
      decoding.readVarUint(d);
      const state = JSON.parse(decoding.readVarString(d)) as { links?: unknown } | null;
      const links = readLinks(state?.links);
      if (links && links.of === peerId) return new Set(links.peers);
    }
  } catch {
    // Malformed: the workspace cuts the sender off when it applies the update.
  }
  return undefined;
}

/** A `links` field made safe, or undefined when it is not one. */
export function readLinks(v: unknown): LinksState | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { of, peers } = v as { of?: unknown; peers?: unknown };
  if (typeof of !== 'string' || !PEER_ID.test(of) || !Array.isArray(peers)) return undefined;
  const ok = peers.slice(0, MAX_LINKS).filter((p): p is string => typeof p === 'string' && LINK.test(p));
  return { of, peers: ok };
}
