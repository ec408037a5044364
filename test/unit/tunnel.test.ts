/**
 * Shared servers over real hyperswarm on a loopback testnet, with real servers: HTTP and a WebSocket
 * through a guest's port, 20 parallel TCP connections carrying 10 MB, a peer that is not admitted
 * sees nothing, a member cannot reach a port that is not shared, and stopping a share or leaving
 * closes what went through it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import c from 'compact-encoding';
import { createSessionCode, type Session } from '../../src/session';
import { MemberChannels, type MemberLink } from '../../src/session/member-channels';
import { ServerTunnels, type RemoteServer } from '../../src/session/tunnel';
import { TUNNEL_PROTOCOL, TUNNEL_VERSION, closeEncoding, openEncoding, sharesEncoding, type CloseMessage } from '../../src/session/tunnel-wire';
import { waitFor } from '../helpers/testnet';
import { useSessions } from '../helpers/sessions';
import { startEchoServer, startHttpWsServer, wsConnect, type TestServer } from '../helpers/servers';

const env = useSessions();
const session = env.session;

function tunnels(s: Session): ServerTunnels {
  const t = new ServerTunnels(s);
  env.closeLater(() => t.close());
  return t;
}

async function server<T extends TestServer>(start: Promise<T>): Promise<T> {
  const s = await start;
  env.closeLater(() => s.close());
  return s;
}

async function reachable(t: ServerTunnels, port: number): Promise<RemoteServer> {
  await waitFor(() => t.remote().some((r) => r.remotePort === port && r.localPort !== undefined), `port ${port} to be reachable`);
  return t.remote().find((r) => r.remotePort === port)!;
}

async function pair(): Promise<{ a: Session; b: Session; ta: ServerTunnels; tb: ServerTunnels }> {
  const code = createSessionCode();
  const a = session(code, 'host');
  const b = session(code, 'guest');
  const ta = tunnels(a);
  const tb = tunnels(b);
  await waitFor(() => a.peers().length === 1 && b.peers().length === 1, 'host and guest to meet');
  return { a, b, ta, tb };
}

/** Sends `data` through one connection, ends it, and resolves with what came back. */
function echo(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.on('error', reject);
    s.on('end', () => {
      s.end();
      resolve(Buffer.concat(got));
    });
    s.end(data);
  });
}

test('HTTP and a WebSocket on the host are reached through the guest’s own port', async () => {
  const { ta, tb } = await pair();
  const web = await server(startHttpWsServer('served by the host'));
  ta.share(web.port, 'dev server');
  const r = await reachable(tb, web.port);
  assert.equal(r.label, 'dev server');
  assert.equal(r.peer.name, 'host');
  assert.notEqual(r.localPort, web.port, 'on one machine the host’s port is taken: another is used');

  const res = await fetch(`http://127.0.0.1:${r.localPort}/index.html`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'served by the host /index.html');
  // Many requests at once.
  const bodies = await Promise.all(Array.from({ length: 10 }, (_, i) => fetch(`http://127.0.0.1:${r.localPort}/${i}`).then((x) => x.text())));
  assert.deepEqual(bodies, Array.from({ length: 10 }, (_, i) => `served by the host /${i}`));

  const ws = await wsConnect(r.localPort!);
  assert.equal(await ws.next(), 'hello');
  ws.send('reload?');
  assert.equal(await ws.next(), 'echo:reload?');
  ws.close();
});

test('plain TCP: 20 parallel connections carry 10 MB intact', async () => {
  const { ta, tb } = await pair();
  const echoServer = await server(startEchoServer());
  ta.share(echoServer.port);
  const r = await reachable(tb, echoServer.port);
  const chunks = Array.from({ length: 20 }, () => randomBytes(512 * 1024));
  const back = await Promise.all(chunks.map((d) => echo(r.localPort!, d)));
  const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  assert.deepEqual(back.map(digest), chunks.map(digest));
  await waitFor(() => ta.openStreams() === 0 && tb.openStreams() === 0, 'every stream to close after its connection');
});

