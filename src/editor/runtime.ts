/**
 * Everything that runs while a session is open in this window: the core peer (session, shared
 * workspace, disk mirror) and the editor adapters over it. Bundled separately (dist/runtime.js) and
 * loaded only when a session starts.
 */
import * as vscode from 'vscode';
import type { Logger } from '../session/log';
import type { PeerInfo } from '../session/transport';
import { parseBootstrap, parseRelayKey } from '../session';
import { formatDiagnosis, type Diagnosis } from '../session/diagnose';
import { startPeer, type RunningPeer } from '../sync/peer';
import type { HyperpairConfig } from './config';
import type { JoinProgress } from './controller';
import { DocumentBindings } from './documents';
import { ParticipantsView } from './participants';
import { Presence } from './presence';

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
  cancel?: vscode.CancellationToken;
}

export interface RunningSession {
  readonly code: string;
  readonly root: string;
  readonly documents: DocumentBindings;
  readonly presence: Presence;
  readonly participants: ParticipantsView;
  readonly peer: RunningPeer;
  peers(): PeerInfo[];
  offline(): boolean;
  /** The connection report: the object, and its text for a person or a helpdesk (no secrets). */
  diagnose(): { report: Diagnosis; text: string };
  /** Fires with a person-readable line ("Bob joined") or undefined on any membership change. */
  onDidChangePeers: vscode.Event<string | undefined>;
  leave(): Promise<void>;
}

export async function openSession(options: OpenOptions): Promise<RunningSession> {
  const { config, logger } = options;
  const abort = new AbortController();
  const cancelSub = options.cancel?.onCancellationRequested(() => abort.abort());
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
    });
  } finally {
    cancelSub?.dispose();
  }

  const changed = new vscode.EventEmitter<string | undefined>();
  const onJoin = (p: PeerInfo) => changed.fire(`${p.name} joined the session`);
  const onLeave = (p: PeerInfo) => changed.fire(`${p.name} left the session`);
  peer.session.on('peer-join', onJoin);
  peer.session.on('peer-leave', onLeave);

  const documents = new DocumentBindings(
    {
      root: options.root,
      workspace: peer.workspace,
      setEditorOwned: (rel, owned) => peer.mirror.setEditorOwned(rel, owned),
    },
    logger,
  );
  const presence = new Presence(peer.workspace.awareness, peer.workspace, documents, peer.session.self);
  const participants = new ParticipantsView(
    presence,
    { self: peer.session.self, directPeers: () => peer.session.peers(), stats: (id) => peer.session.peerStats(id) },
    peer.workspace,
    options.root,
    options.storageDir,
  );
  peer.workspace.on('notice', (message) => void vscode.window.showWarningMessage(`Hyperpair: ${message}`));
  peer.session.on('protocol-mismatch', (_v, message) => void vscode.window.showErrorMessage(`Hyperpair: ${message}`));
  peer.session.on('connect-problem', (message) => {
    void vscode.window.showWarningMessage(`Hyperpair: ${message}`, 'Diagnose Connection').then((choice) => {
      if (choice) void vscode.commands.executeCommand('hyperpair.diagnose');
    });
  });

  let left = false;
  return {
    code: peer.code,
    root: options.root,
    documents,
    presence,
    participants,
    peer,
    peers: () => peer.session.peers(),
    offline: () => peer.session.status === 'offline',
    diagnose: () => {
      const report = peer.session.diagnose();
      return { report, text: formatDiagnosis(report) };
    },
    onDidChangePeers: changed.event,
    async leave() {
      if (left) return;
      left = true;
      peer.session.off('peer-join', onJoin);
      peer.session.off('peer-leave', onLeave);
      participants.dispose();
      presence.dispose();
      documents.dispose();
      changed.dispose();
      await peer.close();
    },
  };
}
