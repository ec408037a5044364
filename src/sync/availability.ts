/**
 * Whether each file's content is here (a text held complete, a binary's current version fetched or
 * made here), fed to the progress tracker; and the one report per file that no member could send it.
 */
import type { Logger } from '../session/log';
import { hasDocument, type FileEntry } from './api';
import type { ProgressTracker } from './progress';

export interface AvailabilityParts {
  byId(id: string): FileEntry | undefined;
  textReady(id: string): boolean;
  binaryHeld(id: string, hash: string): boolean;
  tracker: ProgressTracker;
  logger: Logger;
  /** No member could send this file's content (told once per file). */
  unavailable(entry: FileEntry): void;
}

export class Availability {
  /** Files reported as unavailable. */
  private readonly reported = new Set<string>();

  constructor(private readonly o: AvailabilityParts) {}

  /** Counts a file's content as here or not, for progress(). */
  update(id: string): void {
    const entry = this.o.byId(id);
    const here = entry !== undefined && (hasDocument(entry.kind) ? this.o.textReady(id) : this.o.binaryHeld(id, entry.hash));
    this.o.tracker.set(id, entry, here);
  }

  /** Says once per file that no member could send its content. */
  report(id: string): void {
    const entry = this.o.byId(id);
    if (!entry || this.reported.has(id)) return;
    this.reported.add(id);
    this.o.logger.warn(`sync: no member could send ${JSON.stringify(entry.path)}; asking again when someone joins`);
    this.o.unavailable(entry);
  }
}
