/**
 * Everything that runs while a session is open in this window: the core peer (session, shared
 * workspace, disk mirror) and the editor adapters over it. Bundled separately (dist/runtime.js) and
 * loaded only when a session starts.
 */
import * as vscode from 'vscode';
import type { Logger } from '../session/log';
import type { PeerInfo } from '../session/transport';
import { parseBootstrap, parseRelayKey } from '../session';
import { AccessControl } from '../session/access';
import { SessionChat } from '../session/chat';
import { OwnerDelegation } from '../session/delegation';
import { CodeRotation } from '../session/rotation';
import { ServerTunnels } from '../session/tunnel';
import { describeDeparture } from '../session/departure';
import { escapeUntrusted } from '../session/untrusted';
import { formatDiagnosis, type Diagnosis } from '../session/diagnose';
import { probeConnectivity } from '../session/probe';
import { FileHistory } from '../sync/history';
import { contentHash } from '../sync/hash';
import { startPeer, type RunningPeer } from '../app/peer';
import type { HyperpairConfig } from './config';
import type { JoinProgress } from './controller';
import { showDiskProblems, unavailableText } from './disk-safety';
import { NoticeBursts } from '../sync/notice-bursts';
import { lastWriterOf } from '../sync/authorship';
import { EditorCall } from './call';
import { ChangedFiles } from './changed-files';
import { DocumentBindings } from './documents';
import { NotebookBindings } from './notebooks';
import { FileFollower } from './follow-files';
import { ParticipantsView } from './participants';
import { Presence } from './presence';
import { TerminalViews } from './terminals';
import type { CleanTexts } from './clean-texts';
import type { CleanNotebooks } from './clean-notebooks';

export interface OpenOptions {
  mode: 'share' | 'join';
  root: string;
  code?: string;
  config: HyperpairConfig;
  name: string;
  logger: Logger;
  /** Where the extension may keep files (participant icons). */
  storageDir: string;
  onProgress?: (p: JoinProgress) => void;
  /** A person-readable line while joining takes long or waits to be let in. */
  onWaiting?: (message: string) => void;
  /** (share) Peers can join now; the folder is still being read (its progress: onScanProgress). */
  onSessionOpen?: (code: string) => void;
  onScanProgress?: (s: { files: number; bytes: number }) => void;
  /** Another Hyperpair of this machine opened a session in this folder: this one has stopped mirroring it. */
  onFolderTaken?: (message: string) => void;
  cancel?: vscode.CancellationToken;
  /** What open documents held when last clean: unsaved changes made before they are bound are the person's. */
  cleanTexts?: CleanTexts;
  /** The same for open notebooks' cells. */
  cleanNotebooks?: CleanNotebooks;
}

export interface RunningSession {
  readonly code: string;
  readonly root: string;
  readonly documents: DocumentBindings;
  /** Open notebooks bound cell by cell to their shared models (notebooks.ts). */
  readonly notebooks: NotebookBindings;
  readonly presence: Presence;
  readonly participants: ParticipantsView;
  /** Files collaborators changed since this person last opened them. */
  readonly changedFiles: ChangedFiles;
  /** Who is in and as what: the owner removes people and changes roles (session/access.ts). */
  readonly access: AccessControl;
  /** Servers this person shares and those shared with them (session/tunnel.ts). */
  readonly servers: ServerTunnels;
  readonly chat: SessionChat;
  /** The owner rotates the session code; everyone moves with it (session/rotation.ts). */
  readonly rotation: CodeRotation;
  /** Whom the owner lets manage people (session/delegation.ts). */
  readonly delegation: OwnerDelegation;
  /** Shared terminals, each a VS Code terminal (terminals.ts). */
  readonly terminals: TerminalViews;
  /** The session's voice call (joined on demand; ends with the session). */
  readonly call: EditorCall;
  readonly peer: RunningPeer;
  peers(): PeerInfo[];
  offline(): boolean;
  /** The connection report: the object, and its text for a person or a helpdesk (no secrets). */
  diagnose(): { report: Diagnosis; text: string };
  /** The latest notes about files collaborators renamed or deleted under this editor (oldest first). */
  notes(): string[];
  /** Fires with a person-readable line ("Bob joined") or undefined on any membership change. */
  onDidChangePeers: vscode.Event<string | undefined>;
  leave(): Promise<void>;
}

