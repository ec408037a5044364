/**
 * The composition root: one running peer over a folder — session + shared workspace + disk mirror,
 * wired the same way for the headless CLI and for VS Code. It sits above both layers, so that
 * `src/sync` knows the session only through its interfaces (`PeerTransport`, `Logger`). Sharing
 * scans the folder first; joining waits for the index and materialises every file before following
 * changes.
 */
import type { AdmissionPolicy, Role } from '../session/admission';
import * as fs from 'node:fs/promises';
import type HyperDHT from 'hyperdht';
import { Session, SessionCodeError, type NetworkOptions } from '../session';
import type { PeerInfo } from '../session/transport';
import type { Logger } from '../session/log';
import { silentLogger } from '../session/log';
import { DisposableStore, listen, timeout, toDisposable } from '../session/disposable';
import { DiskRecord, sessionTag } from '../sync/disk-state';
import { FolderClaim } from '../sync/folder-claim';
import { folderStateDir, stateRoot } from '../sync/state-dir';
import { isEmptyOrMissingDir } from '../sync/fsutil';
import { FileHistory } from '../sync/history';
import { removeTempLitter } from '../sync/litter';
import { Mirror, type MaterializeResult, type Progress } from '../sync/mirror';
import type { ScanReport } from '../sync/scan';
import { publishSelections, publishUser } from '../sync/awareness';
import { PresenceIdentity } from '../sync/presence-identity';
import { ScanCache } from '../sync/scan-cache';
import { readLocalTexts } from '../sync/local-texts';
import { nextScanTick, othersScanning, ScanAnnouncer, type ScanningState } from '../sync/scan-progress';
import { DEFAULT_CAPS, SharedWorkspace, type WorkspaceCaps } from '../sync/workspace';
import { forEachSliced } from '../sync/slicer';
import type { FileEntry } from '../sync/api';

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
  /**
   * Join into a folder that already has files and no sync record: they are merged, and where the
   * session has the same path with other content, this folder's version is kept beside it.
   */
  force?: boolean;
  /**
   * Where the record of what this folder held when last in sync is kept (see disk-state.ts); it lets
   * a restarted peer merge what changed while it was down. Default: stateRoot().
   */
  stateDir?: string;
  /**
   * Another peer of this machine opened a session in this folder later: this one has stopped
   * mirroring it and left its session (folder-claim.ts); `message` says so.
   */
  onFolderTaken?: (message: string) => void;
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
  /**
   * (share) The session is open and peers can join, while the folder is still being read: the code
   * can be shown now. startPeer itself resolves once the whole folder is shared.
   */
  onSessionOpen?: (code: string) => void;
  /**
   * The session exists (before it is ready, before any connection): for what rides on it without
   * the files, such as the call, which must not wait for the first copy of the folder.
   */
  onSession?: (session: Session) => void;
  /**
   * The workspace exists (before the folder is read or joined): for listeners that must hear what
   * the start itself tells, such as a file of this folder kept as a conflict copy by the join.
   */
  onWorkspace?: (workspace: SharedWorkspace) => void;
  /** (share) How much of the folder is in the session so far, while it is being read. */
  onScanProgress?: (s: ScanningState) => void;
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
  /** What the joiner's first copy wrote, and what it could not (join mode). */
  readonly joined?: MaterializeResult;
  /** What remote changes replaced or deleted in this folder, kept locally. */
  readonly history: FileHistory;
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
  if (options.mode === 'join' && !options.code) throw new SessionCodeError('Enter the session code you were given.', 'empty');
  // One peer per folder: another one mirroring it lets go first (it would double every change).
  // By the folder's real path: two paths to one folder (a symbolic link) are one folder.
  const real = await fs.realpath(options.dir).catch(() => options.dir);
  const claim = await FolderClaim.take(folderStateDir(real, options.stateDir ?? stateRoot()), options.dir, { logger });
  try {
    return await startClaimed(options, logger, claim);
  } catch (err) {
    await claim.release();
    throw err;
  }
}

