/**
 * The local end of the call page: an HTTP server on 127.0.0.1 that serves the page (page.ts) for a
 * link and relays frames between it and the session's call. Only a page opened with the link's
 * one-time secret can attach; the secret is spent when it does. The page carries a fresh token that
 * every other request must send (a header: other pages cannot set it cross-origin without a
 * preflight this server never grants). The Host header must name this server (or a proxy the
 * extension forwards it through), so a site that rebinds a DNS name to 127.0.0.1 is refused too.
 * One page at a time: a new link ends the previous page.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '../log';
import { MAX_FRAME_BYTES, type SessionCall } from './call';
import { callPageHtml } from './page';

/** A request carries the frames queued while the previous one was under way: a few seconds' worth at most. */
const MAX_UP_BYTES = 256 * 1024;
/** A page that stops reading its stream has it ended beyond this (about ten seconds of frames); it can ask again. */
const MAX_DOWN_BUFFERED = 256 * 1024;

export class CallPage {
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  private secret: Buffer | undefined;
  private token: Buffer | undefined;
  /**
   * What goes down to the page: one streamed response, each record written as it comes (no request
   * between frames: a long poll's round trip cost every frame that came while it was under way), or,
   * when the page finds that nothing of a stream reaches it (a forwarding proxy, code-server's or a
   * remote window's, may hold a streamed response back until it ends), long polls. Each record has a
   * number; a stream or a poll asks for those from a number on; a poll is answered as soon as there are any.
   */
  private readonly outbox: Array<{ n: number; rec: Buffer }> = [];
  private nextRecord = 0;
  private waiting: { res: http.ServerResponse; from: number; timer: NodeJS.Timeout } | undefined;
  private stream: http.ServerResponse | undefined;
  private attached = false;
  private port = 0;
  /** Host names this server answers besides its own address: a proxy that forwards to it. */
  private readonly hosts = new Set<string>();
  private readonly onFrame = (peer: { id: string }, f: { time: number; data: Uint8Array }): void => this.sendFrame(peer.id, f.time, f.data);
  private readonly onMembers = (): void => this.sendMembers();

  constructor(
    private readonly call: SessionCall,
    private readonly logger: Logger = silentLogger,
  ) {}

  async ready(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.call.on('frame', this.onFrame);
    this.call.on('members', this.onMembers);
  }

  /** A new one-time link to the page; the page opened before it (if any) is ended. */
  link(): string {
    this.secret = randomBytes(24);
    this.token = undefined;
    this.attached = false;
    this.answer(true);
    this.endStream();
    // The secret is in the path, not a query: port-forwarding proxies keep paths, not always queries.
    return `http://127.0.0.1:${this.port}/c/${this.secret.toString('hex')}`;
  }

  /**
   * Also answer requests naming `authority` (host:port): where a remote window or code-server forwards
   * the page (VS Code's asExternalUri). The secret and token still guard everything.
   */
  allowHost(authority: string): void {
    this.hosts.add(authority);
  }

