/**
 * One running peer over a folder: session + shared workspace + disk mirror, wired the same way for
 * the headless CLI and for VS Code. Sharing scans the folder first; joining waits for the index and
 * materialises every file before following changes.
 */
import type { AdmissionPolicy, Role } from '../session/admission';
import * as fs from 'node:fs/promises';
import type HyperDHT from 'hyperdht';
import { Session, SessionCodeError, type NetworkOptions } from '../session';
import type { PeerInfo } from '../session/transport';
import type { Logger } from '../session/log';
import { silentLogger } from '../session/log';
import { isEmptyOrMissingDir } from './fsutil';
import { Mirror, type Progress } from './mirror';
import type { ScanReport } from './scan';
import { PresenceIdentity } from './presence-identity';
import { DEFAULT_CAPS, SharedWorkspace, type WorkspaceCaps } from './workspace';

export interface PeerOptions {
  mode: 'share' | 'join';
  dir: string;
  /** Required to join; a new code is made when sharing without one. */
  code?: string;
  name: string;
  colour?: string;
  network?: NetworkOptions;
  /** LAN discovery beside the DHT (default on). */
  lan?: boolean;
  /** Blind relays to connect through when holepunching fails. */
  relays?: Buffer[];
  keyPair?: HyperDHT.KeyPair;
  logger?: Logger;
  /** Join into a folder that already has files (they may be overwritten). */
  force?: boolean;
  excludes?: string[];
  /** This peer's sharing policy: larger files of its folder are left out (reported). */
  maxFileSize?: number;
  /**
   * What a peer may send before it is cut off. Every peer must accept what any honest peer shares, so
   * these are hard safety limits (DEFAULT_CAPS), not the sharing policy above: a peer with a smaller
   * --max-file-size must not cut off one that shares a larger file.
   */
  caps?: Partial<WorkspaceCaps>;
  clientID?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Called with a person-readable hint when nobody has answered for a while. */
  onWaiting?: (message: string) => void;
  waitingHintMs?: number;
  /** (share) Who may join, and whether guests may edit. Default: anyone with the code, as editors. */
  admission?: { policy: AdmissionPolicy; guestRole: Role };
}

export interface RunningPeer {
  readonly code: string;
  readonly session: Session;
  readonly workspace: SharedWorkspace;
  readonly mirror: Mirror;
  /** The others' presence, sanitised and bound to the connections that delivered it. */
  readonly presence: PresenceIdentity;
  /** What sharing left out (share mode). */
  readonly report?: ScanReport;
  close(): Promise<void>;
}

export class FolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FolderError';
  }
}

export async function startPeer(options: PeerOptions): Promise<RunningPeer> {
  const logger = options.logger ?? silentLogger;
  await checkFolder(options);
  if (options.mode === 'join' && !options.code) throw new SessionCodeError('Enter the session code you were given.', 'empty');
  // The sharer owns the session: it signs the roster of who may join and edit.
  const admission = options.mode === 'share' ? (options.admission ?? { policy: 'anyone' as const, guestRole: 'editor' as const }) : undefined;
  const sessionOptions = {
    name: options.name,
    colour: options.colour,
    network: options.network,
    lan: options.lan,
    relays: options.relays,
    keyPair: options.keyPair,
    logger,
    admission,
  };
  const session = options.code ? new Session({ ...sessionOptions, code: options.code }) : Session.start(sessionOptions);
  const caps: WorkspaceCaps = { ...DEFAULT_CAPS, ...options.caps };
  const workspace = new SharedWorkspace({ transport: session, mode: options.mode, logger, caps, clientID: options.clientID });
  // Before any connection: it must see who delivers each awareness state from the first one on.
  const presence = new PresenceIdentity(workspace.awareness, session);
  await fs.mkdir(options.dir, { recursive: true });
  const mirror = new Mirror({
    root: options.dir,
    workspace,
    logger,
    // Never share more than the others accept: they would cut this peer off.
    scan: {
      excludes: options.excludes,
      maxFileBytes: Math.min(options.maxFileSize ?? Infinity, caps.maxFileBytes),
      maxFiles: caps.maxFiles,
      maxTotalBytes: caps.maxTotalBytes,
    },
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await mirror.close();
    presence.dispose();
    workspace.close();
    await session.leave();
  };
  try {
    let report: ScanReport | undefined;
    if (options.mode === 'share') {
      report = await mirror.share();
      await session.ready();
    } else {
      // Listen before announcing: on a LAN, members answer (and may deny) before ready() resolves.
      const indexed = waitForIndex(workspace, session, options);
      indexed.catch(() => {}); // handled below; ready() may throw first
      await session.ready();
      await indexed;
      await mirror.materialize(options.onProgress, options.signal);
      if (options.force) await mirror.share(); // files that only this folder had join the session
    }
    await mirror.start();
    return { code: session.code, session, workspace, mirror, presence, report, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function checkFolder(options: PeerOptions): Promise<void> {
  if (options.mode === 'share') {
    const st = await fs.stat(options.dir).catch(() => undefined);
    if (!st?.isDirectory()) throw new FolderError(`${options.dir} is not a folder that can be shared.`);
    return;
  }
  const st = await fs.stat(options.dir).catch(() => undefined);
  if (st && !st.isDirectory()) throw new FolderError(`${options.dir} is a file, not a folder.`);
  if (!options.force && st && !(await isEmptyOrMissingDir(options.dir))) {
    throw new FolderError(`${options.dir} is not empty. Join into a new or empty folder so that none of your files are overwritten (or pass --force).`);
  }
  try {
    await fs.mkdir(options.dir, { recursive: true });
    await fs.access(options.dir, fs.constants.W_OK);
  } catch (err) {
    throw new FolderError(`${options.dir} cannot be written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
  }
}

/** A joiner the session's owner turned away. */
export class AdmissionDeniedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdmissionDeniedError';
  }
}

function waitForIndex(workspace: SharedWorkspace, session: Session, options: PeerOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(new Error('cancelled')); // 'abort' will not fire again
    const hint = setTimeout(() => {
      options.onWaiting?.(
        'Nobody has answered for this code yet. Check that the code is right and that someone in the session is online; ' +
          'networks that block UDP can also keep peers apart. Still trying…',
      );
    }, options.waitingHintMs ?? 30_000);
    hint.unref(); // a join that failed meanwhile must not be held open by its hint
    const onAdmission = (state: 'waiting' | 'denied', by: PeerInfo, reason: string) => {
      if (state === 'waiting') {
        clearTimeout(hint); // someone answered: it is now up to the owner
        options.onWaiting?.(`${by.name} is in the session; waiting to be let in (${reason}).`);
        return;
      }
      done();
      // The reason names the owner, whoever of the members passed the decision on.
      reject(new AdmissionDeniedError(reason.charAt(0).toUpperCase() + reason.slice(1)));
    };
    const done = () => {
      clearTimeout(hint);
      options.signal?.removeEventListener('abort', onAbort);
      session.off('admission', onAdmission);
    };
    const onAbort = () => {
      done();
      reject(new Error('cancelled'));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    session.on('admission', onAdmission);
    void workspace.whenIndexReady().then(() => {
      done();
      resolve();
    });
  });
}
