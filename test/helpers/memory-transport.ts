/**
 * An in-process PeerTransport for tests that need a topology hyperswarm would not give (A—B—C with
 * no A—C link) or need to be deterministic. Messages are delivered asynchronously, in order, as
 * copies. Tests of what users meet run over real Sessions instead (test/helpers/testnet.ts).
 */
import { EventEmitter } from 'node:events';
import type { PeerInfo, PeerTransport } from '../../src/session/transport';
import { MAX_DATA_FRAME } from '../../src/session/wire';

export class MemoryTransport extends EventEmitter implements PeerTransport {
  readonly self: PeerInfo;
  private readonly links = new Map<string, MemoryTransport>();
  disconnected: Array<{ peer: string; reason: string }> = [];
  /** Frames refused for being over the session's limit (a real Session drops them too). */
  oversized = 0;
  /** Largest frame sent, to check that large messages are split. */
  largestFrame = 0;

  constructor(name: string) {
    super();
    this.self = { id: name.padEnd(64, '0').slice(0, 64), name, colour: '#123456' };
  }

  peers(): PeerInfo[] {
    return [...this.links.values()].map((t) => t.self);
  }

  send(peerId: string, data: Uint8Array): boolean {
    const other = this.links.get(peerId);
    if (!other) return false;
    this.largestFrame = Math.max(this.largestFrame, data.byteLength);
    if (data.byteLength > MAX_DATA_FRAME) {
      this.oversized++;
      return false;
    }
    const copy = Uint8Array.from(data);
    setImmediate(() => other.links.has(this.self.id) && other.emit('message', this.self, copy));
    return true;
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }

  disconnect(peerId: string, reason: string): void {
    this.disconnected.push({ peer: peerId, reason });
    const other = this.links.get(peerId);
    if (other) unlink(this, other, reason);
  }
}

export function link(a: MemoryTransport, b: MemoryTransport): void {
  a['links'].set(b.self.id, b);
  b['links'].set(a.self.id, a);
  a.emit('peer-join', b.self);
  b.emit('peer-join', a.self);
}

export function unlink(a: MemoryTransport, b: MemoryTransport, reason = 'unlinked'): void {
  if (!a['links'].delete(b.self.id)) return;
  b['links'].delete(a.self.id);
  a.emit('peer-leave', b.self, reason);
  b.emit('peer-leave', a.self, reason);
}
