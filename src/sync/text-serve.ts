/**
 * Answering members' `texts-get` (docs/PROTOCOL.md §6.2, version 3): each text's first-state bytes,
 * read from this peer's disk (or its document while that is still the first state), checked against
 * the hash asked for; a text not held with those bytes is answered "not found". One `texts-data` per
 * request, in the order the requests came, so the requester matches answers to requests; a member
 * whose link is congested is waited for before its next answer is read.
 */
import type { PeerTransport } from '../session/transport';
import { contentHash } from './hash';
import { MessageType, encodeTexts, frames, type TextItem } from './protocol';

/** Files read at once for one answer: each read mostly waits on libuv's thread pool. */
const READERS = 16;

/** A text's bytes as this peer holds them, when they hash to `hash`; else undefined. */
export type FirstStateBytes = (id: string, hash: string) => Promise<Uint8Array | undefined>;

export class TextServer {
  private readonly queues = new Map<string, Promise<void>>();
  private closed = false;

  constructor(
    private readonly transport: PeerTransport,
    private readonly bytesOf: FirstStateBytes,
  ) {}

  serve(peerId: string, items: readonly TextItem[]): void {
    const previous = this.queues.get(peerId) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (this.closed) return;
      const answer = await this.read(items);
      if (this.closed) return;
      let sent = true;
      for (const frame of frames(encodeTexts(MessageType.TextsData, answer))) sent = this.transport.send(peerId, frame) && sent;
      if (!sent) await this.transport.drained(peerId);
    });
    const settled = next.catch(() => {});
    this.queues.set(peerId, settled);
    // The chain is dropped once it is idle, so a member that left leaves nothing behind.
    void settled.then(() => this.queues.get(peerId) === settled && this.queues.delete(peerId));
  }

  close(): void {
    this.closed = true;
    this.queues.clear();
  }

  private async read(items: readonly TextItem[]): Promise<TextItem[]> {
    const out: TextItem[] = items.map(({ id, hash }) => ({ id, hash }));
    let next = 0;
    const reader = async () => {
      while (next < items.length && !this.closed) {
        const i = next++;
        const bytes = await this.bytesOf(items[i].id, items[i].hash).catch(() => undefined);
        // Checked here too: an answer with other bytes would cut this peer off at the requester.
        if (bytes && contentHash(bytes) === items[i].hash) out[i].bytes = bytes;
      }
    };
    await Promise.all(Array.from({ length: Math.min(READERS, items.length) }, reader));
    return out;
  }
}