test('a peer that knows the code but is not admitted sees no share and reaches nothing', async () => {
  const code = createSessionCode();
  const a = session(code, 'owner', { admission: { policy: 'ask', guestRole: 'editor' } });
  const ta = tunnels(a);
  const echoServer = await server(startEchoServer());
  ta.share(echoServer.port);
  const b = session(code, 'admitted');
  const tb = tunnels(b);
  const waiting = session(code, 'waiting');
  const tw = tunnels(waiting);
  await waitFor(() => a.admissionRequests().length === 2, 'both requests to reach the owner');
  a.admit(b.self.id);
  await reachable(tb, echoServer.port);
  assert.ok(a.admissionRequests().some((p) => p.name === 'waiting'), 'still waiting');
  assert.deepEqual(tw.remote(), [], 'no share is announced to a peer that is not admitted');
  assert.equal(a.memberMux(waiting.self.id), undefined, 'and no channel runs on its connection');
  assert.equal(echoServer.open(), 0);
});

interface ProbeLink extends MemberLink {
  closes: CloseMessage[];
  shares: number[];
  open(port: number): void;
}

test('a member reaches only the ports shared: anything else is refused before it is dialled', async () => {
  const code = createSessionCode();
  const a = session(code, 'host');
  const ta = tunnels(a);
  const shared = await server(startEchoServer());
  const secret = await server(startEchoServer());
  ta.share(shared.port);
  // A hand-made member end of the channel, sending what a hostile peer would.
  const m = session(code, 'probe');
  let probe: ProbeLink | undefined;
  const channels = new MemberChannels<ProbeLink>(m, {
    protocol: TUNNEL_PROTOCOL,
    version: TUNNEL_VERSION,
    attach(_peer, channel) {
      const link: ProbeLink = {
        closes: [],
        shares: [],
        opened: () => (probe = link),
        closed: () => {},
        open: (port) => void openMsg.send({ id: port, port }),
      };
      channel.addMessage({ encoding: sharesEncoding, onmessage: (l) => link.shares.push(...l.map((s) => s.port)) });
      const openMsg = channel.addMessage({ encoding: openEncoding });
      channel.addMessage({ encoding: c.raw }); // data
      channel.addMessage({ encoding: c.raw }); // end
      channel.addMessage({ encoding: closeEncoding, onmessage: (x) => link.closes.push(x) });
      return link;
    },
  });
  env.closeLater(() => channels.close());
  await waitFor(() => probe !== undefined && probe.shares.includes(shared.port), 'the probe to learn the share');
  probe!.open(secret.port);
  await waitFor(() => probe!.closes.length === 1, 'the open to be refused');
  assert.equal(probe!.closes[0].id, secret.port);
  assert.match(probe!.closes[0].reason, /not shared/);
  assert.equal(secret.open(), 0, 'the unshared port was never dialled');
});

/** A connection through the tunnel that has echoed once; `closed` turns true when it closes. */
async function connected(port: number): Promise<{ closed: boolean }> {
  const client = net.connect({ host: '127.0.0.1', port });
  const state = { closed: false };
  client.on('close', () => (state.closed = true));
  client.on('error', () => {});
  client.write('ping');
  await new Promise((resolve) => client.once('data', resolve));
  env.closeLater(() => client.destroy());
  return state;
}

test('stopping a share closes its connections and its listeners; leaving ends the rest', async () => {
  const { a, ta, tb } = await pair();
  const one = await server(startEchoServer());
  const two = await server(startEchoServer());
  ta.share(one.port);
  ta.share(two.port);
  const r1 = await reachable(tb, one.port);
  const r2 = await reachable(tb, two.port);
  const client = await connected(r1.localPort!);
  assert.equal(one.open(), 1);

  assert.ok(ta.unshare(one.port));
  await waitFor(() => client.closed, 'the connection through the stopped share to close');
  await waitFor(() => one.open() === 0, 'the host-side connection to close');
  await waitFor(() => !tb.remote().some((r) => r.remotePort === one.port), 'the guest to drop the share');
  await assert.rejects(echo(r1.localPort!, Buffer.from('x')), 'nothing listens there any more');

  const client2 = await connected(r2.localPort!);
  await a.leave();
  await waitFor(() => client2.closed && tb.remote().length === 0, 'leaving to end the other share');
});
