#!/usr/bin/env node
// A private hyperswarm DHT on loopback, for trying Hyperpair without the public DHT:
//   node scripts/testnet.js        prints `host:port,…` to pass as --bootstrap / hyperpair.bootstrap
const createTestnet = require('@hyperswarm/testnet');
(async () => {
  const testnet = await createTestnet(3, { host: '127.0.0.1' });
  console.log(testnet.bootstrap.map((b) => `${b.host}:${b.port}`).join(','));
  const stop = () => testnet.destroy().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
})();