  async close(): Promise<void> {
    this.call.off('frame', this.onFrame);
    this.call.off('members', this.onMembers);
    this.answer(true);
    this.endStream();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${this.port}` && !this.hosts.has(host)) return refuse(res, 421, 'wrong host');
    const [, prefix, name = ''] = url.pathname.split('/');
    if (prefix !== 'c') return refuse(res, 404, 'not found');
    if (req.method === 'GET' && /^[0-9a-f]{48}$/.test(name)) return this.page(name, res);
    if (!this.token || !matches(req.headers['x-hyperpair-token'], this.token)) return refuse(res, 403, 'not the call page');
    if (req.method === 'GET' && name === 'down') {
      const from = Number(url.searchParams.get('from') ?? 0);
      return url.searchParams.has('stream') ? this.startStream(from, res) : this.poll(from, res);
    }
    if (req.method === 'POST' && (name === 'up' || name === 'state')) return this.readBody(req, res, name);
    refuse(res, 404, 'not found');
  }

  private page(key: string, res: http.ServerResponse): void {
    if (!this.secret || !matches(key, this.secret.toString('hex'))) {
      return refuse(res, 403, 'This call link was already used or is not valid. Run "Hyperpair: Join Call" again for a new one.');
    }
    // The link is spent when a page attaches (opens its stream), not on the first load: browsers and
    // forwarding proxies may load a page twice. Until then every load gets the same token.
    this.token ??= randomBytes(24);
    const nonce = randomBytes(16).toString('base64');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
    res.end(callPageHtml(this.token.toString('hex'), nonce));
  }

  private poll(from: number, res: http.ServerResponse): void {
    this.attach();
    const timer = setTimeout(() => this.answer(true), 1000);
    this.waiting = { res, from: Number.isSafeInteger(from) ? from : 0, timer };
    this.answer(false);
  }

  /** A page attaches (its first stream or poll): the link is spent, and an older stream or poll (a reloaded page) ends. */
  private attach(): void {
    this.secret = undefined;
    if (!this.attached) {
      this.attached = true;
      this.sendMembers();
    }
    this.answer(true);
    this.endStream();
  }

  private startStream(from: number, res: http.ServerResponse): void {
    this.attach();
    const recs = this.outbox.filter((r) => r.n >= (Number.isSafeInteger(from) ? from : 0));
    // x-first: the number of the first record it carries (older ones may be gone); a record of length
    // 0 first, so that the page knows at once that the stream gets through. no-transform: code-server's
    // port forwarding gzips what it forwards, which holds a stream back until it ends, unless told not to.
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store, no-transform', 'x-accel-buffering': 'no', 'x-first': String(recs[0]?.n ?? this.nextRecord) });
    res.write(Buffer.alloc(4));
    for (const r of recs) res.write(r.rec);
    this.stream = res;
    res.on('close', () => {
      if (this.stream === res) this.stream = undefined;
    });
  }

  private endStream(): void {
    this.stream?.end();
    this.stream = undefined;
  }

  /** Answers the waiting poll with the records it has not had, if any (or anyway, with `always`). */
  private answer(always: boolean): void {
    const w = this.waiting;
    if (!w) return;
    const recs = this.outbox.filter((r) => r.n >= w.from);
    if (!recs.length && !always) return;
    clearTimeout(w.timer);
    this.waiting = undefined;
    w.res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store', 'x-next': String(this.nextRecord) });
    w.res.end(Buffer.concat(recs.map((r) => r.rec)));
  }

  private push(rec: Buffer): void {
    if (!this.attached) return;
    this.outbox.push({ n: this.nextRecord++, rec });
    // Two seconds of frames at most: a page that stopped asking is not waited for.
    while (this.outbox.length > 200) this.outbox.shift();
    if (this.stream && this.stream.writableLength > MAX_DOWN_BUFFERED) this.endStream();
    this.stream?.write(rec);
    this.answer(false);
  }

  private readBody(req: http.IncomingMessage, res: http.ServerResponse, path: string): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_UP_BYTES) req.destroy();
      else chunks.push(b);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      try {
        if (path === 'state') this.call.setMuted((JSON.parse(body.toString('utf8')) as { muted?: unknown }).muted === true);
        else this.upFrames(body);
        res.writeHead(204).end();
      } catch (err) {
        this.logger.warn(`call page: ${(err as Error).message}`);
        refuse(res, 400, 'bad request');
      }
    });
  }

  /** Frames from the page: each `u16 length`, then `f64 capture time (ms)`, `u8 level`, the Opus packet. */
  private upFrames(body: Buffer): void {
    for (let at = 0; at + 2 <= body.length; ) {
      const len = body.readUInt16BE(at);
      const f = body.subarray(at + 2, at + 2 + len);
      at += 2 + len;
      if (f.length < 10 || f.length > 9 + MAX_FRAME_BYTES) throw new Error('a malformed frame from the call page');
      this.call.send({ time: Math.round(f.readDoubleBE(0)), level: f[8], data: f.subarray(9) });
    }
  }

  private sendFrame(peerId: string, time: number, data: Uint8Array): void {
    const id = Buffer.from(peerId.slice(0, 16), 'ascii');
    const rec = Buffer.alloc(4 + 2 + id.length + 8 + data.byteLength);
    rec.writeUInt32BE(rec.length - 4, 0);
    rec[4] = 1;
    rec[5] = id.length;
    id.copy(rec, 6);
    rec.writeDoubleBE(time, 6 + id.length);
    Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(rec, 14 + id.length);
    this.push(rec);
  }

  private sendMembers(): void {
    const list = this.call.members().map((m) => ({ name: m.peer.name, muted: m.muted, speaking: m.speaking, level: m.level, via: m.via?.name }));
    const json = Buffer.from(JSON.stringify(list));
    const rec = Buffer.alloc(5 + json.length);
    rec.writeUInt32BE(rec.length - 4, 0);
    rec[4] = 2;
    json.copy(rec, 5);
    this.push(rec);
  }
}

function matches(given: unknown, expected: Buffer | string): boolean {
  const a = Buffer.from(typeof given === 'string' ? given : '');
  const b = Buffer.from(typeof expected === 'string' ? expected : expected.toString('hex'));
  return a.length === b.length && timingSafeEqual(a, b);
}

function refuse(res: http.ServerResponse, code: number, message: string): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' }).end(message);
}
