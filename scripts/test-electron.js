#!/usr/bin/env node
// Opt-in: runs the extension in Microsoft's VS Code (downloaded by @vscode/test-electron) where that
// download is possible — a developer's laptop or public CI, not this project's offline machines, where
// `npm test` uses code-server instead. It loads the same test agent (test/editor/agent, an
// `extensionTestsPath` module exporting run()) and checks that Hyperpair activates and can start a
// session on a private DHT.
//   npm run build && npx tsc -p . && node scripts/test-electron.js
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const fs = require('node:fs');
const path = require('node:path');
const { runTests } = require('@vscode/test-electron');

const repo = path.resolve(__dirname, '..');

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function call(port, method, ...args) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/rpc' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const reply = JSON.parse(body);
        reply.ok ? resolve(reply.result) : reject(new Error(reply.error));
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify({ method, args }));
  });
}

async function until(fn, what, ms = 120000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {}
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

(async () => {
  // Downloading VS Code needs the internet; where there is none, say so instead of hanging.
  setTimeout(() => {
    console.error('test-electron: no VS Code after 10 minutes (is the download blocked?). `npm test` runs the editor suite with code-server instead.');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }, 600000).unref();
  const createTestnet = require('@hyperswarm/testnet');
  const testnet = await createTestnet(3, { host: '127.0.0.1' });
  const port = await freePort();
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperpair-electron-'));
  fs.writeFileSync(path.join(workspace, 'hello.txt'), 'hello\n');
  const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperpair-electron-user-'));
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({
    'hyperpair.bootstrap': testnet.bootstrap.map((b) => `${b.host}:${b.port}`).join(','),
    'hyperpair.bindHost': '127.0.0.1',
  }));
  let failure;
  const checks = (async () => {
    await until(() => call(port, 'extensionActive'), 'Hyperpair to activate');
    await call(port, 'executeCommand', 'hyperpair.startSession');
    const code = await call(port, 'testApi', 'sessionCode');
    if (!/^[0-9A-Z]{5}(-[0-9A-Z]{5}){5}$/.test(code || '')) throw new Error(`no session code: ${code}`);
    console.log('ok: Hyperpair activated in VS Code and started a session');
  })().catch((err) => (failure = err)).finally(() => call(port, 'done').catch(() => {}));
  try {
    await runTests({
      extensionDevelopmentPath: repo,
      extensionTestsPath: path.join(repo, 'out/test/editor/agent/index.js'),
      launchArgs: [workspace, '--disable-extensions', `--user-data-dir=${userData}`],
      extensionTestsEnv: { HYPERPAIR_TEST_AGENT_PORT: String(port) },
    });
  } catch (err) {
    failure ??= err;
  }
  await checks;
  await testnet.destroy();
  if (failure) {
    console.error(`test-electron: ${failure.message}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  console.log('1 passed, 0 failed');
})();
