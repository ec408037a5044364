/**
 * The packaged product: `npm run package` builds the VSIX for this platform, code-server installs it
 * with --install-extension, and Hyperpair runs from there — natives included — to start a session
 * that a headless peer joins.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startPeer, type RunningPeer } from '../../src/app/peer';
import { createTestNetwork, type TestNetwork } from '../helpers/testnet';
import { Editor, REPO, ARTIFACTS, until } from './fixture';

const target = `${process.platform}-${process.arch}`;
let net: TestNetwork;
let editor: Editor;
let tmp: string;
let joiner: RunningPeer | undefined;

before(async () => {
  execFileSync(process.execPath, [path.join(REPO, 'scripts/package.mjs'), target], { cwd: REPO, stdio: 'pipe', timeout: 300_000 });
  const version = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version as string;
  const vsix = path.join(REPO, 'dist-vsix', `hyperpair-${version}-${target}.vsix`);
  assert.ok(fs.existsSync(vsix), `npm run package did not produce ${vsix}`);
  net = await createTestNetwork();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperpair-vsix-'));
  editor = new Editor({ name: 'Vera', files: { 'shipped.txt': 'from the packaged extension\n' }, vsix }, net.bootstrapSpec, tmp);
  await editor.start();
}, { timeout: 400_000 });

after(async () => {
  await joiner?.close();
  await editor?.stop();
  await net?.destroy();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('the VSIX installs into code-server, and the installed extension starts a session a peer can join', { timeout: 180_000 }, async () => {
  try {
    await until(() => editor.agent<boolean>('extensionActive'), 'the installed Hyperpair to activate', 60_000);
    const where = await editor.agent<string>('extensionPath');
    assert.ok(!where.startsWith(REPO), `Hyperpair should run from the installed VSIX, not the repository (${where})`);
    assert.ok(fs.existsSync(path.join(where, 'node_modules/sodium-native/prebuilds', target)), 'the native addons shipped for this platform');
    await editor.palette('Hyperpair: Start Session');
    await until(async () => (await editor.testApi<string | null>('sessionCode')) !== null, 'a session code', 60_000);
    const code = (await editor.testApi<string>('sessionCode'))!;
    const dir = path.join(tmp, 'joiner');
    joiner = await startPeer({ mode: 'join', code, dir, name: 'Headless', network: net.network });
    assert.equal(fs.readFileSync(path.join(dir, 'shipped.txt'), 'utf8'), 'from the packaged extension\n');
    await until(async () => (await editor.testApi<string>('state')) === 'connected', 'the editor to see the joiner', 30_000);
  } catch (err) {
    const dir = path.join(ARTIFACTS, 'vsix');
    fs.mkdirSync(dir, { recursive: true });
    await editor.screenshot(dir, 'Vera');
    if (fs.existsSync(editor.logFile)) fs.copyFileSync(editor.logFile, path.join(dir, 'code-server.log'));
    console.log(`# screenshots and logs of the failure: ${dir}`);
    throw err;
  }
});
