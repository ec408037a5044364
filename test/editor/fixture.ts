/**
 * Two real VS Code instances (code-server, driven by Debian's Chromium through playwright-core), each
 * with its own user data, extensions, workspace and port, loading Hyperpair from this checkout, on a
 * private hyperswarm testnet. Tests get a handle per editor. Every process started here is killed when
 * the suite ends, fails, times out or is interrupted; failures leave screenshots and logs behind in
 * .test-artifacts/editor/.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { fakeMicrophoneArgs, writeToneWav } from '../helpers/tone';
import { createTestNetwork, type TestNetwork } from '../helpers/testnet';

export const REPO = path.resolve(__dirname, '../../..');
const CODE_SERVER = path.join(REPO, '.cache/code-server/node_modules/.bin/code-server');
const AGENT = path.join(REPO, 'out/test/editor/agent/index.js');
export const ARTIFACTS = path.join(REPO, '.test-artifacts/editor');
const CHROMIUM = process.env.HYPERPAIR_CHROMIUM ?? '/usr/bin/chromium';
const STARTUP_DEADLINE_MS = 120_000;

const livePids = new Set<number>();
function killAll(): void {
  for (const pid of livePids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  livePids.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

export interface EditorOptions {
  name: string;
  /** Files to create in the workspace before the editor opens it. */
  files?: Record<string, string>;
  settings?: Record<string, unknown>;
  /** Run Hyperpair installed from this VSIX (`code-server --install-extension`), not from the repository. */
  vsix?: string;
}

export class Editor {
  readonly workspaceDir: string;
  readonly logFile: string;
  page!: Page;
  /** The editor's browser: pages it opens (the call page, links) appear here. */
  context!: BrowserContext;
  private server!: ChildProcess;
  private port = 0;
  private agentPort = 0;
  /** The workbench's address: this folder, with the agent loaded. */
  private url = '';
  private readonly base: string;
  readonly output: string[] = [];

  constructor(
    readonly options: EditorOptions,
    private readonly bootstrap: string,
    tmp: string,
  ) {
    this.base = path.join(tmp, options.name);
    this.workspaceDir = path.join(this.base, 'workspace');
    this.logFile = path.join(this.base, 'code-server.log');
  }

