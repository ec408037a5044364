/**
 * Helpers for tests of LAN discovery: a DHT bootstrap that nobody answers (a closed UDP port), and a
 * check that multicast works on this machine at all (a container without a multicast-capable
 * interface cannot run these tests, and they say so instead of failing).
 */
import * as dgram from 'node:dgram';
import type { BootstrapNode } from '../../src/session/network';

/** A loopback UDP port with nothing listening: DHT nodes pointed at it never bootstrap. */
export async function unreachableBootstrap(): Promise<BootstrapNode[]> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const port = sock.address().port;
  await new Promise<void>((resolve) => sock.close(() => resolve()));
  return [{ host: '127.0.0.1', port }];
}

/** Undefined when a multicast datagram sent here comes back to this machine; else why not. */
export async function multicastProblem(group = '224.0.0.251', port = 5353): Promise<string | undefined> {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, '0.0.0.0', () => resolve());
    });
    sock.addMembership(group);
    sock.setMulticastLoopback(true);
    const probe = Buffer.from(`hyperpair-multicast-probe-${process.pid}-${Math.random()}`);
    const heard = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 1500);
      sock.on('message', (m) => {
        if (m.equals(probe)) {
          clearTimeout(timer);
          resolve(true);
        }
      });
    });
    await new Promise<void>((resolve, reject) => sock.send(probe, port, group, (err) => (err ? reject(err) : resolve())));
    return (await heard) ? undefined : 'a multicast datagram sent on this machine did not come back (no multicast-capable interface?)';
  } catch (err) {
    return `multicast is not usable here: ${(err as Error).message}`;
  } finally {
    sock.close();
  }
}