export async function openSession(options: OpenOptions): Promise<RunningSession> {
  const { config, logger } = options;
  const abort = new AbortController();
  const cancelSub = options.cancel?.onCancellationRequested(() => abort.abort());
  // From the start: a join into this folder tells which of its files it kept as conflict copies (in
  // bursts: a folder that differs in hundreds of files must not bury the window in notifications).
  // Notices name files, from peers too: shown through the one sanitiser.
  const notices = new NoticeBursts((shown, more) => {
    for (const m of shown) void vscode.window.showWarningMessage(`Hyperpair: ${m}`);
    if (more > 0) {
      void vscode.window.showWarningMessage(`Hyperpair: ${more} more notices like these; the log lists each.`, 'Show Log').then((c) => c && vscode.commands.executeCommand('hyperpair.showLog'));
    }
  });
  let peer: RunningPeer;
  try {
    peer = await startPeer({
      mode: options.mode,
      dir: options.root,
      code: options.code,
      name: options.name,
      colour: config.colour,
      network: {
        bootstrap: config.bootstrap ? parseBootstrap(config.bootstrap) : undefined,
        host: config.bindHost,
      },
      lan: config.lanDiscovery,
      relays: config.relays.map((key) => {
        try {
          return parseRelayKey(key);
        } catch (err) {
          throw new Error(`The hyperpair.relays setting: ${(err as Error).message}.`);
        }
      }),
      excludes: config.exclude,
      maxFileSize: config.maxFileSizeMB * 1024 * 1024,
      logger,
      signal: abort.signal,
      onProgress: options.onProgress,
      onWaiting: options.onWaiting,
      onSessionOpen: options.onSessionOpen,
      onScanProgress: options.onScanProgress,
      onFolderTaken: options.onFolderTaken,
      // From the start, as the notices: the first copy tells which files nobody could send.
      onWorkspace: (workspace) => {
        workspace.on('notice', (message) => {
          logger.warn(message);
          notices.add(escapeUntrusted(message));
        });
        workspace.on('unavailable', (e) => notices.add(unavailableText(e)));
      },
      admission: { policy: config.admission, guestRole: config.guests === 'read-only' ? 'viewer' : 'editor' },
    });
  } catch (err) {
    notices.dispose();
    throw err;
  } finally {
    cancelSub?.dispose();
  }

  const changed = new vscode.EventEmitter<string | undefined>();
  const onJoin = (p: PeerInfo) => changed.fire(`${p.name} joined the session`);
  const access = new AccessControl(peer.session);
  const servers = new ServerTunnels(peer.session, { logger });
  const chat = new SessionChat(peer.session, { logger });
  const rotation = new CodeRotation(peer.session, { logger });
  const delegation = new OwnerDelegation(peer.session, { logger });
  const onRotated = () => changed.fire(undefined);
  rotation.on('rotated', onRotated);
  const ownerName = () => {
    const id = access.ownerId;
    return id === peer.session.self.id ? 'you' : id ? peer.session.peer(id)?.name : undefined;
  };
  const onLeave = (p: PeerInfo, reason: string) => changed.fire(describeDeparture(p.name, reason, false, { owner: ownerName() }));
  peer.session.on('peer-join', onJoin);
  peer.session.on('peer-leave', onLeave);

  // The editor owns a file while a binding has it open, or while the follower claims it for a move.
  const bound = new Set<string>();
  const claimed = new Set<string>();
  const own = (set: Set<string>, rel: string, owned: boolean) => {
    if (owned) set.add(rel);
    else set.delete(rel);
    peer.mirror.setEditorOwned(rel, bound.has(rel) || claimed.has(rel));
  };
  const documents = new DocumentBindings(
    {
      root: options.root,
      workspace: peer.workspace,
      setEditorOwned: (rel, owned) => own(bound, rel, owned),
      handToEditor: (rel) => peer.mirror.handToEditor(rel),
      editorSaved: (rel, text) => peer.mirror.editorSaved(rel, text),
      readOnly: () => peer.session.readOnly,
      cleanText: (document) => options.cleanTexts?.baseOf(document),
      mirrorWrote: (rel, text) => peer.mirror.wroteLately(rel, contentHash(Buffer.from(text, 'utf8'))),
    },
    logger,
    peer.workspace.awareness,
  );
  const notebooks = new NotebookBindings(
    {
      root: options.root,
      workspace: peer.workspace,
      setEditorOwned: (rel, owned) => own(bound, rel, owned),
      readOnly: () => peer.session.readOnly,
      cleanCellText: (cell) => options.cleanNotebooks?.baseOf(cell),
    },
    logger,
  );
  const onRole = (readOnly: boolean, atJoin = false) => {
    documents.applyReadOnly();
    const by = atJoin ? 'You joined' : `${ownerName() ?? 'The owner of the session'} made you`;
    changed.fire(readOnly ? `${by} read-only: you can follow along, but not edit.` : `${ownerName() ?? 'The owner of the session'} lets you edit now.`);
  };
  peer.session.on('role', onRole);
  if (peer.session.readOnly) onRole(true, true);
  const onRequest = (p: PeerInfo) => void askAdmission(peer, p, logger);
  peer.session.on('admission-request', onRequest);
  // Requests that came while the folder was being read, before this listened (as the CLI's prompt).
  for (const p of peer.session.admissionRequests()) onRequest(p);
  const presence = new Presence(peer.workspace.awareness, peer.presence, peer.workspace, documents, notebooks, peer.session.self);
  const notes: string[] = [];
  const follower = new FileFollower(
    {
      root: options.root,
      workspace: peer.workspace,
      isEditorMove: (from, to) => peer.mirror.isEditorMove(from, to),
      editorMoveDone: (from, to, moved) => peer.mirror.editorMoveDone(from, to, moved),
      expectEditorWrite: (rel, text) => peer.mirror.expectEditorWrite(rel, text),
      announceMove: (from, to) => peer.mirror.announceMove(from, to),
      leaveAlone: (rel, on) => peer.mirror.leaveAlone(rel, on),
      mirrorIdle: () => peer.mirror.idle(),
      claim: (rel, owned) => own(claimed, rel, owned),
      whoChanged: (fileId, field) => {
        const client = lastWriterOf(peer.workspace.index, fileId, field);
        return client === undefined ? undefined : presence.others().get(client)?.user?.name;
      },
      tell: (message) => {
        notes.push(message);
        if (notes.length > 50) notes.shift();
        void vscode.window.showInformationMessage(`Hyperpair: ${message}`);
      },
    },
    documents,
    logger,
    notebooks,
  );
  const call = new EditorCall(peer.session, logger);
  const participants = new ParticipantsView(
    presence,
    {
      self: peer.session.self,
      directPeers: () => peer.session.peers(),
      stats: (id) => peer.session.peerStats(id),
      selfReadOnly: () => peer.session.readOnly,
      standing: (id) => access.standingOf(id),
      canManage: () => access.canManage || delegation.selfIsDelegate,
      isOwner: () => access.canManage,
      isDelegate: (id) => delegation.isDelegate(id),
      callMark: (id) => call.markOf(id),
      cellIdOf: (cell) => notebooks.cellIdOf(cell),
    },
    peer.workspace,
    options.root,
    options.storageDir,
  );
  const onDelegates = () => {
    participants.refresh();
    changed.fire(undefined);
  };
  delegation.on('changed', onDelegates);
  const changedFiles = new ChangedFiles(peer.workspace, presence, options.root, () => vscode.workspace.getConfiguration('hyperpair').get('markChangedFiles', true));
  const diskProblems = showDiskProblems(peer, logger);
  const terminals = new TerminalViews(peer.session, logger);
  peer.session.on('protocol-mismatch', (_v, message) => void vscode.window.showErrorMessage(`Hyperpair: ${message}`));
  peer.session.on('connect-problem', (message) => {
    void vscode.window.showWarningMessage(`Hyperpair: ${message}`, 'Diagnose Connection').then((choice) => {
      if (choice) void vscode.commands.executeCommand('hyperpair.diagnose');
    });
  });

  // Who is in the call and speaking: the call moves it a few times a second at most (speaking.ts).
  call.onDidChange(() => participants.refresh());
  let left = false;
  return {
    get code() {
      return peer.session.code;
    },
    root: options.root,
    documents,
    notebooks,
    presence,
    participants,
    changedFiles,
    access,
    servers,
    chat,
    rotation,
    delegation,
    terminals,
    call,
    peer,
    peers: () => peer.session.peers(),
    offline: () => peer.session.status === 'offline',
    diagnose: () => {
      const report = { ...peer.session.diagnose(), texts: { ...documents.consistency(), files: peer.mirror.repairs, notebooks: notebooks.consistency() }, call: call.inCall ? call.stats() : undefined };
      return { report, text: formatDiagnosis(report) };
    },
    onDidChangePeers: changed.event,
    notes: () => [...notes],
    async leave() {
      if (left) return;
      left = true;
      peer.session.off('peer-join', onJoin);
      peer.session.off('peer-leave', onLeave);
      peer.session.off('role', onRole);
      peer.session.off('admission-request', onRequest);
      rotation.off('rotated', onRotated);
      delegation.off('changed', onDelegates);
      // Leaving ends every shared server and its connections before the session's sockets go.
      servers.close();
      chat.close();
      rotation.close();
      delegation.close();
      call.dispose();
      diskProblems.dispose();
      terminals.dispose();
      participants.dispose();
      changedFiles.dispose();
      follower.dispose();
      presence.dispose();
      notebooks.dispose();
      documents.dispose();
      changed.dispose();
      await peer.close();
      notices.dispose();
    },
  };
}