  async start(): Promise<void> {
    for (const d of ['user-data/User', 'extensions', 'xdg-config', 'xdg-data', 'xdg-state', 'browser', 'workspace']) {
      fs.mkdirSync(path.join(this.base, d), { recursive: true });
    }
    for (const [rel, content] of Object.entries(this.options.files ?? {})) {
      fs.mkdirSync(path.dirname(path.join(this.workspaceDir, rel)), { recursive: true });
      fs.writeFileSync(path.join(this.workspaceDir, rel), content);
    }
    const settings = {
      'hyperpair.bootstrap': this.bootstrap,
      'hyperpair.bindHost': '127.0.0.1',
      'hyperpair.displayName': this.options.name,
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'workbench.enableExperiments': false,
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'update.mode': 'none',
      'files.autoSave': 'off',
      'editor.formatOnSave': false,
      'git.enabled': false,
      'window.restoreWindows': 'none',
      ...this.options.settings,
    };
    fs.writeFileSync(path.join(this.base, 'user-data/User/settings.json'), JSON.stringify(settings, null, 2));
    if (this.options.vsix) {
      execFileSync(CODE_SERVER, ['--extensions-dir', path.join(this.base, 'extensions'), '--user-data-dir', path.join(this.base, 'user-data'), '--install-extension', this.options.vsix], {
        stdio: 'pipe',
        timeout: 120_000,
      });
    }
    this.port = await freePort();
    this.agentPort = await freePort();
    const log = fs.openSync(this.logFile, 'a');
    this.server = spawn(
      CODE_SERVER,
      [
        '--auth', 'none',
        '--bind-addr', `127.0.0.1:${this.port}`,
        '--user-data-dir', path.join(this.base, 'user-data'),
        '--extensions-dir', path.join(this.base, 'extensions'),
        '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--ignore-last-opened',
        // Debug lines in the logs kept with a failure's screenshots (the Hyperpair channel's debug level).
        '--log', 'debug',
        this.workspaceDir,
      ],
      {
        detached: true,
        stdio: ['ignore', log, log],
        env: {
          ...process.env,
          XDG_CONFIG_HOME: path.join(this.base, 'xdg-config'),
          XDG_DATA_HOME: path.join(this.base, 'xdg-data'),
          // Sync records and file history of this editor's folders (never the user's own).
          XDG_STATE_HOME: path.join(this.base, 'xdg-state'),
          HYPERPAIR_TEST_AGENT_PORT: String(this.agentPort),
        },
      },
    );
    livePids.add(this.server.pid!);
    await until(() => httpOk(`http://127.0.0.1:${this.port}/healthz`), `${this.options.name}: code-server to listen`, STARTUP_DEADLINE_MS);

    this.context = await chromium.launchPersistentContext(path.join(this.base, 'browser'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 900 },
      // A fake microphone playing a tone, allowed without a prompt, for the call (issue 19).
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...fakeMicrophoneArgs(this.toneFile())],
    });
    this.page = this.context.pages()[0] ?? (await this.context.newPage());
    await this.page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => this.output.push(`${type}: ${JSON.stringify(args)}`));
    await this.page.exposeFunction('codeAutomationExit', (code: number) => this.output.push(`extension host tests exited with ${code}`));
    const remote = (p: string) => `vscode-remote://127.0.0.1:${this.port}${p}`;
    const payload = [
      // With a VSIX, an empty development extension carries the agent; Hyperpair is the installed one.
      ['extensionDevelopmentPath', remote(this.options.vsix ? path.join(REPO, 'test/editor/host-extension') : REPO)],
      ['extensionTestsPath', remote(AGENT)],
      ['skipWelcome', 'true'],
    ];
    this.url = `http://127.0.0.1:${this.port}/?folder=${encodeURIComponent(this.workspaceDir)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    // The workbench page alone can take over 30 s (Playwright's default) on a loaded two-core machine.
    await this.page.goto(this.url, { timeout: STARTUP_DEADLINE_MS });
    await until(async () => (await this.agent('ping').catch(() => undefined)) !== undefined, `${this.options.name}: the extension host and test agent`, STARTUP_DEADLINE_MS);
  }

  private toneFile(): string {
    const file = path.join(this.base, 'tone.wav');
    if (!fs.existsSync(file)) writeToneWav(file);
    return file;
  }

  /** The process id of the extension host whose agent answers now. */
  async host(): Promise<number | undefined> {
    return (await this.agent<{ host: number }>('ping').catch(() => undefined))?.host;
  }

  /**
   * Reloads the window, and waits until calls reach its new extension host: the old one can outlive
   * the page (code-server keeps it when the reload's shutdown fails) and answer meanwhile.
   */
  async reloadWindow(): Promise<void> {
    // As the first load: the workbench can take over 30 s (Playwright's default) on a loaded machine.
    await this.inNewHost('the reloaded window', () => this.page.reload({ timeout: STARTUP_DEADLINE_MS }));
  }

  /** Opens this folder in a second window (a second tab), whose extension host then answers calls. */
  async openSecondWindow(): Promise<Page> {
    const page = await this.context.newPage();
    await this.inNewHost('the second window', () => page.goto(this.url, { timeout: STARTUP_DEADLINE_MS }));
    return page;
  }

  /** Does `open`, then waits until another extension host than the one before answers calls. */
  private async inNewHost(what: string, open: () => Promise<unknown>): Promise<void> {
    const before = await this.host();
    await open();
    await until(async () => ![undefined, before].includes(await this.host()), `${this.options.name}: ${what}'s extension host`, STARTUP_DEADLINE_MS);
  }

  /** Calls the in-editor agent (see agent/index.ts). */
  async agent<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    const body = JSON.stringify({ method, args });
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: this.agentPort, method: 'POST', path: '/rpc', timeout: 60_000 },
        (res) => {
          let data = '';
          res.on('data', (d: Buffer) => (data += d.toString()));
          res.on('end', () => resolve(data));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`agent call ${method} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
    const reply = JSON.parse(text) as { ok: boolean; result?: T; error?: string };
    if (!reply.ok) throw new Error(`agent ${method} failed in ${this.options.name}: ${reply.error}`);
    return reply.result as T;
  }

  command<T = unknown>(id: string, ...args: unknown[]): Promise<T> {
    return this.agent<T>('executeCommand', id, ...args);
  }

  testApi<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    return this.agent<T>('testApi', method, ...args);
  }

  text(rel: string): Promise<string> {
    return this.agent<string>('text', rel);
  }

  diskText(rel: string): Promise<string | null> {
    return this.agent<string | null>('diskText', rel);
  }

  insert(rel: string, offset: number, text: string): Promise<boolean> {
    return this.agent<boolean>('insert', rel, offset, text);
  }

  decorations(rel: string): Promise<unknown[]> {
    return this.testApi<unknown[]>('cursorsIn', rel);
  }

  /** Runs a command through the command palette, as a person would. */
  async palette(title: string): Promise<void> {
    const page = this.page;
    for (let attempt = 0; attempt < 6; attempt++) {
      await page.keyboard.press('Escape');
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      try {
        await input.waitFor({ state: 'visible', timeout: 10_000 });
        await input.fill(`>${title}`, { timeout: 5000 });
      } catch {
        continue; // something took the focus and closed it (an editor opening): open it again
      }
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
      try {
        await row.waitFor({ state: 'visible', timeout: 3000 });
      } catch {
        continue; // the palette snapshots commands when it opens: reopen until the row is there
      }
      await page.keyboard.press('Enter');
      return;
    }
    throw new Error(`${this.options.name}: "${title}" never appeared in the command palette`);
  }

  /**
   * Focuses the active editor and moves the caret with the real keyboard (line and column from 0),
   * so that it is where typing lands — an API selection can reach the window after the keystrokes.
   */
  async caretAt(line: number, column: number): Promise<void> {
    await this.page.locator('.monaco-editor .view-lines').first().click();
    await this.page.keyboard.press('Control+Home');
    for (let i = 0; i < line; i++) await this.page.keyboard.press('ArrowDown');
    for (let i = 0; i < column; i++) await this.page.keyboard.press('ArrowRight');
    await until(async () => {
      const sel = await this.agent<number[][]>('selections');
      return sel.length === 1 && sel[0][0] === sel[0][1];
    }, 'the caret', 5000);
  }

  /** Types with the real keyboard into whatever has focus. */
  async type(text: string): Promise<void> {
    await this.page.keyboard.type(text, { delay: 5 });
  }

  async screenshot(dir: string, name: string): Promise<string> {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${name}.png`);
    await this.page.screenshot({ path: file }).catch(() => undefined);
    return file;
  }

  async stop(): Promise<void> {
    await this.agent('done').catch(() => undefined);
    await this.context?.close().catch(() => undefined);
    if (this.server?.pid) {
      try {
        process.kill(-this.server.pid, 'SIGKILL');
      } catch {
        // gone
      }
      livePids.delete(this.server.pid);
    }
  }
}

