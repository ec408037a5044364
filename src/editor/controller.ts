/**
 * The session state of this window: idle, or one running session (started or joined). Loads the
 * session runtime (networking, Yjs, bindings) lazily, on the first start or join, so that activating
 * Hyperpair costs nothing until someone collaborates.
 */
import * as vscode from 'vscode';
import type { Logger } from '../session/log';
import type { PeerInfo } from '../session/transport';
import type { FileCounts } from '../sync/api';
import { readConfig, resolveDisplayName } from './config';
import type * as RuntimeModule from './runtime';
import type { PeerNotices } from './notices';
import { CleanTexts } from './clean-texts';
import { CleanNotebooks } from './clean-notebooks';

export type SessionState = 'idle' | 'starting' | 'joining' | 'connected' | 'alone' | 'reconnecting';

/** The first copy of the shared folder to disk, as it goes. */
export type JoinProgress = FileCounts;

let runtimeModule: typeof RuntimeModule | undefined;
function loadRuntime(): typeof RuntimeModule {
  // A separate bundle (dist/runtime.js): required only here, at the first start or join.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  runtimeModule ??= require('./runtime.js') as typeof RuntimeModule;
  return runtimeModule;
}

export class SessionController implements vscode.Disposable {
  private running: RuntimeModule.RunningSession | undefined;
  private _state: SessionState = 'idle';
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private peerSubscription: vscode.Disposable | undefined;
  /** What open documents held when last clean, from activation on (see clean-texts.ts). */
  private readonly cleanTexts = new CleanTexts(() => this.running === undefined);
  /** What open notebooks' cells held when last clean, from activation on (see clean-notebooks.ts). */
  private readonly cleanNotebooks = new CleanNotebooks(() => this.running === undefined);

  constructor(
    private readonly logger: Logger,
    private readonly notices: PeerNotices,
    private readonly storageDir: string,
  ) {}

  get state(): SessionState {
    return this._state;
  }

  get session(): RuntimeModule.RunningSession | undefined {
    return this.running;
  }

  get code(): string | undefined {
    return this.running?.code;
  }

  /** The kept versions of what peers replaced or deleted in `root` (loads the runtime). */
  history(root: string): ReturnType<typeof RuntimeModule.openHistory> {
    return loadRuntime().openHistory(root, this.logger);
  }

  peers(): PeerInfo[] {
    return this.running?.peers() ?? [];
  }

  /** The connection report outside a session: tests this machine's network (loads the runtime). */
  async probe(): Promise<{ text: string }> {
    const config = readConfig();
    return loadRuntime().probeConnection(config, await resolveDisplayName(config), this.logger);
  }

  /** Shares `root` in a new session. */
  async start(root: string, onSessionOpen?: (code: string) => void, onScanProgress?: (s: { files: number; bytes: number }) => void): Promise<string> {
    const running = await this.open('starting', { mode: 'share', root, onSessionOpen, onScanProgress });
    return running.code;
  }

  /** Joins the session `code` into the empty folder `root`. */
  async join(
    code: string,
    root: string,
    onProgress?: (p: JoinProgress) => void,
    cancel?: vscode.CancellationToken,
    onWaiting?: (message: string) => void,
  ): Promise<void> {
    await this.open('joining', { mode: 'join', code, root, onProgress, cancel, onWaiting });
  }

  private async open(
    state: 'starting' | 'joining',
    options: Pick<RuntimeModule.OpenOptions, 'mode' | 'root' | 'code' | 'onProgress' | 'cancel' | 'onWaiting' | 'onSessionOpen' | 'onScanProgress'>,
  ): Promise<RuntimeModule.RunningSession> {
    this.assertIdle();
    this.setState(state);
    try {
      const config = readConfig();
      const running = await loadRuntime().openSession({
        ...options,
        config,
        name: await resolveDisplayName(config),
        logger: this.logger,
        storageDir: this.storageDir,
        cleanTexts: this.cleanTexts,
        cleanNotebooks: this.cleanNotebooks,
        onFolderTaken: (message) => {
          this.logger.warn(message);
          void this.leave().then(() => vscode.window.showWarningMessage(`Hyperpair: ${message}`));
        },
      });
      this.adopt(running);
      return running;
    } catch (err) {
      this.setState('idle');
      throw err;
    }
  }

  async leave(): Promise<void> {
    const running = this.running;
    if (!running) return;
    this.running = undefined;
    this.peerSubscription?.dispose();
    this.peerSubscription = undefined;
    try {
      await running.leave();
    } finally {
      this.setState('idle');
    }
  }

  dispose(): void {
    void this.leave();
    this.changed.dispose();
    this.cleanTexts.dispose();
    this.cleanNotebooks.dispose();
  }

  private adopt(running: RuntimeModule.RunningSession): void {
    this.running = running;
    this.notices.reset();
    const update = () => this.setState(running.peers().length > 0 ? 'connected' : running.offline() ? 'reconnecting' : 'alone');
    const onStatus = () => update();
    running.peer.session.on('status', onStatus);
    const peers = running.onDidChangePeers((event) => {
      if (event) this.notices.notice(event);
      update();
    });
    this.peerSubscription = { dispose: () => (peers.dispose(), running.peer.session.off('status', onStatus)) };
    update();
  }

  private assertIdle(): void {
    if (this._state !== 'idle') throw new Error('A Hyperpair session is already running in this window. Leave it first.');
  }

  private setState(state: SessionState): void {
    this._state = state;
    void vscode.commands.executeCommand('setContext', 'hyperpair.state', state);
    void vscode.commands.executeCommand('setContext', 'hyperpair.inSession', state !== 'idle');
    this.changed.fire();
  }
}
