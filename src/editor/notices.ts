/**
 * Which membership messages pop up as notifications. The first few of a session do (people want to
 * know that their partner arrived or dropped out); later ones go to the status bar only, so that a
 * busy session stays quiet. `hyperpair.peerNotifications` chooses. No `vscode` here: the caller
 * passes how to pop up and how to show quietly, and the policy is tested in plain Node.
 */
export type PeerNotificationMode = 'first-few' | 'always' | 'never';

/** How many messages of one session pop up in `first-few` mode. */
export const FIRST_FEW = 3;

export interface NoticeOutputs {
  popup(message: string): void;
  quiet(message: string): void;
}

export class PeerNotices {
  private shown = 0;

  constructor(
    private readonly mode: () => PeerNotificationMode,
    private readonly out: NoticeOutputs,
  ) {}

  /** A new session begins: its first few messages pop up again. */
  reset(): void {
    this.shown = 0;
  }

  notice(message: string): void {
    const mode = this.mode();
    if (mode === 'always' || (mode === 'first-few' && this.shown < FIRST_FEW)) {
      this.shown++;
      this.out.popup(message);
    } else {
      this.out.quiet(message);
    }
  }
}
