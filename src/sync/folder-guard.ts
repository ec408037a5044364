/**
 * Stops a vanished or suddenly emptied folder from deleting every file on every peer.
 *
 * `rm -rf` of a shared folder, an unmounted disk or a wrong `git clean` looks to the watcher like
 * the person deleted every file; propagated, it would delete the other peers' copies too, the
 * sharer's own project included. Syncthing keeps a marker file in each folder for this; we compare
 * the folder's identity (device, inode and birth time, so a folder deleted and made again also
 * counts) and
 * count what one batch of disk changes deletes:
 *  - the folder is gone or is another folder now: the peer stops sharing from it;
 *  - one batch deletes more than MASS_DELETE_FRACTION of the shared files and more than
 *    MASS_DELETE_MIN_FILES files: the deletes are held, and the peer stops sharing from the folder
 *    until someone confirms them (`confirmMassDelete()`) or has them written back from the session
 *    (`restoreMassDelete()`) — a deliberate
 *    clean-up of a few files, or of many in a large project, goes through at once.
 * Stopped, the peer neither writes into the folder nor propagates anything from it. The same holds
 * for the files a restart or rejoin finds deleted since the folder was last in sync (`holdMissing`).
 */
import * as fs from 'node:fs/promises';

export const MASS_DELETE_MIN_FILES = 10;
export const MASS_DELETE_FRACTION = 0.5;
/**
 * A batch of deletes that is not most of the folder waits this long and looks again: `rm -rf` takes
 * longer than the watcher's batches, so its first batch is only part of it, and the folder itself
 * goes last.
 */
export const SETTLE_MS = 1000;

export type HaltReason = 'vanished' | 'mass-delete';

export interface Halt {
  reason: HaltReason;
  /** What happened, for the person (each front end adds how to confirm or restore). */
  message: string;
  /** The deletes held back (workspace paths). */
  paths: string[];
}

/** A folder deleted and made again may get the same inode number back: its birth time differs. */
interface Identity {
  dev: number;
  ino: number;
  born: number;
}

export class FolderGuard {
  private identity: Identity | undefined;
  private halt: Halt | undefined;

  constructor(
    private readonly root: string,
    private readonly settleMs = SETTLE_MS,
  ) {}

  /** Remembers which folder this is (call when the mirror starts following it). */
  async remember(): Promise<void> {
    this.identity = await identityOf(this.root);
  }

  get halted(): Halt | undefined {
    return this.halt;
  }

  /** Whether the folder is still the one remembered. */
  async present(): Promise<boolean> {
    const now = await identityOf(this.root);
    const was = this.identity;
    return !!now && (!was || (now.dev === was.dev && now.ino === was.ino && now.born === was.born));
  }

  /**
   * Decides about one batch of disk changes that deletes `gone` of `total` shared files. Returns
   * the halt when the deletes must not be propagated (and keeps it until `clear()`).
   */
  async check(gone: string[], total: number): Promise<Halt | undefined> {
    if (this.halt) {
      this.halt.paths = [...new Set([...this.halt.paths, ...gone])];
      return this.halt;
    }
    if (gone.length === 0) return undefined;
    // Every batch of deletes that is not already a mass delete waits and looks again: `rm -rf` of a
    // folder reaches the watcher as several batches, files first and the folder itself last, so even
    // a first batch of a few files may be the start of it (the chaos suite's folder-removed scenario
    // lost a file that way). Deletes are rare; a second of delay costs nobody anything.
    if (!isMassDelete(gone.length, total)) await new Promise((r) => setTimeout(r, this.settleMs));
    if (!(await this.present())) {
      this.halt = {
        reason: 'vanished',
        paths: gone,
        message:
          `the shared folder ${this.root} was deleted or replaced: stopped sharing from it, and its ${gone.length} files were not deleted on the other peers.`,
      };
    } else if (isMassDelete(gone.length, total)) {
      this.halt = {
        reason: 'mass-delete',
        paths: gone,
        message:
          `${gone.length} of the ${total} shared files were deleted from ${this.root} at once: stopped sharing from this folder, and nothing was deleted on the other peers.`,
      };
    }
    return this.halt;
  }

  /**
   * Decides about the files deleted here while the folder was out of the session (a restart or a
   * rejoin finds them gone): most of the folder at once is held as a live batch would be.
   */
  holdMissing(gone: string[], total: number): Halt | undefined {
    if (this.halt || !isMassDelete(gone.length, total)) return this.halt;
    this.halt = {
      reason: 'mass-delete',
      paths: gone,
      message:
        `${gone.length} of the ${total} shared files were deleted from ${this.root} while it was out of the session: stopped sharing from this folder, and nothing was deleted on the other peers.`,
    };
    return this.halt;
  }

  /** Forgets the halt (after a confirmation) and takes the folder's identity as it is now. */
  async clear(): Promise<Halt | undefined> {
    const h = this.halt;
    this.halt = undefined;
    await this.remember();
    return h;
  }
}

export function isMassDelete(gone: number, total: number): boolean {
  return gone > MASS_DELETE_MIN_FILES && gone > total * MASS_DELETE_FRACTION;
}

async function identityOf(dir: string): Promise<Identity | undefined> {
  const st = await fs.stat(dir).catch(() => undefined);
  return st?.isDirectory() ? { dev: st.dev, ino: st.ino, born: st.birthtimeMs } : undefined;
}
