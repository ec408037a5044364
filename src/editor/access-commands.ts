/**
 * Control of who is in, in VS Code (issue 17): the participants view's context menu and the palette
 * let the session's owner remove a person, make them read-only or an editor, and let a removed person
 * back in; anyone can bring everyone to where they are. The decisions are the core's
 * (session/access.ts); this module asks, confirms and tells. A person removed from a session is told
 * why, and this window leaves the session.
 */
import * as vscode from 'vscode';
import { Disposable } from '../session/disposable';
import type { Role } from '../session/admission';
import type { Logger } from '../session/log';
import type { SessionController } from './controller';
import { SessionFollower } from './session-follower';
import { registerGuarded } from './guard';
import type { Participant } from './participants';
import type { RunningSession } from './runtime';

/** Options a caller (the editor tests) may pass after the participant. */
interface ActionOptions {
  /** Skip the confirmation of a removal. */
  confirmed?: boolean;
}

export class AccessCommands extends Disposable {

  constructor(
    private readonly controller: SessionController,
    private readonly logger: Logger,
  ) {
    super();
    const reg = (id: string, fn: (...args: never[]) => Promise<unknown>) => this.registerAll(registerGuarded(this.logger, id, fn));
    reg('hyperpair.removeParticipant', (p?: Participant, o?: ActionOptions) => this.remove(p, o));
    reg('hyperpair.makeReadOnly', (p?: Participant) => this.setRole(p, 'viewer'));
    reg('hyperpair.makeEditor', (p?: Participant) => this.setRole(p, 'editor'));
    reg('hyperpair.readmitParticipant', () => this.readmit());
    reg('hyperpair.bringEveryoneHere', () => this.bringEveryoneHere());
    reg('hyperpair.rotateSessionCode', (o?: ActionOptions) => this.rotate(o));
    reg('hyperpair.letManagePeople', (p?: Participant) => this.delegate(p, true));
    reg('hyperpair.stopManagingPeople', (p?: Participant) => this.delegate(p, false));
    this.registerAll(
      new SessionFollower(
        controller,
        (running) => this.watch(running),
        (running) => {
          void vscode.commands.executeCommand('setContext', 'hyperpair.isOwner', !!running?.access.canManage);
          void vscode.commands.executeCommand('setContext', 'hyperpair.canManage', !!running && (running.access.canManage || running.delegation.selfIsDelegate));
        },
      ),
    );
  }

  /** Being removed from the running session: told why, and this window leaves it. */
  private watch(running: RunningSession | undefined): (() => void) | void {
    if (!running) return;
    const session = running.peer.session;
    const onRemoved = (reason: string) => {
      if (this.controller.session !== running) return;
      this.logger.warn(`${reason} Leaving the session.`);
      void this.controller.leave().then(() => vscode.window.showWarningMessage(`Hyperpair: ${reason} You are no longer in the session; your files stay on disk.`));
    };
    session.on('removed', onRemoved);
    // Removed while the files still arrived, before this window followed the session.
    if (session.removal !== undefined) onRemoved(session.removal);
    return () => session.off('removed', onRemoved);
  }


  private running(): RunningSession {
    const running = this.controller.session;
    if (!running) throw new Error('No session is running. Start or join one first.');
    return running;
  }

  /** The participant the menu passed, or one picked among those this editor may manage. */
  private async target(p: Participant | undefined, title: string, fits: (p: Participant) => boolean): Promise<Participant | undefined> {
    if (p?.id) return p;
    const running = this.running();
    if (!running.access.canManage && !running.delegation.selfIsDelegate) throw new Error("Only the session's owner, and whom they let, can change who is in and what they may do.");
    const people = running.participants.participants().filter((x) => x.connection !== 'you' && x.connection !== 'indirect' && x.standing !== 'owner' && fits(x));
    if (people.length === 0) throw new Error('Nobody in the session fits: only people connected to you directly can be managed.');
    const pick = await vscode.window.showQuickPick(
      people.map((x) => ({ label: x.name, description: x.standing, x })),
      { title },
    );
    return pick?.x;
  }

