/**
 * The local end of the call page: an HTTP server on 127.0.0.1 that serves the page (page.ts) for a
 * link and relays frames between it and the session's call. Only a page opened with the link's
 * one-time secret can attach; the secret is spent when it does. The page carries a fresh token that
 * every other request must send (a header: other pages cannot set it cross-origin without a
 * preflight this server never grants). The Host header must name this server (or a proxy the
 * extension forwards it through), so a site that rebinds a DNS name to 127.0.0.1 is refused too.
 *
 * One page has the microphone at a time: the newest. Each load of a link gets a token of its own; the
 * page that attaches last (a second tab, a reload, a page opened from a newer link) becomes the call's
 * page, and the one before is told (`409 replaced` on its next request: its way down ends at once)
 * and stops its microphone and sound. A replaced page, or a reload of the tab it was in (the
 * link is spent by then: the page finds its token in the tab's sessionStorage), can take the call back
 * (`POST take`), for a fresh token: so two live pages never share one. A new link leaves the current
 * page alone until a page of it attaches; leaving the call (`end()`) ends every page.
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
/** Tokens remembered at most (pages loaded, the current one, pages replaced): the oldest are forgotten. */
const MAX_PAGES = 8;

/** A page of the call, by its token: loaded from a link (`link`: which) and not attached yet, the call's page, or replaced by a newer one. */
type PageRole = { role: 'loaded'; link: number } | { role: 'current' } | { role: 'replaced' };

export class CallPage {
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  private secret: Buffer | undefined;
  /** Links' secrets once a page of each attached (the latest MAX_PAGES): a reload of one gets the page without a token (it may take the call back). */
  private readonly spent: string[] = [];
  /** Which link the current secret is (pages loaded from an older one may still attach: the newest page wins). */
  private linkNumber = 0;
  private readonly pages = new Map<string, PageRole>();
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

  /** A new one-time link to the page. The page open now (if any) keeps the call until one of this link attaches. */
  link(): string {
    this.secret = randomBytes(24);
    this.linkNumber++;
    // The secret is in the path, not a query: port-forwarding proxies keep paths, not always queries.
    return `http://127.0.0.1:${this.port}/c/${this.secret.toString('hex')}`;
  }

  /** Every page of the call ends (told so) and no link or token works any more: this person left the call. */
  end(): void {
    this.secret = undefined;
    this.spent.length = 0;
    this.pages.clear();
    this.answer(true);
    this.endStream();
  }

  /** Whether a page is attached to the call (has the microphone). */
  get attached(): boolean {
    return [...this.pages.values()].some((p) => p.role === 'current');
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
    const token = this.tokenOf(req.headers['x-hyperpair-token']);
    if (!token) return refuse(res, 403, 'not the call page');
    if (req.method === 'POST' && name === 'take') return this.take(token, res);
    // A replaced page is told so on whatever it asks next; it stops, and may take the call back.
    if (this.pages.get(token)?.role === 'replaced') return refuse(res, 409, 'replaced: the call is on a newer page');
    if (req.method === 'GET' && name === 'down') {
      this.attach(token);
      const from = Number(url.searchParams.get('from') ?? 0);
      return url.searchParams.has('stream') ? this.startStream(from, res) : this.poll(from, res);
    }
    if (req.method === 'POST' && (name === 'up' || name === 'state')) {
      this.attach(token); // a page's first frames may come before its way down opens
      return this.readBody(req, res, name);
    }
    refuse(res, 404, 'not found');
  }

  /** The page's token as this server knows it (compared in constant time), if it does. */
  private tokenOf(given: unknown): string | undefined {
    for (const t of this.pages.keys()) if (matches(given, t)) return t;
    return undefined;
  }

  private remember(token: string, role: PageRole): void {
    this.pages.delete(token);
    this.pages.set(token, role);
    // The oldest that is not the call's page goes first.
    for (const [t, r] of this.pages) {
      if (this.pages.size <= MAX_PAGES) break;
      if (r.role !== 'current') this.pages.delete(t);
    }
  }

  /** A page takes the call back (replaced, or reloaded): a fresh token for it, and the page that had the call is replaced. */
  private take(token: string, res: http.ServerResponse): void {
    const fresh = randomBytes(24).toString('hex');
    this.pages.set(token, { role: 'replaced' });
    this.remember(fresh, { role: 'loaded', link: -1 });
    this.attach(fresh);
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ token: fresh }));
  }

  private page(key: string, res: http.ServerResponse): void {
    const nonce = randomBytes(16).toString('base64');
    const headers = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' };
    if (this.spent.some((s) => matches(key, s))) {
      // A reload of the call's tab: the page with no token, which takes the call back with the one it
      // kept in the tab's sessionStorage, if it has one (another tab has none, and is told the link is spent).
      return void res.writeHead(403, headers).end(callPageHtml('', nonce));
    }
    if (!this.secret || !matches(key, this.secret)) {
      return refuse(res, 403, 'This call link was already used or is not valid. Run "Hyperpair: Join Call" again for a new one.');
    }
    // The link is spent when a page attaches (opens its stream), not on the first load: browsers and
    // forwarding proxies may load a page twice. Each load has a token of its own: whichever attaches last has the call.
    const token = randomBytes(24).toString('hex');
    this.remember(token, { role: 'loaded', link: this.linkNumber });
    res.writeHead(200, headers).end(callPageHtml(token, nonce));
  }

  private poll(from: number, res: http.ServerResponse): void {
    this.answer(true); // the page's own earlier poll or stream ends: one way down per page
    this.endStream();
    const timer = setTimeout(() => this.answer(true), 1000);
    this.waiting = { res, from: Number.isSafeInteger(from) ? from : 0, timer };
    this.answer(false);
  }

  /**
   * A page asks for something: one loaded from the link and not attached yet becomes the call's page
   * (the link is spent, if it was this link's), and the page before it is replaced: its stream or
   * poll ends, and its next request is told. What went down to that page is not sent to this one.
   */
  private attach(token: string): void {
    const page = this.pages.get(token);
    if (page?.role !== 'loaded') return;
    if (page.link === this.linkNumber && this.secret) {
      this.spent.push(this.secret.toString('hex'));
      if (this.spent.length > MAX_PAGES) this.spent.shift();
      this.secret = undefined;
    }
    for (const [t, r] of this.pages) if (r.role === 'current') this.pages.set(t, { role: 'replaced' });
    this.pages.set(token, { role: 'current' });
    this.answer(true);
    this.endStream();
    this.outbox.length = 0;
    this.sendMembers();
  }

  private startStream(from: number, res: http.ServerResponse): void {
    // The page's own earlier stream or poll (it asks again after a break) ends: one way down per page.
    this.answer(true);
    this.endStream();
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