export interface Pair {
  a: Editor;
  b: Editor;
  network: TestNetwork;
  /** Saves screenshots and logs of both editors under .test-artifacts/editor/<name>/. */
  saveArtifacts(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts editor A (with `filesA`) and editor B (an empty folder) on one private testnet. */
export async function startPair(
  filesA: Record<string, string>,
  settings: { a?: Record<string, unknown>; b?: Record<string, unknown> } = {},
): Promise<Pair> {
  if (!fs.existsSync(CODE_SERVER)) throw new Error('code-server is not installed: run `bash scripts/setup-editor.sh` (npm test does)');
  if (!fs.existsSync(path.join(REPO, 'dist/extension.js'))) throw new Error('dist/extension.js is missing: run `npm run build`');
  const network = await createTestNetwork();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperpair-editors-'));
  const a = new Editor({ name: 'Alice', files: filesA, settings: settings.a }, network.bootstrapSpec, tmp);
  const b = new Editor({ name: 'Bob', settings: settings.b }, network.bootstrapSpec, tmp);
  const pair: Pair = {
    a,
    b,
    network,
    async saveArtifacts(name: string) {
      const dir = path.join(ARTIFACTS, name.replace(/[^a-z0-9-]+/gi, '_').slice(0, 80));
      fs.mkdirSync(dir, { recursive: true });
      for (const e of [a, b]) {
        await e.screenshot(dir, e.options.name);
        if (fs.existsSync(e.logFile)) fs.copyFileSync(e.logFile, path.join(dir, `${e.options.name}-code-server.log`));
        fs.writeFileSync(path.join(dir, `${e.options.name}-extension-host.log`), e.output.join('\n'));
        const logs = path.join(e.workspaceDir, '..', 'user-data', 'logs');
        if (fs.existsSync(logs)) fs.cpSync(logs, path.join(dir, `${e.options.name}-vscode-logs`), { recursive: true });
      }
      return dir;
    },
    async stop() {
      await Promise.all([a.stop(), b.stop()]);
      await network.destroy();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
  try {
    // One after the other: two workbenches booting at once on two cores mostly wait on each other.
    await a.start();
    await b.start();
  } catch (err) {
    await pair.saveArtifacts('startup-failure').catch(() => undefined);
    await pair.stop();
    throw err;
  }
  return pair;
}

/** A pair in one session: A shares `filesA` (through the commands), B joins and has every file. */
export async function startSessionPair(filesA: Record<string, string>, settings: Record<string, unknown> = {}): Promise<Pair> {
  const pair = await startPair(filesA, { a: settings, b: settings });
  await until(() => pair.a.agent<boolean>('extensionActive'), 'A active', 60_000);
  await until(() => pair.b.agent<boolean>('extensionActive'), 'B active', 60_000);
  await pair.a.command('hyperpair.startSession');
  const code = await pair.a.testApi<string>('sessionCode');
  await pair.b.command('hyperpair.joinSession', { code });
  await until(async () => (await pair.b.testApi<string>('state')) === 'connected', 'B connected', 90_000);
  const count = Object.keys(filesA).length;
  await until(async () => (await pair.b.agent<string[]>('files')).length === count, 'B has the files', 30_000);
  return pair;
}

export async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    http.get(url, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 500);
    }).on('error', () => resolve(false));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * A test against a pair of editors: on failure, screenshots and logs of both are saved (and their
 * folder printed) before the failure is reported.
 */
/**
 * A two-editor test. `todo` (a reason) runs it and reports its result without failing the run: for a
 * test known to fail now and then, counted apart from the passes (never as one).
 */
export function editorTest(getPair: () => Pair, name: string, fn: (t: TestContext) => Promise<void>, timeout = 120_000, todo?: string): void {
  test(name, { timeout, todo }, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      const dir = await getPair().saveArtifacts(name);
      console.log(`# screenshots and logs of the failure: ${dir}`);
      throw err;
    }
  });
}

