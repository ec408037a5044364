/**
 * The session's hyperswarm, extended with the one rule hyperswarm cannot know: connections that LAN
 * discovery made (TCP) beside the ones it made over the DHT (UDX). Hyperswarm keeps one connection
 * per peer pair; between two connections of the same kind its own rule decides (as for any two DHT
 * connections). Between a LAN and a DHT connection, the LAN one is kept, on both sides alike: a rule
 * that does not depend on which arrived first, so that two peers never keep different ones.
 *
 * The one place that reaches into hyperswarm's internals (4.17): `_handleServerConnection` (how a
 * connection is filed and announced, the only way to add one that hyperswarm did not make) and
 * `_allConnections` (the only record that includes dials still in progress; the public `connections`
 * holds open ones only). Both are declared `protected` in src/types/holepunch.d.ts and used nowhere
 * else. The upstream change that removes this workaround: a public `swarm.addConnection(stream)` (file
 * an externally made Noise stream as a server connection) plus a hook to choose between two
 * connections to one peer (e.g. `opts.keepConnection(existing, incoming)`); `supportsLan` switches
 * LAN discovery off, with a logged reason, on a hyperswarm without the internal method.
 */
import Hyperswarm from 'hyperswarm';
import { DUPLICATE_CONNECTION } from './connection';

export class SessionSwarm extends Hyperswarm {
  private readonly lanStreams = new WeakSet<Hyperswarm.SecretStream>();

  /** Whether this hyperswarm has the internal method LAN streams are filed with (4.x does). */
  static get supportsLan(): boolean {
    return typeof (Hyperswarm.prototype as unknown as Record<string, unknown>)._handleServerConnection === 'function';
  }

  isLan(stream: Hyperswarm.SecretStream): boolean {
    return this.lanStreams.has(stream);
  }

  /** Takes a LAN stream whose Noise handshake is done, as if the DHT server had accepted it. */
  addLanStream(stream: Hyperswarm.SecretStream): void {
    this.lanStreams.add(stream);
    this._handleServerConnection(stream);
  }

  /** True when this peer already holds a LAN connection to the stream's remote, which then wins. */
  losesToLan(stream: Hyperswarm.SecretStream): boolean {
    if (this.isLan(stream)) return false;
    for (const c of this.connections) if (c !== stream && this.isLan(c) && c.remotePublicKey.equals(stream.remotePublicKey)) return true;
    return false;
  }

  protected override _handleServerConnection(conn: Hyperswarm.SecretStream): void {
    const existing = this._allConnections.get(conn.remotePublicKey);
    if (existing && existing !== conn && this.isLan(existing) !== this.isLan(conn)) {
      if (this.isLan(existing)) {
        // A DHT connection to a peer reached over the LAN: refused, whichever came first.
        conn.on('error', () => {});
        conn.destroy(new Error(DUPLICATE_CONNECTION));
        return;
      }
      // A LAN connection to a peer reached (or being dialled) over the DHT: the DHT one goes, and the
      // LAN one is filed once it is gone (hyperswarm files a replacement the same way).
      existing.on('error', () => {});
      existing.destroy(new Error(DUPLICATE_CONNECTION));
      let closed = false;
      conn.once('close', () => (closed = true));
      existing.once('close', () => {
        if (!closed && !this.destroyed) super._handleServerConnection(conn);
      });
      return;
    }
    super._handleServerConnection(conn);
  }
}
