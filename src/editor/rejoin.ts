/**
 * A session survives a window reload (issue 11, item 3). While a session runs, this window keeps a
 * note of it — the folder, the session code, whether it started or joined it, and when it was last in
 * it — in a file of its own under the extension's global storage (mode 0600, one file per folder).
 * When the extension activates again soon after (a reload, or VS Code restarted at once), it rejoins
 * the same session into the same folder: the folder's sync record makes that a rejoin that merges both
 * ways, never a fresh copy over the person's files. Leave Session deletes the note, and so does a
 * session that ends while the window stays open (removed by the owner); a note older than MAX_AGE_MS
 * (the window was closed for a while) is deleted, not acted on.
 *
 * A file, not workspaceState and SecretStorage: code-server's web workbench keeps those in the browser
 * and had not stored them when the page reloaded; the extension host's own disk is there at once.
 *
 * Each window names itself in its note. Two windows can have run a session in one folder one after
 * the other: a remote extension host (code-server, SSH) can outlive its window, and a second tab on the
 * folder rejoins from the note. The folder's claim (sync/folder-claim.ts) makes the earlier one leave;
 * here, a window never deletes nor writes over the note of a window whose session began later.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Logger } from '../session/log';
import { writeWhole } from '../sync/state-dir';
import type { SessionController } from './controller';

/** How often the note is refreshed while a session runs. */
const REFRESH_MS = 15_000;
/** A note older than this is from a window closed a while ago, not a reload. */
const MAX_AGE_MS = 3 * 60_000;
/**
 * A session that ended this long ago while the window is still open was ended on purpose (or by the
 * owner); a window going away disposes this first (VS Code deactivates, then disposes).
 */
const ENDED_MS = 2000;

export interface Note {
  folder: string;
  code: string;
  /** Whether this window started the session or joined it (a rejoin is a join either way). */
  role: 'started' | 'joined';
  at: number;
  /** The window (extension host) whose session this is; absent in notes of older versions. */
  window?: string;
  /** When that window's session in this folder began: of two windows, the later one's note stays. */
  since?: number;
}

function isNote(v: unknown): v is Note {
  const n = v as Partial<Note> | null;
  return typeof n === 'object' && n !== null && typeof n.folder === 'string' && typeof n.code === 'string' && typeof n.at === 'number' && (n.role === 'started' || n.role === 'joined');
}

/** Whether the note `onDisk` is of a window whose session in the folder began after `mine`'s. */
export function supersedes(onDisk: Note | undefined, mine: Note): boolean {
  if (!onDisk?.window || onDisk.window === mine.window || path.resolve(onDisk.folder) !== path.resolve(mine.folder)) return false;
  const theirs = onDisk.since ?? 0;
  const ours = mine.since ?? 0;
  return theirs > ours || (theirs === ours && onDisk.window > (mine.window ?? ''));
}

export class SessionMemory implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private endTimer: NodeJS.Timeout | undefined;
  private readonly subscription: vscode.Disposable;
  private noted: Note | undefined;
  /** The role of the next session to appear (set as Start or Join begins). */
  private nextRole: Note['role'] = 'joined';
  private disposed = false;
  private readonly dir: string;
  /** This window's name in the notes it writes. */
  private readonly window = randomBytes(8).toString('hex');
  /** The note's file operations, one at a time: a delete never races a write that would undo it. */
  private io: Promise<void> = Promise.resolve();

  constructor(
    storageDir: string,
    private readonly controller: SessionController,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.dir = path.join(storageDir, 'rejoin');
    this.subscription = controller.onDidChange(() => this.follow());
  }

  /** The session this folder was in when the window went away, if that was just now. */
  async recall(folder: string): Promise<Note | undefined> {
    const note = await this.read(folder);
    if (!note) return undefined;
    if (path.resolve(note.folder) !== path.resolve(folder) || this.now() - note.at > MAX_AGE_MS) {
      await this.forget(folder, { anyWindow: true });
      return undefined;
    }
    return note;
  }

  /** Says whether the session about to run was started here or joined. */
  expect(role: Note['role']): void {
    this.nextRole = role;
  }

  /**
   * The person left (or a rejoin failed): a reload must not bring them back. Only this window's own
   * note goes, unless `anyWindow` (the recalled note of the window before a reload).
   */
  async forget(folder = this.controller.session?.root ?? this.noted?.folder, options: { anyWindow?: boolean } = {}): Promise<void> {
    this.stop();
    this.noted = undefined;
    if (!folder) return;
    await this.serially(async () => {
      const note = await this.read(folder);
      if (options.anyWindow || !note?.window || note.window === this.window) await fs.rm(this.file(folder), { force: true });
    });
  }

  dispose(): void {
    this.disposed = true;
    this.stop();
    clearTimeout(this.endTimer);
    this.subscription.dispose();
  }

  private file(folder: string): string {
    return path.join(this.dir, `${createHash('sha256').update(path.resolve(folder)).digest('hex').slice(0, 24)}.json`);
  }

  private async read(folder: string): Promise<Note | undefined> {
    try {
      const note: unknown = JSON.parse(await fs.readFile(this.file(folder), 'utf8'));
      return isNote(note) ? note : undefined;
    } catch {
      return undefined; // none, or unreadable: nothing to rejoin
    }
  }

  private follow(): void {
    const session = this.controller.session;
    if (!session) {
      this.stop();
      if (this.controller.state === 'idle') this.nextRole = 'joined'; // a start that failed
      const ended = this.noted;
      if (ended && !this.endTimer) {
        this.endTimer = setTimeout(() => {
          this.endTimer = undefined;
          if (!this.disposed && !this.controller.session) void this.forget(ended.folder);
        }, ENDED_MS);
      }
      return;
    }
    clearTimeout(this.endTimer);
    this.endTimer = undefined;
    if (this.noted?.folder === session.root && this.noted.code === session.code && this.timer) return;
    const at = this.now();
    this.noted = { folder: session.root, code: session.code, role: this.nextRole, at, window: this.window, since: at };
    this.nextRole = 'joined';
    void this.touch();
    this.stop();
    this.timer = setInterval(() => void this.touch(), REFRESH_MS);
  }

  private serially(op: () => Promise<void>): Promise<void> {
    const run = this.io.then(op);
    this.io = run.catch((err: Error) => this.logger.warn(`the note of this session (for a reload) could not be kept: ${err.message}`));
    return this.io;
  }

  /** Refreshes the note's time, unless a window whose session here began later has written its own. */
  private touch(): Promise<void> {
    return this.serially(async () => {
      const note = this.noted;
      if (!note || this.controller.session?.root !== note.folder) return; // forgotten meanwhile
      if (supersedes(await this.read(note.folder), note)) return;
      note.at = this.now();
      // Only the owner can read it: it holds the session code.
      await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
      await writeWhole(this.file(note.folder), JSON.stringify(note), 0o600);
    });
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