/**
 * A test file's pair in one session (see startSessionPair), started before its tests and stopped
 * after them; `editorTest` saves both editors' screenshots and logs when a test fails.
 */
export function sessionPairSuite(files: Record<string, string>, settings?: Record<string, unknown>): PairSuite {
  return pairSuite(() => startSessionPair(files, settings));
}

export interface PairSuite {
  pair: () => Pair;
  editorTest: (name: string, fn: (t: TestContext) => Promise<void>, timeout?: number, todo?: string) => void;
}

/** A test file's pair as `start` makes it (two editors, in a session or not yet), for all its tests. */
export function pairSuite(start: () => Promise<Pair>): PairSuite {
  let pair: Pair | undefined;
  before(async () => {
    pair = await start();
  }, { timeout: 300_000 });
  after(async () => {
    await pair?.stop();
  });
  const get = (): Pair => {
    if (!pair) throw new Error('the editors did not start');
    return pair;
  };
  return { pair: get, editorTest: (name, fn, timeout, todo) => editorTest(get, name, fn, timeout, todo) };
}

/**
 * The text once both buffers are the same and stay so for 2 s: the last keystrokes reach each
 * extension host a while after the window has them, so two buffers can agree on a moment that is not
 * yet the end (a CI run compared the disks with such a moment, "A0" where "A011x" was still on its
 * way; the same-spot test once read "alpha" where "alpha3" was on its way, the co-editing test
 * "typedline" where "typed line" was, their screenshots whole).
 */
export async function settledText(a: Editor, b: Editor, file: string): Promise<string> {
  let text: string | undefined;
  let stable = 0;
  await until(async () => {
    const [ta, tb] = await Promise.all([a.text(file), b.text(file)]);
    stable = ta === tb && ta === text ? stable + 1 : 0;
    text = ta;
    if (stable < 8) await new Promise((r) => setTimeout(r, 250));
    return stable >= 8;
  }, 'both buffers to converge', 60_000);
  return text!;
}
