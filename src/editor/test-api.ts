/**
 * What the editor test suite reads from a running extension (through the extension's exports):
 * state, the session code, peers, and when peers' changes arrive. Read-only; it changes nothing.
 */
import type * as vscode from 'vscode';
import type { PeerInfo } from '../session/transport';
import type { ChangeOrigin, FileEntry } from '../sync/api';
import type { ChatRow, ChatView } from './chat-view';
import type { SessionController, SessionState } from './controller';
import type { ServerRow, ServersView } from './servers';

export interface TestApi {
  state(): SessionState;
  sessionCode(): string | undefined;
  peers(): PeerInfo[];
  sessionRoot(): string | undefined;
  /** Collaborators' cursors drawn in a file, or in a notebook's cell by its id (offsets, names, colours). */
  cursorsIn(relPath: string, cell?: string): unknown[];
  /** What the editor handed VS Code to draw for collaborators in a file (or cell): cursors, selections, labels. */
  decorationsApplied(relPath: string, cell?: string): unknown[];
  /** Notes shown about files collaborators renamed or deleted under this editor. */
  notes(): string[];
  /** The Participants view's rows. */
  participants(): unknown[];
  /** The client id being followed, if any. */
  following(): number | null;
  /** The status bar's "Following <name>" while following lasts, else null. */
  followStatus(): string | null;
  /** Files marked as changed by collaborators since this person last opened them. */
  changedFiles(): Array<{ path: string; names: string[] }>;
  /** The paths in the session's file index (whether or not their content has arrived). */
  indexPaths(): string[];
  /** Whether this editor is a read-only guest of its session. */
  readOnly(): boolean;
  /** The shared terminals' VS Code terminals: name, who may type, and what each showed. */
  terminals(): unknown[];
  /**
   * Starts noting when changes from peers reach the shared text of a file (before the editor shows
   * them), as performance.timeOrigin + now(); for the keystroke benchmark, which splits its latency.
   */
  noteRemoteTextChanges(relPath: string): boolean;
  /** Stops noting and returns the times noted. */
  remoteTextChanges(): number[];
  /** The Shared Servers view's rows. */
  servers(): ServerRow[];
  /** The chat as the chat view shows it, and how many messages are unread. */
  chat(): { rows: ChatRow[]; unread: number };
  /** This window in the session's call, and who else is in it. */
  call(): { inCall: boolean; muted: boolean; members: Array<{ name: string; muted: boolean; speaking: boolean }>; sent?: number; dropped?: number; received?: number };
  /** The notebooks bound cell by cell now (paths). */
  boundNotebooks(): string[];
  /** The model id of a notebook cell (also of one no longer in its notebook), if it was bound (called in-process, with VS Code's cell). */
  notebookCellId(cell: vscode.NotebookCell): string | undefined;
  /** Whether the notebook's binding has no structure edit of its own running or queued. */
  notebookSettled(relPath: string): boolean;
  /** Makes the next runs of an open notebook's binding fail or do nothing (NotebookBinding.injectFault); false if it is not bound. */
  notebookFault(relPath: string, kind: 'throw' | 'skip', count: number): boolean;
  /** What the notebooks' consistency checks found (NotebookBindings.consistency). */
  notebookConsistency(): { repairs: number; divergences: number };
  /** How long activation took, measured in the extension host: evaluating the bundle, and activate(). */
  activationTime(): ActivationTime;
}

export interface ActivationTime {
  /** From the bundle's first line to the call of activate(): evaluating the extension's code. */
  loadMs: number;
  /** activate() itself. */
  activateMs: number;
}

export function createTestApi(controller: SessionController, activation: ActivationTime, views?: { servers: ServersView; chat: ChatView }): TestApi {
  let noting: { times: number[]; stop(): void } | undefined;
  return {
    state: () => controller.state,
    sessionCode: () => controller.code,
    peers: () => controller.peers().map((p) => ({ id: p.id, name: p.name, colour: p.colour, readOnly: !!p.readOnly })),
    sessionRoot: () => controller.session?.root,
    cursorsIn: (rel, cell) => controller.session?.presence.cursorsIn(rel, cell) ?? [],
    decorationsApplied: (rel, cell) => controller.session?.presence.appliedIn(rel, cell) ?? [],
    notes: () => controller.session?.notes() ?? [],
    participants: () => controller.session?.participants.participants() ?? [],
    following: () => controller.session?.participants.followed ?? null,
    followStatus: () => controller.session?.participants.followStatus ?? null,
    changedFiles: () => controller.session?.changedFiles.marked() ?? [],
    indexPaths: () => controller.session?.peer.workspace.files().map((f) => f.path) ?? [],
    readOnly: () => controller.session?.peer.session.readOnly ?? false,
    terminals: () => controller.session?.terminals.states() ?? [],
    noteRemoteTextChanges(relPath) {
      noting?.stop();
      const workspace = controller.session?.peer.workspace;
      if (!workspace) return false;
      const times: number[] = [];
      const listener = (entry: FileEntry, origin: ChangeOrigin) => {
        if (origin === 'remote' && entry.path === relPath) times.push(performance.timeOrigin + performance.now());
      };
      workspace.on('text-changed', listener);
      noting = { times, stop: () => workspace.off('text-changed', listener) };
      return true;
    },
    activationTime: () => activation,
    boundNotebooks: () => controller.session?.notebooks.boundPaths() ?? [],
    notebookCellId: (cell) => controller.session?.notebooks.cellIdOf(cell),
    notebookSettled: (relPath) => controller.session?.notebooks.settled(relPath) ?? true,
    notebookFault: (relPath, kind, count) => controller.session?.notebooks.injectFault(relPath, kind, count) ?? false,
    notebookConsistency: () => controller.session?.notebooks.consistency() ?? { repairs: 0, divergences: 0 },
    servers: () => views?.servers.rows() ?? [],
    chat: () => ({ rows: views?.chat.rows() ?? [], unread: views?.chat.unreadCount ?? 0 }),
    call: () => {
      const call = controller.session?.call;
      return {
        inCall: call?.inCall ?? false,
        muted: call?.muted ?? false,
        members: (call?.members() ?? []).map((m) => ({ name: m.peer.name, muted: m.muted, speaking: m.speaking })),
        ...call?.stats(),
      };
    },
    remoteTextChanges() {
      const times = noting?.times ?? [];
      noting?.stop();
      noting = undefined;
      return times;
    },
  };
}