async function startClaimed(options: PeerOptions, logger: Logger, claim: FolderClaim): Promise<RunningPeer> {
  // What this folder held when last in sync with this session (sharing starts a new session).
  const record = await DiskRecord.open(options.dir, { session: sessionTag(options.code ?? ''), stateDir: options.stateDir, logger });
  try {
    await checkFolder(options, options.mode === 'join' && record.found);
  } catch (err) {
    await record.close();
    throw err;
  }
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
  options.onSession?.(session);
  const caps: WorkspaceCaps = { ...DEFAULT_CAPS, ...options.caps };
  // Never share more than the others accept: they would cut this peer off.
  const scan = {
    // Sizes, times and hashes of the last scan of this folder: rescans hash only what changed.
    cache: ScanCache.unread(options.dir, options.stateDir), // read by the scan, after the code is out
    excludes: options.excludes,
    maxFileBytes: Math.min(options.maxFileSize ?? Infinity, caps.maxFileBytes),
    maxFiles: caps.maxFiles,
    maxTotalBytes: caps.maxTotalBytes,
  };
  // A joiner into a folder with files (a clone): the index's bases those files make are built here,
  // not received (own-bases.ts). Read while the session connects.
  const localTexts = options.mode === 'join' && !(await isEmptyOrMissingDir(options.dir)) ? readLocalTexts(options.dir, scan, (hash, text) => record.offerText(hash, text)) : undefined;
  localTexts?.catch((err: Error) => logger.warn(`could not read this folder's files before joining: ${err.message}`));
  const workspace = new SharedWorkspace({ transport: session, mode: options.mode, logger, caps, clientID: options.clientID, localTexts });
  options.onWorkspace?.(workspace);
  // Before any connection: it must see who delivers each awareness state from the first one on.
  const presence = new PresenceIdentity(workspace.awareness, session);
  // Every peer publishes who it is (§6.1), the headless one too; an editor adds its file and selections.
  publishUser(workspace.awareness, session.self);
  publishSelections(workspace.awareness, null);
  await fs.mkdir(options.dir, { recursive: true });
  await removeTempLitter(options.dir, logger);
  const history = new FileHistory(options.dir, { logger, stateDir: options.stateDir });
  const mirror = new Mirror({
    root: options.dir,
    workspace,
    logger,
    known: record.known,
    knownTree: record.tree,
    history,
    scan,
  });
  record.watch(workspace);
  // A rotated code is the same session: a rejoin with the new code (after a reload) finds this record.
  const onRekeyed = (code: string) => record.retag(sessionTag(code));
  session.on('rekeyed', onRekeyed);
  // Once, however many ask: a second caller waits for the same closing.
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      session.off('rekeyed', onRekeyed);
      await mirror.close();
      await record.close();
      await claim.release(); // the folder is free: the peer that claimed it waits for this
      presence.dispose();
      workspace.close();
      await session.leave();
    })());
  claim.onLost((by) => {
    const message = `Another Hyperpair (process ${by.pid}) opened a session in ${options.dir}: this one has left its session there, so that changes are not doubled. Your files stay on disk.`;
    void close().finally(() => options.onFolderTaken?.(message));
  });
  try {
    let report: ScanReport | undefined;
    let joined: MaterializeResult | undefined;
    if (options.mode === 'share') {
      // A new session starts from the folder as it is now.
      record.startNew(sessionTag(session.code));
      // Open first, then read the folder: peers join at once and receive the index as it grows,
      // told by the awareness state that it still does (scan-progress.ts).
      const announcer = new ScanAnnouncer(workspace, options.onScanProgress);
      try {
        await session.ready();
        options.onSessionOpen?.(session.code);
        report = await mirror.share();
      } finally {
        announcer.done();
      }
    } else {
      // Listen before announcing: on a LAN, members answer (and may deny) before ready() resolves.
      const indexed = waitForIndex(workspace, session, options);
      indexed.catch(() => {}); // handled below; ready() may throw first
      await session.ready();
      await indexed;
      // A folder with files (joined before, or --force): what it holds joins the session first.
      if (!(await isEmptyOrMissingDir(options.dir))) {
        await record.resumeTexts(workspace);
        await mirror.resume((await localTexts?.catch(() => undefined))?.takeScan());
      }
      record.endOffers();
      joined = await materializeAll(workspace, mirror, options);
    }
    await mirror.start();
    // Recorded at once rather than after the usual delay: a crash right after joining can rejoin.
    await record.flush();
    return { code: session.code, session, workspace, mirror, presence, report, joined, history, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * The joiner's first copy: every file of the index, and, while a member still reads its folder into
 * the session, the files that arrive meanwhile, until nobody is scanning any more.
 */
async function materializeAll(workspace: SharedWorkspace, mirror: Mirror, options: PeerOptions): Promise<MaterializeResult> {
  const written = new Set<string>();
  const sum: Progress = { files: 0, totalFiles: 0, bytes: 0, totalBytes: 0 };
  let result: MaterializeResult = { ...sum, failed: [] };
  for (let first = true; ; first = false) {
    const scanning = othersScanning(workspace.awareness);
    // A slice at a time: a round every 500 ms over 100,000 files took 15–20 ms in one turn.
    const fresh: FileEntry[] = [];
    await forEachSliced(workspace.files(), (e) => {
      if (written.has(e.id)) return;
      written.add(e.id);
      fresh.push(e);
    });
    if (first || fresh.length > 0) {
      const base = { ...sum };
      result = await mirror.materialize(
        (p) => options.onProgress?.({ files: base.files + p.files, totalFiles: base.files + p.totalFiles, bytes: base.bytes + p.bytes, totalBytes: base.bytes + p.totalBytes }),
        options.signal,
        fresh,
      );
      Object.assign(sum, { files: base.files + result.files, totalFiles: base.files + result.totalFiles, bytes: base.bytes + result.bytes, totalBytes: base.bytes + result.totalBytes });
    }
    // Not scanning before this round began: every entry it announced was in the round's list.
    if (!scanning) return { ...sum, failed: result.failed };
    await nextScanTick(workspace.awareness, 500);
  }
}

async function checkFolder(options: PeerOptions, syncedBefore: boolean): Promise<void> {
  if (options.mode === 'share') {
    const st = await fs.stat(options.dir).catch(() => undefined);
    if (!st?.isDirectory()) throw new FolderError(`${options.dir} is not a folder that can be shared.`);
    return;
  }
  const st = await fs.stat(options.dir).catch(() => undefined);
  if (st && !st.isDirectory()) throw new FolderError(`${options.dir} is a file, not a folder.`);
  if (!options.force && !syncedBefore && st && !(await isEmptyOrMissingDir(options.dir))) {
    throw new FolderError(
      `${options.dir} is not empty, and was never synced here. Join into a new or empty folder, ` +
        'or pass --force to add its files to the session (where the session has the same file, yours is kept beside it).',
    );
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
    // What this wait holds (a timer, three listeners) goes when it ends, however it ends.
    const owned = new DisposableStore();
    const hint = owned.add(
      // Unref'd: a join that failed meanwhile must not be held open by its hint.
      timeout(() => {
        options.onWaiting?.(
          'Nobody has answered for this code yet. Check that the code is right and that someone in the session is online; ' +
            'networks that block UDP can also keep peers apart. Still trying…',
        );
      }, options.waitingHintMs ?? 30_000),
    );
    owned.add(
      listen(session, 'admission', (state: 'waiting' | 'denied', by: PeerInfo, reason: string) => {
        if (state === 'waiting') {
          hint.dispose(); // someone answered: it is now up to the owner
          options.onWaiting?.(`${by.name} is in the session; waiting to be let in (${reason}).`);
          return;
        }
        owned.dispose();
        // The reason names the owner, whoever of the members passed the decision on.
        reject(new AdmissionDeniedError(reason.charAt(0).toUpperCase() + reason.slice(1)));
      }),
    );
    if (options.signal) {
      const onAbort = () => {
        owned.dispose();
        reject(new Error('cancelled'));
      };
      options.signal.addEventListener('abort', onAbort, { once: true });
      owned.add(toDisposable(() => options.signal?.removeEventListener('abort', onAbort)));
    }
    void workspace.whenIndexReady().then(() => {
      owned.dispose();
      resolve();
    });
  });
}
