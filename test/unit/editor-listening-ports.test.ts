/**
 * "Share Server…" offers the ports listening on this machine: a real server on loopback is among
 * them, one on another port after it closed is not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { listeningPorts } from '../../src/editor/listening-ports';

test('a server listening on 127.0.0.1 is offered, and no longer once it closed', { skip: process.platform !== 'linux' && 'reads /proc/net/tcp' }, async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    assert.ok((await listeningPorts()).includes(port), `port ${port} listed`);
  } finally {
    await new Promise((r) => server.close(r));
  }
  assert.ok(!(await listeningPorts()).includes(port), `port ${port} no longer listed`);
});

test('a server on every address (IPv6 any) is offered too', { skip: process.platform !== 'linux' && 'reads /proc/net/tcp' }, async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '::', r));
  try {
    assert.ok((await listeningPorts()).includes((server.address() as net.AddressInfo).port));
  } finally {
    await new Promise((r) => server.close(r));
  }
});
