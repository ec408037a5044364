/**
 * A background check that every peer sees the same text in each open document. When the network is
 * quiet, each peer publishes in its awareness state (field `digests`, docs/PROTOCOL.md §6.1) a short
 * digest per open document: a hash of the document's Yjs state vector and a hash of the text its
 * editor shows. Two peers whose state vectors hash the same have merged the same edits, so the texts
 * they show must be equal; if not, one editor buffer went apart from the shared text. The peer that
 * notices counts it, logs it and asks its bindings to check and merge (never overwrite, see
 * BufferBinding.verify); the other side's own check does the same there.
 *
 * Old peers ignore the unknown awareness field, so this needs no protocol version change.
 */
import { createHash } from 'node:crypto';
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { Logger } from '../session/log';

export const DIGESTS_FIELD = 'digests';
/** At most this many documents are published (the open ones; a few in practice). */
export const MAX_DIGESTS = 64;

export interface DigestSource {
  id: string;
  ytext: Y.Text;
  /** The text the editor shows, or undefined while it is catching up (then nothing is published). */
  shown(): string | undefined;
}

export interface DivergenceOptions {
  logger: Logger;
  /** Called for a document found apart from a peer's: check and merge it here. */
  repair(id: string): void;
  intervalMs?: number;
  /** How long without any document update before the network counts as quiet. */
  quietMs?: number;
}

type Digest = [stateVector: string, text: string];

const hash = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex').slice(0, 16);

/** The digest of a document as shown: [hash of the state vector, hash of the shown text]. */
export function digestOf(ytext: Y.Text, shown: string): Digest {
  return [hash(Y.encodeStateVector(ytext.doc!)), hash(shown)];
}

export class DivergenceDetector {
  /** Documents found apart from a peer's at the same state (it should stay 0). */
  divergences = 0;
  private lastActivity = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly onChange: (changes: { added: number[]; updated: number[] }, origin: unknown) => void;
  /** The peer digests already acted on, so one disagreement is counted once. */
  private readonly seen = new Set<string>();

  constructor(
    private readonly awareness: Awareness,
    private readonly sources: () => DigestSource[],
    private readonly options: DivergenceOptions,
  ) {
    this.timer = setInterval(() => this.check(), options.intervalMs ?? 3000);
    this.timer.unref?.();
    this.onChange = ({ added, updated }) => {
      for (const client of [...added, ...updated]) if (client !== awareness.clientID) this.compareWith(client);
    };
    awareness.on('change', this.onChange);
  }

  /** Something changed in a document: the network is not quiet. */
  noteActivity(): void {
    this.lastActivity = Date.now();
  }

  /** Publishes this peer's digests if the network is quiet, and compares with every peer's. */
  check(): void {
    if (Date.now() - this.lastActivity < (this.options.quietMs ?? 2000)) return;
    const mine: Record<string, Digest> = {};
    for (const s of this.sources().slice(0, MAX_DIGESTS)) {
      const shown = s.shown();
      if (shown !== undefined) mine[s.id] = digestOf(s.ytext, shown);
    }
    const before = JSON.stringify((this.awareness.getLocalState() as Record<string, unknown> | null)?.[DIGESTS_FIELD] ?? {});
    if (JSON.stringify(mine) !== before) this.awareness.setLocalStateField(DIGESTS_FIELD, mine);
    for (const client of this.awareness.getStates().keys()) if (client !== this.awareness.clientID) this.compareWith(client);
  }

  dispose(): void {
    clearInterval(this.timer);
    this.awareness.off('change', this.onChange);
  }

  private compareWith(client: number): void {
    const mine = (this.awareness.getLocalState() as Record<string, unknown> | null)?.[DIGESTS_FIELD];
    const theirs = readDigests((this.awareness.getStates().get(client) as Record<string, unknown> | undefined)?.[DIGESTS_FIELD]);
    if (!isRecord(mine) || !theirs) return;
    for (const [id, [sv, text]] of theirs) {
      const own = mine[id];
      if (!Array.isArray(own) || own[0] !== sv || own[1] === text) continue;
      const key = `${client}:${id}:${sv}:${text}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      this.divergences++;
      this.options.logger.warn(
        `divergence: document ${id} shows different text here and at a peer with the same edits merged; checking this editor's copy and merging it with the shared text`,
      );
      this.options.repair(id);
    }
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A peer's digests, validated (peer-supplied: untrusted); undefined if malformed. */
export function readDigests(v: unknown): Array<[string, Digest]> | undefined {
  if (!isRecord(v)) return undefined;
  const out: Array<[string, Digest]> = [];
  for (const [id, d] of Object.entries(v).slice(0, MAX_DIGESTS)) {
    if (!/^[0-9a-f]{32}$/.test(id) || !Array.isArray(d) || d.length !== 2) continue;
    if (d.every((x) => typeof x === 'string' && /^[0-9a-f]{16}$/.test(x))) out.push([id, [d[0], d[1]] as Digest]);
  }
  return out;
}
