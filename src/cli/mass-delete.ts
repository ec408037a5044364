/**
 * The headless peer's answer to a held mass delete (see sync/folder-guard.ts): the person at the
 * terminal (or the program driving `--json`) types "confirm delete" to delete the files on every
 * peer, or "restore files" to have them written back from the session.
 */
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import type { Halt } from '../sync/folder-guard';
import type { Mirror } from '../sync/mirror';
import type { Output } from './run';

export const CONFIRM_DELETE = 'confirm delete';
export const RESTORE_FILES = 'restore files';

/** Lines this prompt answers (the admission prompt leaves them alone). */
export function isMassDeleteAnswer(line: string): boolean {
  const l = line.trim().toLowerCase();
  return l === CONFIRM_DELETE || l === RESTORE_FILES;
}

export class MassDeletePrompt {
  private lines: readline.Interface | undefined;

  constructor(
    private readonly mirror: Mirror,
    private readonly out: Output,
    private readonly input: Readable,
  ) {
    mirror.on('halted', this.onHalt);
    mirror.on('resumed', this.onResume);
    // Halted before this prompt existed: the join found most of the folder deleted while out of it.
    if (mirror.halted) this.onHalt(mirror.halted);
  }

  private readonly onHalt = (h: Halt): void => {
    this.out.line(`! ${h.message} Type "${CONFIRM_DELETE}" to delete them on every peer, or "${RESTORE_FILES}" to write them back here from the session.`, {
      event: 'halted',
      reason: h.reason,
      message: h.message,
      files: h.paths.length,
    });
    // Standard input is read only while an answer is awaited: otherwise it would keep the process up.
    if (this.lines) return;
    this.lines = readline.createInterface({ input: this.input, terminal: false });
    this.lines.on('line', (line) => this.answer(line));
  };

  private readonly onResume = (how: 'confirmed' | 'restored'): void => {
    this.stopReading();
    const text = how === 'confirmed' ? 'The deletes were confirmed and shared; following the folder again.' : 'The files were written back; following the folder again.';
    this.out.line(text, { event: 'resumed', how });
  };

  private answer(line: string): void {
    if (!isMassDeleteAnswer(line) || !this.mirror.halted) return;
    const confirm = line.trim().toLowerCase() === CONFIRM_DELETE;
    void (confirm ? this.mirror.confirmMassDelete() : this.mirror.restoreMassDelete()).catch((err: Error) =>
      this.out.line(`! ${err.message}`, { event: 'halted-problem', message: err.message }),
    );
  }

  private stopReading(): void {
    this.lines?.close();
    this.lines = undefined;
  }

  close(): void {
    this.mirror.off('halted', this.onHalt);
    this.mirror.off('resumed', this.onResume);
    this.stopReading();
  }
}
