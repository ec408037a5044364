/**
 * The shared terminal commands (registered at activation, so this module imports no core code):
 * share a terminal, let a person type in it or take that back (a QuickPick, or the participant the
 * participants view passes), stop sharing, and show a terminal someone shares.
 */
import * as vscode from 'vscode';
import type { Logger } from '../session/log';
import type { TerminalState } from '../session/terminal';
import type { SessionController } from './controller';
import type { RunningSession } from './runtime';

/** What the participants view's context menu passes (a Participant), or a test's `{ id }`. */
interface PersonArg {
  id?: string;
}

export class TerminalCommands implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly controller: SessionController,
    private readonly logger: Logger,
  ) {
    const reg = (id: string, fn: (...args: never[]) => Promise<unknown>) =>
      this.disposables.push(
        vscode.commands.registerCommand(id, async (...args: never[]) => {
          try {
            return await fn(...args);
          } catch (err) {
            this.logger.warn(`${id}: ${(err as Error).message}`);
            void vscode.window.showErrorMessage(`Hyperpair: ${(err as Error).message}`);
            return undefined;
          }
        }),
      );
    reg('hyperpair.shareTerminal', () => this.share());
    reg('hyperpair.allowTerminalTyping', (p?: PersonArg, key?: string) => this.setTyping(true, p, key));
    reg('hyperpair.revokeTerminalTyping', (p?: PersonArg, key?: string) => this.setTyping(false, p, key));
    reg('hyperpair.stopSharingTerminal', (key?: string) => this.stop(key));
    reg('hyperpair.showSharedTerminal', (key?: string) => this.show(key));
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  private running(): RunningSession {
    const running = this.controller.session;
    if (!running) throw new Error('No session is running. Start or join one first.');
    return running;
  }

  private async share(): Promise<string> {
    const running = this.running();
    const state = running.terminals.share(running.root);
    void vscode.window.showInformationMessage(
      `Hyperpair: your terminal is shared with everyone in the session. They can watch; only you type until you allow someone (Hyperpair: Allow Typing in Terminal).`,
    );
    return state.key;
  }

  /** One of this window's shared terminals: the given one, the only one, or one picked. */
  private async ownTerminal(key: string | undefined, title: string): Promise<TerminalState | undefined> {
    const own = this.running().terminals.terminals.terminals().filter((t) => t.mine);
    if (key) return own.find((t) => t.key === key) ?? fail('That terminal is not one you share.');
    if (own.length === 0) throw new Error('You share no terminal. Share one first (Hyperpair: Share Terminal).');
    if (own.length === 1) return own[0];
    const pick = await vscode.window.showQuickPick(own.map((t) => ({ label: t.title, description: `${t.cols}×${t.rows}`, t })), { title });
    return pick?.t;
  }

  private async setTyping(allow: boolean, person: PersonArg | undefined, key: string | undefined): Promise<string | undefined> {
    const running = this.running();
    const terminal = await this.ownTerminal(key, allow ? 'Let someone type in which terminal?' : 'Take typing back in which terminal?');
    if (!terminal) return undefined;
    let id = person?.id;
    if (!id) {
      const people = running.peers().filter((p) => (allow ? !p.readOnly && !terminal.writers.includes(p.id) : terminal.writers.includes(p.id)));
      if (people.length === 0) throw new Error(allow ? 'Nobody can be allowed to type: everyone connected may already, or is read-only.' : 'Nobody but you may type in this terminal.');
      const pick = await vscode.window.showQuickPick(people.map((p) => ({ label: p.name, p })), { title: allow ? 'Let whom type in your terminal?' : 'Take typing back from whom?' });
      if (!pick) return undefined;
      id = pick.p.id;
    }
    const name = running.peers().find((p) => p.id === id)?.name ?? 'That person';
    const terms = running.terminals.terminals;
    if (allow) terms.allow(terminal.key, id);
    else if (!terms.revoke(terminal.key, id)) throw new Error(`${name} could not type in this terminal.`);
    void vscode.window.showInformationMessage(allow ? `Hyperpair: ${name} may now type in your terminal; everyone sees who typed.` : `Hyperpair: ${name} can no longer type in your terminal.`);
    return id;
  }

  private async stop(key: string | undefined): Promise<void> {
    const terminal = await this.ownTerminal(key, 'Stop sharing which terminal?');
    if (terminal) this.running().terminals.terminals.stop(terminal.key);
  }

  private async show(key: string | undefined): Promise<void> {
    const views = this.running().terminals;
    const all = views.terminals.terminals();
    if (all.length === 0) throw new Error('Nobody in the session shares a terminal.');
    const target = key ?? (all.length === 1 ? all[0].key : (await vscode.window.showQuickPick(all.map((t) => ({ label: t.title, description: t.mine ? 'yours' : t.owner.name, key: t.key })), { title: 'Show which terminal?' }))?.key);
    if (target) views.show(target);
  }
}

function fail(message: string): never {
  throw new Error(message);
}