  private async remove(p: Participant | undefined, options?: ActionOptions): Promise<void> {
    const target = await this.target(p, 'Remove whom from the session?', () => true);
    if (!target) return;
    if (!(options && typeof options === 'object' && !Array.isArray(options) && options.confirmed)) {
      const choice = await vscode.window.showWarningMessage(
        `Remove ${target.name} from the session?`,
        { modal: true, detail: 'They are disconnected from everyone at once and cannot come back, even with the code, until you let them in again (Hyperpair: Let a Removed Person Back In).' },
        'Remove',
      );
      if (choice !== 'Remove') return;
    }
    const running = this.running();
    const name = running.access.canManage ? running.access.remove(target.id) : (await running.delegation.ask('remove', target.id), target.name);
    this.logger.info(`you removed ${name} from the session`);
    void vscode.window.showInformationMessage(`Hyperpair: you removed ${name} from the session.`);
  }

  private async setRole(p: Participant | undefined, role: Role): Promise<void> {
    const want = role === 'viewer' ? 'read-only' : 'editor';
    const target = await this.target(p, role === 'viewer' ? 'Make whom read-only?' : 'Let whom edit?', (x) => x.standing !== want);
    if (!target) return;
    const running = this.running();
    const name = running.access.canManage ? running.access.setRole(target.id, role) : (await running.delegation.ask(role, target.id), target.name);
    const text = role === 'viewer' ? `${name} is now read-only: everyone refuses their edits.` : `${name} may now edit.`;
    this.logger.info(`you made ${name} ${want}`);
    void vscode.window.showInformationMessage(`Hyperpair: ${text}`);
  }

  private async readmit(): Promise<void> {
    const running = this.running();
    const access = running.access;
    const removed = access.removed();
    if (removed.length === 0) throw new Error('Nobody was removed from this session.');
    const pick = await vscode.window.showQuickPick(
      removed.flatMap((r) => [
        { label: r.name, description: 'as an editor', id: r.id, role: 'editor' as const },
        { label: r.name, description: 'read-only', id: r.id, role: 'viewer' as const },
      ]),
      { title: 'Let whom back in?' },
    );
    if (!pick) return;
    if (!access.canManage && pick.role === 'viewer') throw new Error("Only the session's owner can let someone back in read-only; ask them, or let them in as an editor.");
    const name = access.canManage ? access.readmit(pick.id, pick.role) : (await running.delegation.ask('readmit', pick.id), pick.label);
    void vscode.window.showInformationMessage(`Hyperpair: ${name} may join again (${pick.description}).`);
  }

  /**
   * (Owner) A new session code: everyone in the session moves to it without noticing, and whoever had
   * only the old code (a removed person, a forwarded invitation) cannot come back with it.
   */
  private async rotate(options?: ActionOptions): Promise<void> {
    const running = this.running();
    if (!running.rotation.canRotate) throw new Error("Only the session's owner can change the session code.");
    if (!(options && typeof options === 'object' && options.confirmed)) {
      const choice = await vscode.window.showWarningMessage(
        'Change the session code?',
        { modal: true, detail: 'Everyone in the session stays connected and moves to the new code. The old code and invite links stop working: send the new one to anyone who has yet to join.' },
        'Change Code',
      );
      if (choice !== 'Change Code') return;
    }
    const code = await running.rotation.rotate();
    this.logger.info('you changed the session code; everyone in the session moved to it');
    void vscode.window.showInformationMessage('Hyperpair: the session code changed. The old one no longer lets anyone in.', 'Copy New Code').then((copy) => {
      if (copy) void vscode.env.clipboard.writeText(code);
    });
  }

  /** (Owner) Lets a person remove people and change roles (their requests go through this peer), or takes it back. */
  private async delegate(p: Participant | undefined, on: boolean): Promise<void> {
    const running = this.running();
    if (!running.access.canManage) throw new Error("Only the session's owner can let others manage people.");
    const target = await this.target(p, on ? 'Let whom manage people?' : 'Stop whom managing people?', (x) => running.delegation.isDelegate(x.id) !== on);
    if (!target) return;
    running.delegation.setDelegate(target.id, on);
    running.participants.refresh();
    void vscode.window.showInformationMessage(
      on ? `Hyperpair: ${target.name} may now remove people and change roles (while you are in the session).` : `Hyperpair: ${target.name} no longer manages people.`,
    );
  }

  private async bringEveryoneHere(): Promise<void> {
    const asked = this.running().participants.bringEveryoneHere();
    void vscode.window.showInformationMessage(
      asked ? `Hyperpair: asked everyone in the session (${asked}) to follow you.` : 'Hyperpair: nobody else is in the session yet.',
    );
  }
}
