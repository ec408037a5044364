/**
 * Following the window's running session, for the views and commands that hang on to it (servers,
 * chat, access, the call): `enter` runs when a session starts (or ends: `undefined`) and returns what
 * undoes its subscriptions; that runs when the session changes again and on dispose, so no listener
 * outlives the session it was added to.
 */
import type * as vscode from 'vscode';
import type { SessionController } from './controller';
import type { RunningSession } from './runtime';

export class SessionFollower implements vscode.Disposable {
  private watched: RunningSession | undefined;
  private undo: (() => void) | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly controller: SessionController,
    private readonly enter: (running: RunningSession | undefined) => (() => void) | void,
    /** Runs on every change of the controller, before `enter` (context keys that depend on state). */
    private readonly always?: (running: RunningSession | undefined) => void,
  ) {
    this.subscription = controller.onDidChange(() => this.follow());
  }

  /** The session followed now. */
  get session(): RunningSession | undefined {
    return this.watched;
  }

  follow(): void {
    const running = this.controller.session;
    this.always?.(running);
    if (running === this.watched) return;
    this.undo?.();
    this.undo = undefined;
    this.watched = running;
    this.undo = this.enter(running) ?? undefined;
  }

  dispose(): void {
    this.subscription.dispose();
    this.undo?.();
    this.undo = undefined;
  }
}
