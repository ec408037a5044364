/**
 * What a person sees of shared servers, chat and code rotation (issue 17), in two real VS Code
 * instances: Alice shares a real HTTP server and Bob fetches it through his own port (and no longer
 * once she stops); Bob writes a chat message with a mention and a `file:line` reference, both see it,
 * the markup in it is shown as text, and the reference opens the file at that line; Alice changes the
 * session code and both move to it without leaving. With HYPERPAIR_SCREENSHOTS=docs/screenshots the
 * moments README shows are saved there (as product.test.ts does).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import assert from 'node:assert/strict';
import type { Frame } from 'playwright-core';
import { sessionPairSuite, until, type Pair } from './fixture';

const APP = Array.from({ length: 8 }, (_, i) => `const line${i + 1} = ${i + 1};`).join('\n') + '\n';
const { pair, editorTest } = sessionPairSuite({ 'notes.txt': 'shared notes\n', 'src/app.js': APP });

interface ServerRow {
  kind: 'own' | 'remote';
  port?: number;
  remotePort?: number;
  owner?: string;
}
interface ChatRow {
  name: string;
  mine: boolean;
  mentionsMe: boolean;
  spans: Array<{ kind: string; text: string; path?: string; line?: number }>;
}

async function shot(e: Pair['a'], name: string): Promise<void> {
  const dir = process.env.HYPERPAIR_SCREENSHOTS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  await e.page.waitForTimeout(800); // let toasts finish fading in
  await e.page.screenshot({ path: path.join(dir, `${name}.png`) });
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/hello', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** The chat webview's inner frame (webviews are iframes within iframes), once it shows its log. */
async function chatFrame(e: Pair['a']): Promise<Frame> {
  let found: Frame | undefined;
  await until(async () => {
    for (const f of e.page.frames()) {
      if (await f.locator('#log').count().catch(() => 0)) {
        found = f;
        return true;
      }
    }
    return false;
  }, `${e.options.name}'s chat view`);
  return found!;
}

editorTest('Alice shares a server; Bob fetches it through a port of his own, until she stops sharing it', async () => {
  const { a, b } = pair();
  const server = http.createServer((req, res) => res.end(`hello from Alice's server at ${req.url}`));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as AddressInfo).port;
    await a.command('hyperpair.shareServer', port);
    let row: ServerRow | undefined;
    await until(async () => {
      row = (await b.testApi<ServerRow[]>('servers')).find((r) => r.kind === 'remote' && r.remotePort === port && !!r.port);
      return !!row;
    }, "Alice's server in Bob's Shared Servers view");
    assert.equal(row!.owner, 'Alice');
    assert.notEqual(row!.port, port, 'the port is Alice\'s own on this machine: Bob listens on another');
    assert.equal(await get(row!.port!), "hello from Alice's server at /hello");
    assert.deepEqual((await a.testApi<ServerRow[]>('servers')).map((r) => [r.kind, r.port]), [['own', port]]);

    await b.palette('Focus on Hyperpair Shared Servers View');
    await b.page.locator('.monaco-list-row', { hasText: `127.0.0.1:${row!.port}` }).first().waitFor({ state: 'visible', timeout: 15_000 });
    await shot(b, 'shared-servers');

    await a.command('hyperpair.stopSharingServer', { kind: 'own', port, label: '' });
    await until(async () => (await b.testApi<ServerRow[]>('servers')).length === 0, "Alice's server gone from Bob's view");
    await assert.rejects(get(row!.port!), /ECONNREFUSED/);
  } finally {
    server.close();
  }
});

editorTest('Bob mentions Alice with a file:line reference; both see it, markup stays text, and the reference opens the file at that line', async () => {
  const { a, b } = pair();
  const text = '@Alice: the bug is at src/app.js:5 <b>not bold</b><img src=x onerror=alert(1)>';
  await b.command('hyperpair.sendChatMessage', text);
  let rows: ChatRow[] = [];
  await until(async () => {
    rows = (await a.testApi<{ rows: ChatRow[] }>('chat')).rows;
    return rows.length === 1;
  }, "Bob's message at Alice");
  const [m] = rows;
  assert.equal(m.name, 'Bob');
  assert.equal(m.mentionsMe, true);
  assert.equal(m.spans.map((s) => s.text).join(''), text);
  assert.deepEqual(m.spans.find((s) => s.kind === 'ref'), { kind: 'ref', text: 'src/app.js:5', path: 'src/app.js', line: 5 });
  assert.deepEqual(m.spans.find((s) => s.kind === 'mention'), { kind: 'mention', text: '@Alice', name: 'Alice' });
  const bobs = (await b.testApi<{ rows: ChatRow[] }>('chat')).rows;
  assert.equal(bobs.length, 1);
  assert.equal(bobs[0].mine, true);
  assert.ok((await a.testApi<{ unread: number }>('chat')).unread >= 1, 'unread while Alice has not looked');

  await a.palette('Focus on Hyperpair Chat View');
  const frame = await chatFrame(a);
  await until(async () => (await frame.locator('#log .msg').count()) === 1, 'the message in Alice\'s chat view');
  assert.equal(await frame.locator('#log b, #log img, #log script').count(), 0, 'no markup from the message was rendered');
  assert.ok((await frame.locator('#log .msg').innerText()).includes('<b>not bold</b><img src=x onerror=alert(1)>'), 'the markup shown as text');
  await until(async () => (await a.testApi<{ unread: number }>('chat')).unread === 0, 'read once the view shows');
  await shot(a, 'chat');
  await frame.locator('#log .ref').first().click();
  await until(async () => (await a.agent('activeFile')) === 'src/app.js', 'src/app.js open at Alice');
  const [[anchor]] = await a.agent<number[][]>('selections');
  assert.equal(anchor, APP.split('\n').slice(0, 4).join('\n').length + 1, 'the caret at the start of line 5');
});

editorTest('Alice changes the session code: both move to the new one and stay connected', async () => {
  const { a, b } = pair();
  const before = await a.testApi<string>('sessionCode');
  await a.command('hyperpair.rotateSessionCode', { confirmed: true });
  let after = before;
  await until(async () => (after = await a.testApi<string>('sessionCode')) !== before, "Alice's new code");
  await until(async () => (await b.testApi<string>('sessionCode')) === after, 'Bob on the new code');
  assert.equal(await b.testApi('state'), 'connected');
  assert.equal((await a.testApi<unknown[]>('peers')).length, 1);
});
