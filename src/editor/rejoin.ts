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
 * The note is also this folder's claim: one window at a time runs its session. A remote extension host
 * (code-server, SSH) can outlive its window: when the reload's shutdown fails, the server keeps the old
 * host for its reconnection grace time (hours), and its session went on as a second "you" mirroring
 * into the same folder. Each window names itself in the note; a window whose session began earlier
 * than the one the note names leaves its session and says so (`onSuperseded`), and never deletes the
 * other window's note.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Logger } from '../session/log';
import type { SessionController } from './controller';

/** How often the note is refreshed while a session runs. */
const REFRESH_MS = 15_000;
/** How often a window in a session looks whether another window has taken its folder's session over. */
const CLAIM_CHECK_MS = 2000;
/** How long a window waits for another one to leave the folder's session before opening its own. */
const TAKEOVER_MS = 10_000;
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
  /** The window (extension host) whose session this is; absent in notes written before claims. */
  window?: string;
  /** When that window's session in this folder began: of two windows, the later one keeps it. */
  since?: number;
  /** That window's extension host process. */
  pid?: number;
}

/** Whether a process of this machine runs (a remote extension host that outlived its window does). */
function running(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isNote(v: unknown): v is Note {
  const n = v as Partial<Note> | null;
  return typeof n === 'object' && n !== null && typeof n.folder === 'string' && typeof n.code === 'string' && typeof n.at === 'number' && (n.role === 'started' || n.role === 'joined');
}

/** Whether `mine` must give its folder's session up to the window that wrote `onDisk`. */
export function supersedes(onDisk: Note | undefined, mine: Note): boolean {
  if (!onDisk?.window || onDisk.window === mine.window || path.resolve(onDisk.folder) !== path.resolve(mine.folder)) return false;
  const theirs = onDisk.since ?? 0;
  const ours = mine.since ?? 0;
  return theirs > ours || (theirs === ours && onDisk.window > (mine.window ?? ''));
}

export class SessionMemory implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private claimTimer: NodeJS.Timeout | undefined;
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
    /** Another window took this folder's session over: this one has left it. */
    private readonly onSuperseded: (folder: string) => void = () => undefined,
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

  /**
   * Before a session opens in `folder`: when another window's session runs there (its note fresh,
   * its extension host running), claims the folder and waits until that window has left (at most
   * TAKEOVER_MS), so that two windows never mirror into one folder at once. Whether it waited.
   */
  async takeOver(folder: string, onWait: () => void = () => undefined): Promise<boolean> {
    const note = await this.read(folder);
    if (!note?.window || note.window === this.window || this.now() - note.at > MAX_AGE_MS || !running(note.pid)) return false;
    onWait();
    this.logger.info(`another window's session runs in ${folder}: it is asked to leave it to this one`);
    const at = this.now();
    await this.serially(() => this.write({ ...note, at, window: this.window, since: at, pid: process.pid }));
    const left = this.leftFile(folder, note.window);
    for (const until = Date.now() + TAKEOVER_MS; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
      // Left, or its host ended meanwhile (a window that was closing as this one opened).
      if (!running(note.pid) || (await fs.access(left).then(() => true, () => false))) break;
    }
    await fs.rm(left, { force: true });
    return true;
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
    return path.join(this.dir, `${this.key(folder)}.json`);
  }

  /** Made by `window` once it has left the folder's session to a window that took it over. */
  private leftFile(folder: string, window: string): string {
    return path.join(this.dir, `${this.key(folder)}.${window}.left`);
  }

  private key(folder: string): string {
    return createHash('sha256').update(path.resolve(folder)).digest('hex').slice(0, 24);
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
    this.noted = { folder: session.root, code: session.code, role: this.nextRole, at, window: this.window, since: at, pid: process.pid };
    this.nextRole = 'joined';
    void this.touch();
    this.stop();
    this.timer = setInterval(() => void this.touch(), REFRESH_MS);
    this.claimTimer = setInterval(() => void this.serially(async () => void (await this.checkClaim())), CLAIM_CHECK_MS);
  }

  /**
   * Leaves the session if the note now names a window whose session here began later (whether it
   * did); puts this window's note back if an earlier one wrote over it.
   */
  private async checkClaim(): Promise<boolean> {
    const mine = this.noted;
    if (!mine || this.controller.session?.root !== mine.folder) return false;
    const onDisk = await this.read(mine.folder);
    if (!supersedes(onDisk, mine)) {
      if (onDisk && onDisk.window !== mine.window) await this.write(mine);
      return false;
    }
    this.logger.info(`another window's session in ${mine.folder} began after this one's: this window leaves it there`);
    this.stop();
    this.noted = undefined;
    void this.controller
      .leave()
      .then(() => fs.writeFile(this.leftFile(mine.folder, this.window), ''))
      .catch((err: Error) => this.logger.warn(`leaving the session to another window: ${err.message}`))
      .finally(() => this.onSuperseded(mine.folder));
    return true;
  }

  private serially(op: () => Promise<void>): Promise<void> {
    const run = this.io.then(op);
    this.io = run.catch((err: Error) => this.logger.warn(`the note of this session (for a reload) could not be kept: ${err.message}`));
    return this.io;
  }

  /** Refreshes the note's time, unless another window's session has taken the folder over. */
  private touch(): Promise<void> {
    return this.serially(async () => {
      const note = this.noted;
      if (!note || this.controller.session?.root !== note.folder) return; // forgotten meanwhile
      if (await this.checkClaim()) return;
      note.at = this.now();
      await this.write(note);
    });
  }

  /** Writes the note whole: only the owner can read it (it holds the session code). */
  private async write(note: Note): Promise<void> {
    const file = this.file(note.folder);
    const tmp = `${file}.${process.pid}.${this.window}.tmp`;
    try {
      await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
      await fs.writeFile(tmp, JSON.stringify(note), { mode: 0o600 });
      await fs.rename(tmp, file);
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  private stop(): void {
    clearInterval(this.timer);
    clearInterval(this.claimTimer);
    this.timer = undefined;
    this.claimTimer = undefined;
  }
}