/** "Alice wants to join — Admit / Admit Read-Only / Deny", for the owner of an "ask" session. */
async function askAdmission(peer: RunningPeer, p: PeerInfo, logger: Logger): Promise<void> {
  const choice = await vscode.window.showInformationMessage(
    `Hyperpair: ${p.name} wants to join your session.`,
    'Admit',
    'Admit Read-Only',
    'Deny',
  );
  if (!peer.session.admissionRequests().some((r) => r.id === p.id)) return; // gone, or answered
  if (choice === 'Admit') peer.session.admit(p.id, 'editor');
  else if (choice === 'Admit Read-Only') peer.session.admit(p.id, 'viewer');
  else if (choice === 'Deny') peer.session.deny(p.id);
  else {
    // Dismissed: they are still waiting; ask again in a while rather than leave them hanging.
    setTimeout(() => {
      if (peer.session.status !== 'closed' && peer.session.admissionRequests().some((r) => r.id === p.id)) void askAdmission(peer, p, logger);
    }, 20_000).unref();
    return;
  }
  logger.info(`${choice === 'Deny' ? 'denied' : 'admitted'} ${p.name}${choice === 'Admit Read-Only' ? ' (read-only)' : ''}`);
}

/** The connection report outside a session (Diagnose Connection before anyone can connect). */
export async function probeConnection(config: HyperpairConfig, name: string, logger: Logger): Promise<{ report: Diagnosis; text: string }> {
  const report = await probeConnectivity({
    name,
    network: { bootstrap: config.bootstrap ? parseBootstrap(config.bootstrap) : undefined, host: config.bindHost },
    lan: config.lanDiscovery,
    relays: config.relays.flatMap((key) => {
      try {
        return [parseRelayKey(key)];
      } catch {
        return []; // a bad key is reported when a session starts; the probe tests the rest
      }
    }),
    logger,
  });
  return { report, text: formatDiagnosis(report) };
}

/** The kept versions of a folder's files (here so that the extension bundle stays free of the core). */
export function openHistory(root: string, logger: Logger): FileHistory {
  return new FileHistory(root, { logger });
}
