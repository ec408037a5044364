/**
 * Shared terminals in VS Code: every terminal shared in the session (this window's own and the
 * others') is a VS Code terminal backed by a Pseudoterminal over the core's SharedTerminals
 * (session/terminal.ts), which decides everything: who may type, what a member sees. The terminal's
 * name says whose it is, whether this person may type, and who typed last. The pseudo-terminal itself
 * comes from node-pty inside VS Code's own app (`vscode.env.appRoot`), so the VSIX carries no native
 * module. Bundled with the session runtime; the commands are in terminal-commands.ts.
 */
import * as vscode from 'vscode';
import type { Logger } from '../session/log';
import { SharedTerminals, type TerminalState } from '../session/terminal';
import { appRootCandidates, loadPty } from '../session/terminal-pty';
import type { TerminalSource } from '../session/terminal';

/** What one VS Code terminal showed, for the editor tests: what was written to it, and its name. */
export interface TerminalViewState {
  key: string;
  title: string;
  name: string;
  mine: boolean;
  canType: boolean;
  writers: string[];
  shown: string;
  closed: boolean;
}

/** Kept of what a view showed, for the tests: the newest bytes. */
const SHOWN_LIMIT = 64 * 1024;

class TerminalView implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly nameEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<void>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidChangeName = this.nameEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  readonly terminal: vscode.Terminal;
  private readonly decoder = new TextDecoder('utf-8');
  private opened = false;
  private lastTypist: string | undefined;
  private refusedAt = 0;
  name: string;
  shown = '';
  ended = false;

  constructor(
    private readonly owner: TerminalViews,
    readonly state: TerminalState,
  ) {
    this.name = this.label();
    this.terminal = vscode.window.createTerminal({ name: this.name, pty: this, iconPath: new vscode.ThemeIcon('live-share') });
  }

  open(dims: vscode.TerminalDimensions | undefined): void {
    this.opened = true;
    // What the shell printed before this view opened: the recent output every peer keeps.
    this.write(this.owner.terminals.replay(this.state.key));
    if (dims) this.setDimensions(dims);
  }

  close(): void {
    // The person closed the view: their own terminal stops being shared; another's is only hidden.
    this.owner.viewClosed(this);
  }

  handleInput(data: string): void {
    if (this.ended) return;
    const t = this.owner.terminals;
    if (!t.canType(this.state.key)) {
      const now = Date.now();
      if (now - this.refusedAt > 10_000) {
        this.refusedAt = now;
        void vscode.window.showInformationMessage(`Hyperpair: ${this.state.owner.name}'s terminal is read-only for you. ${this.state.owner.name} can let you type (Hyperpair: Allow Typing in Terminal).`);
      }
      return;
    }
    try {
      t.input(this.state.key, data);
    } catch (err) {
      void vscode.window.showWarningMessage(`Hyperpair: ${(err as Error).message}`);
    }
  }

  setDimensions(dims: vscode.TerminalDimensions): void {
    // Every open view counts: the shell runs at the smallest, so full-screen programs fit each one.
    if (!this.ended) this.owner.terminals.resize(this.state.key, dims.columns, dims.rows);
  }

  output(bytes: Buffer): void {
    if (this.opened) this.write(bytes);
  }

  typed(name: string): void {
    this.lastTypist = name;
    this.rename();
  }

  rename(): void {
    const name = this.label();
    if (name === this.name) return;
    this.name = name;
    this.nameEmitter.fire(name);
  }

  /** The shell ended or its sharer stopped sharing: the view stays, with the reason, until closed. */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.writeEmitter.fire(`\r\n\x1b[2m[terminal closed: ${reason.replace(/[\x00-\x1f\x7f-\x9f]/g, ' ')}]\x1b[0m\r\n`);
    this.shown += `\n[terminal closed: ${reason}]\n`;
    this.name = `${this.name} (closed)`;
    this.nameEmitter.fire(this.name);
  }

  dispose(): void {
    this.closeEmitter.fire();
    this.writeEmitter.dispose();
    this.nameEmitter.dispose();
    this.closeEmitter.dispose();
  }

  private write(bytes: Uint8Array): void {
    const text = this.decoder.decode(bytes, { stream: true });
    if (!text) return;
    this.shown = (this.shown + text).slice(-SHOWN_LIMIT);
    this.writeEmitter.fire(text);
  }

  private label(): string {
    const whose = this.state.mine ? 'Shared' : `${this.state.owner.name}'s`;
    const access = this.state.mine ? '' : this.owner.terminals.canType(this.state.key) ? ' (you may type)' : ' (read-only)';
    const typist = this.lastTypist ? ` — ${this.lastTypist} typed` : '';
    return `${whose} ${this.state.title}${access}${typist}`;
  }
}

export class TerminalViews implements vscode.Disposable {
  readonly terminals: SharedTerminals;
  private readonly views = new Map<string, TerminalView>();
  private disposing = false;

  constructor(source: TerminalSource, logger: Logger) {
    this.terminals = new SharedTerminals(source, { logger, pty: () => loadPty(appRootCandidates(vscode.env.appRoot)) });
    const t = this.terminals;
    t.on('opened', (state) => {
      const view = new TerminalView(this, state);
      this.views.set(state.key, view);
      if (state.mine) view.terminal.show();
      else void vscode.window.showInformationMessage(`Hyperpair: ${state.owner.name} shares a terminal (${state.title}).`, 'Show').then((c) => c && view.terminal.show());
    });
    t.on('output', (key, bytes) => this.views.get(key)?.output(bytes));
    t.on('typed', (key, by) => this.views.get(key)?.typed(by.id === source.self.id ? 'you' : by.name));
    t.on('changed', (state) => this.views.get(state.key)?.rename());
    t.on('closed', (key, reason) => {
      const view = this.views.get(key);
      view?.end(reason);
      if (view && !view.state.mine && !this.disposing) void vscode.window.showInformationMessage(`Hyperpair: ${view.state.owner.name}'s terminal closed (${reason}).`);
    });
  }

  /** Starts a shell in this window's folder and shares it. */
  share(cwd: string): TerminalState {
    return this.terminals.share({ cwd, title: shellTitle() });
  }

  /** The views, for the editor tests. */
  states(): TerminalViewState[] {
    return [...this.views.values()].map((v) => ({
      key: v.state.key,
      title: v.state.title,
      name: v.name,
      mine: v.state.mine,
      canType: this.terminals.canType(v.state.key),
      writers: [...v.state.writers],
      shown: v.shown,
      closed: v.ended,
    }));
  }

  /** Shows the VS Code terminal of a shared terminal (again, if the person closed its view). */
  show(key: string): boolean {
    let view = this.views.get(key);
    const state = this.terminals.get(key);
    if (!view && state) {
      view = new TerminalView(this, state);
      this.views.set(key, view);
    }
    view?.terminal.show();
    return !!view;
  }

  /** @internal The person closed a view. */
  viewClosed(view: TerminalView): void {
    if (this.views.get(view.state.key) !== view) return;
    this.views.delete(view.state.key);
    if (view.ended) return;
    if (view.state.mine) this.terminals.stop(view.state.key);
    else this.terminals.resize(view.state.key, 0, 0); // no longer watched here: it no longer limits the size
  }

  dispose(): void {
    this.disposing = true; // leaving: the terminals close without a notification each
    this.terminals.close();
    for (const v of this.views.values()) v.dispose();
    this.views.clear();
  }
}

function shellTitle(): string {
  const shell = process.env.SHELL ?? (process.platform === 'win32' ? 'powershell' : 'bash');
  return shell.split(/[\\/]/).pop() ?? 'shell';
}
