/**
 * The other end of the join benchmark's reference, in its own process: joins a topic on the given
 * DHT and, on the first connection, writes `total` bytes as soon as the other side says go (one
 * byte), then waits for the other side to close. Prints "ready" once it is announced.
 *
 *   node stream-child.js <bootstrap host:port,…> <topic hex> <total bytes>
 */
import Hyperswarm from 'hyperswarm';
import HyperDHT from 'hyperdht';
import { parseBootstrap } from '../src/session/network';

async function main(): Promise<void> {
  const [spec, topicHex, totalArg] = process.argv.slice(2);
  const bootstrap = parseBootstrap(spec);
  const total = Number(totalArg);
  const swarm = new Hyperswarm({ dht: new HyperDHT({ bootstrap, host: '127.0.0.1', firewalled: false }) });
  const chunk = Buffer.alloc(64 * 1024, 7);
  swarm.on('connection', (conn: Hyperswarm.SecretStream) => {
    conn.on('error', () => {});
    conn.once('data', async () => {
      for (let sent = 0; sent < total; sent += chunk.length) {
        if (!conn.write(chunk)) await new Promise((r) => conn.once('drain', r));
      }
    });
    conn.on('close', () => void swarm.destroy().then(() => process.exit(0)));
  });
  await swarm.join(Buffer.from(topicHex, 'hex'), { server: true, client: false }).flushed();
  process.stdout.write('ready\n');
}

void main();
