/**
 * Real servers for the shared-server tests: an HTTP server with a WebSocket echo endpoint (a raw
 * RFC 6455 handshake: `ws` is not a dependency), a TCP echo server, and a minimal WebSocket client.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface TestServer {
  port: number;
  /** Sockets the server accepted and that are still open. */
  open(): number;
  close(): Promise<void>;
}

function track(server: net.Server): Set<net.Socket> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

/** Closing waits for no one: what is still connected (an upgraded socket too) is cut. */
async function started(server: net.Server): Promise<TestServer> {
  const sockets = track(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    open: () => sockets.size,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** One WebSocket frame, unmasked from a client when masked; payloads under 126 bytes only. */
function readFrame(buf: Buffer): { text: string; rest: Buffer } | undefined {
  if (buf.length < 2) return undefined;
  const masked = (buf[1] & 0x80) !== 0;
  const len = buf[1] & 0x7f;
  const head = 2 + (masked ? 4 : 0);
  if (len >= 126) throw new Error('test frames are short');
  if (buf.length < head + len) return undefined;
  const payload = Buffer.from(buf.subarray(head, head + len));
  if (masked) for (let i = 0; i < len; i++) payload[i] ^= buf[2 + (i % 4)];
  return { text: payload.toString('utf8'), rest: buf.subarray(head + len) };
}

function frame(text: string, mask: boolean): Buffer {
  const payload = Buffer.from(text, 'utf8');
  if (!mask) return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
  const key = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), key, masked]);
}

/** GET / answers `body`; an upgrade to WebSocket greets with "hello" and echoes "echo:<text>". */
export async function startHttpWsServer(body: string): Promise<TestServer> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${body} ${req.url}`);
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${WS_GUID}`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.write(frame('hello', false));
    let buf: Buffer = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (let f = readFrame(buf); f; f = readFrame(buf)) {
        buf = f.rest;
        socket.write(frame(`echo:${f.text}`, false));
      }
    });
    socket.on('end', () => socket.end());
    socket.on('error', () => {});
  });
  return started(server);
}

/** A TCP server that sends back whatever it receives. */
export async function startEchoServer(): Promise<TestServer> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.pipe(s);
    s.on('error', () => {});
  });
  return started(server);
}

/** A WebSocket client: the handshake, then each text frame the server sends, in order. */
export async function wsConnect(port: number): Promise<{ next(): Promise<string>; send(text: string): void; close(): void }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const key = Buffer.from('hyperpair-test-k').toString('base64');
  socket.write(`GET /live HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const frames: string[] = [];
  const waiters: Array<(s: string) => void> = [];
  let buf: Buffer = Buffer.alloc(0);
  let upgraded = false;
  const expected = createHash('sha1').update(`${key}${WS_GUID}`).digest('base64');
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('closed before the upgrade')));
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString();
        if (!head.startsWith('HTTP/1.1 101') || !head.includes(`Sec-WebSocket-Accept: ${expected}`)) return reject(new Error(`bad upgrade: ${head}`));
        upgraded = true;
        buf = buf.subarray(end + 4);
        resolve();
      }
      for (let f = readFrame(buf); f; f = readFrame(buf)) {
        buf = f.rest;
        const w = waiters.shift();
        if (w) w(f.text);
        else frames.push(f.text);
      }
    });
  });
  return {
    next: () => {
      const f = frames.shift();
      return f !== undefined ? Promise.resolve(f) : new Promise((resolve) => waiters.push(resolve));
    },
    send: (text) => socket.write(frame(text, true)),
    close: () => socket.destroy(),
  };
}
