/**
 * The Participants view (in the Explorer) and follow mode. Both read the session's awareness through
 * Presence: who is here, in which colour, with which file active, and how they are connected.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Disposable } from '../session/disposable';
import * as Y from 'yjs';
import type { Standing } from '../session/access';
import type { ConnectionPath } from '../session/diagnose';
import { displayColour, shortenMiddle } from '../session/untrusted';
import type { PeerInfo } from '../session/transport';
import type { Workspace } from '../sync/api';
import { callMarkText, participantIconSvg, type CallMark } from './call-marks';
import { metadataId } from './notebook-cells';
import type { Presence, PresenceState } from './presence';

export interface Participant {
  clientId: number;
  id: string;
  /** The row's label: the name, with "(you)", "(owner)" or "(read-only)". */
  name: string;
  /** Just the person's name, for sentences. */
  person: string;
  colour: string;
  file?: string;
  /**
   * How this editor is connected to the person: over the local network, directly over the DHT,
   * through a blind relay, or not at all but through another participant ('indirect').
   */
  connection: 'you' | ConnectionPath | 'indirect';
  rttMs?: number;
  /** Owner, editor or read-only, when known (a person heard only through another is not). */
  standing?: Standing;
  /** In the session's call: muted, speaking and how loud (call-marks.ts); absent when not in it. */
  call?: CallMark;
}

export interface ParticipantSource {
  readonly self: PeerInfo;
  directPeers(): PeerInfo[];
  /** Whether this peer is a read-only guest. */
  selfReadOnly?(): boolean;
  /** Path and round trip of a directly connected peer. */
  stats?(peerId: string): { path: ConnectionPath; rttMs: number | undefined } | undefined;
  /** Owner, editor or read-only (access.ts). */
  standing?(peerId: string): Standing | undefined;
  /** Whether this peer may remove people and change their roles (it owns the session). */
  canManage?(): boolean;
  /** Whether this peer owns the session (it alone can let others manage people). */
  isOwner?(): boolean;
  /** Whether the owner lets this person manage people (delegation.ts). */
  isDelegate?(peerId: string): boolean;
  /** The person in the session's call, if they are in it (as far as this editor hears). */
  callMark?(peerId: string): CallMark | undefined;
  /**
   * The shared cell an open notebook's cell shows, as its binding maps them. A cell's metadata id can
   * lag behind (VS Code gives a new cell an id of its own first), so follow asks here first.
   */
  cellIdOf?(cell: vscode.NotebookCell): string | undefined;
}

/** Longest file path shown in the view, in characters (the middle gives way). */
const MAX_PATH_SHOWN = 80;

export class ParticipantsView extends Disposable implements vscode.TreeDataProvider<Participant> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly iconDir: string;
  private following: number | undefined;
  /** Shown for as long as following lasts; a click stops it. */
  private readonly followItem: vscode.StatusBarItem;
  /** The last "bring everyone here" seen of each client, so that each is answered once. */
  private readonly summons = new Map<number, number | undefined>();

  constructor(
    private readonly presence: Presence,
    private readonly source: ParticipantSource,
    private readonly workspace: Workspace,
    private readonly root: string,
    storageDir: string,
  ) {
    super();
    this.iconDir = path.join(storageDir, 'participant-icons');
    this.followItem = vscode.window.createStatusBarItem('hyperpair.following', vscode.StatusBarAlignment.Left, 99);
    this.followItem.name = 'Hyperpair: following';
    this.followItem.command = 'hyperpair.stopFollowing';
    this.registerAll(this.followItem);
    fs.mkdirSync(this.iconDir, { recursive: true });
    const refresh = () => {
      this.changed.fire();
      this.answerSummons();
      this.followStep();
    };
    this.register(presence.onDidChange(refresh));
    this.registerAll(
      vscode.window.registerTreeDataProvider('hyperpair.participants', this),
      vscode.commands.registerCommand('hyperpair.jumpToParticipant', (p?: Participant) => p && this.jumpTo(p.clientId)),
      vscode.commands.registerCommand('hyperpair.followParticipant', (p?: Participant) => this.follow(p)),
      vscode.commands.registerCommand('hyperpair.stopFollowing', () => this.stopFollowing('')),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.following !== undefined && e.document === vscode.window.activeTextEditor?.document && e.contentChanges.length) {
          // Edits we did not make (a peer's) arrive too; only stop when this person types.
          if (presence.isLocalEdit(e.document)) this.stopFollowing('you typed');
        }
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (this.following !== undefined && e.kind !== undefined && e.kind !== vscode.TextEditorSelectionChangeKind.Command) {
          this.stopFollowing('you moved the cursor');
        }
      }),
    );
    void vscode.commands.executeCommand('setContext', 'hyperpair.following', false);
  }

  participants(): Participant[] {
    const peers = this.source.directPeers();
    const direct = new Set(peers.map((p) => p.id));
    const readOnly = new Set(peers.filter((p) => p.readOnly).map((p) => p.id));
    const selfStanding = this.source.standing?.(this.source.self.id) ?? (this.source.selfReadOnly?.() ? 'read-only' : undefined);
    const you = selfStanding && selfStanding !== 'editor' ? `(you, ${selfStanding})` : '(you)';
    const self = this.source.self;
    const list: Participant[] = [
      { clientId: -1, id: self.id, name: `${self.name} ${you}`, person: self.name, colour: self.colour, connection: 'you', standing: selfStanding, call: this.source.callMark?.(self.id) },
    ];
    this.presence.others().forEach((s: PresenceState, clientId) => {
      if (!s.user) return;
      const standing = this.source.standing?.(s.user.id) ?? (readOnly.has(s.user.id) ? 'read-only' : undefined);
      list.push({
        clientId,
        id: s.user.id,
        name: standing && standing !== 'editor' ? `${s.user.name} (${standing})` : s.user.name,
        person: s.user.name,
        standing,
        colour: s.user.colour,
        // The path this peer's index has for the file, not the one the other peer wrote.
        file: s.file ? this.workspace.byId(s.file.id)?.path : undefined,
        connection: direct.has(s.user.id) ? (this.source.stats?.(s.user.id)?.path ?? 'direct') : 'indirect',
        rttMs: this.source.stats?.(s.user.id)?.rttMs,
        call: this.source.callMark?.(s.user.id),
      });
    });
    return list;
  }

  getChildren(element?: Participant): Participant[] {
    return element ? [] : this.participants();
  }

  getTreeItem(p: Participant): vscode.TreeItem {
    const item = new vscode.TreeItem(p.name);
    // Names are already sanitised and bounded (session/display.ts); paths can be long: keep the view narrow.
    const where = p.file ? `editing ${shortenMiddle(p.file, MAX_PATH_SHOWN)}` : 'no shared file open';
    const how = connectionText(p);
    const standing = p.standing ? `${p.standing === 'read-only' ? 'read-only' : p.standing === 'owner' ? 'owner of the session' : 'editor'}` : '';
    const role = p.id && this.source.isDelegate?.(p.id) ? `${standing}, manages people` : standing;
    const call = callMarkText(p.call);
    item.description = (p.connection === 'you' ? [call, role] : [call, role, where, how]).filter(Boolean).join(' · ');
    item.tooltip = `${p.name}${call ? `\ncall: ${call}` : ''}${role ? `\nrole: ${role}` : ''}\n${where}\nconnection: ${how || 'this editor'}${p.connection === 'indirect' ? '' : p.rttMs !== undefined ? `\nround trip: ${p.rttMs} ms` : ''}`;
    item.iconPath = vscode.Uri.file(this.icon(p.colour, p.call?.speaking === true && !p.call.muted));
    if (p.connection !== 'you') {
      // Space-separated flags for package.json's menus: followed or not, whether this editor may
      // manage the person, and their role (which of Make Read-Only / Make Editor applies).
      const flags = [this.following === p.clientId ? 'participant.followed' : 'participant'];
      if (this.source.canManage?.() && p.connection !== 'indirect' && p.standing !== 'owner') flags.push('manage', p.standing === 'read-only' ? 'viewer' : 'editor');
      if (this.source.isOwner?.() && p.id && p.connection !== 'indirect') flags.push(this.source.isDelegate?.(p.id) ? 'delegate' : 'delegable');
      item.contextValue = flags.join(' ');
      item.command = { command: 'hyperpair.jumpToParticipant', title: 'Go to cursor', arguments: [p] };
    }
    return item;
  }

  async follow(p?: Participant): Promise<void> {
    let target = p;
    if (!target) {
      const others = this.participants().filter((x) => x.connection !== 'you');
      if (others.length === 0) throw new Error('Nobody else is in the session yet.');
      const pick = await vscode.window.showQuickPick(
        others.map((o) => ({ label: o.name, description: o.file && shortenMiddle(o.file, MAX_PATH_SHOWN), o })),
        { title: 'Follow whom?' },
      );
      target = pick?.o;
    }
    if (!target) return;
    this.following = target.clientId;
    void vscode.commands.executeCommand('setContext', 'hyperpair.following', true);
    this.showFollowing(target.person ?? target.name);
    this.changed.fire();
    await this.jumpTo(target.clientId);
  }

  /** The client id being followed, if any. */
  get followed(): number | undefined {
    return this.following;
  }

  /** The follow item's text while it is shown (for the editor tests), else null. */
  get followStatus(): string | null {
    return this.following === undefined ? null : this.followItem.text;
  }

  /** Draws the rows again (who manages people changed, which no presence change tells). */
  refresh(): void {
    this.changed.fire();
  }

  /** "Bring everyone here": asks every member to follow this person (PROTOCOL.md §6.1, `summon`). */
  bringEveryoneHere(): number {
    this.presence.summonEveryone();
    return this.participants().length - 1;
  }

  override dispose(): void {
    super.dispose();
    this.changed.dispose();
    void vscode.commands.executeCommand('setContext', 'hyperpair.following', false);
  }

  private stopFollowing(why: string): void {
    if (this.following === undefined) return;
    const name = this.presence.others().get(this.following)?.user?.name ?? 'them';
    this.following = undefined;
    this.followItem.hide();
    void vscode.commands.executeCommand('setContext', 'hyperpair.following', false);
    void vscode.window.showInformationMessage(`Hyperpair: stopped following ${name}${why ? ` because ${why}` : ''}.`);
    this.changed.fire();
  }

  private showFollowing(name: string): void {
    this.followItem.text = `$(eye) Following ${name}`;
    this.followItem.tooltip = `Hyperpair: you follow ${name}'s cursor. Click to stop following.`;
    this.followItem.show();
  }

  /** Follows whoever raised a new "bring everyone here" since this editor first saw them. */
  private answerSummons(): void {
    const others = this.presence.others();
    for (const client of this.summons.keys()) if (!others.has(client)) this.summons.delete(client);
    others.forEach((s, clientId) => {
      const seen = this.summons.has(clientId);
      const before = this.summons.get(clientId);
      this.summons.set(clientId, s.summon);
      // A summon raised before this editor saw the person is old news (a joiner is not pulled along).
      if (!seen || s.summon === undefined || s.summon === before || !s.user) return;
      const name = s.user.name;
      if (this.following !== clientId) {
        void this.follow(this.participants().find((p) => p.clientId === clientId));
        void vscode.window.showInformationMessage(`Hyperpair: ${name} asked everyone to follow them; you are following ${name} (click "Following ${name}" in the status bar to stop).`);
      }
    });
  }

  private followStep(): void {
    if (this.following === undefined) return;
    if (!this.presence.others().has(this.following)) return this.stopFollowing('they left');
    void this.jumpTo(this.following, true);
  }

  /** Shows a person's file and cursor; following keeps the focus where the user has it (a palette). */
  private async jumpTo(clientId: number, keepFocus = false): Promise<void> {
    const state = this.presence.others().get(clientId);
    if (!state?.file) return;
    const entry = this.workspace.byId(state.file.id);
    if (!entry) return;
    const uri = vscode.Uri.file(path.join(this.root, ...entry.path.split('/')));
    if (entry.kind === 'notebook') return this.jumpToCell(uri, state.file.cell, keepFocus);
    let editor = vscode.window.activeTextEditor;
    if (editor?.document.uri.fsPath !== uri.fsPath) {
      const doc = await vscode.workspace.openTextDocument(uri);
      editor = await vscode.window.showTextDocument(doc, { preserveFocus: keepFocus });
    }
    const head = state.selections?.[0]?.head;
    const ytext = this.workspace.loadedText(entry.id);
    if (!head || !ytext?.doc) return;
    try {
      const abs = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(head), ytext.doc);
      if (!abs) return;
      const pos = editor.document.positionAt(abs.index);
      editor.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    } catch {
      // A malformed position from a peer: nothing to reveal.
    }
  }

  /**
   * Shows a person's notebook in the notebook editor (never its JSON as text) with the cell they are
   * in selected and in view; their caret is drawn in it (presence.ts).
   */
  private async jumpToCell(uri: vscode.Uri, cellId: string | undefined, keepFocus: boolean): Promise<void> {
    let editor = vscode.window.activeNotebookEditor;
    if (editor?.notebook.uri.toString() !== uri.toString()) {
      const notebook = await vscode.workspace.openNotebookDocument(uri);
      editor = await vscode.window.showNotebookDocument(notebook, { preserveFocus: keepFocus, preview: false });
    }
    const index = cellId === undefined ? -1 : editor.notebook.getCells().findIndex((c) => (this.source.cellIdOf?.(c) ?? metadataId(c)) === cellId);
    if (index < 0) return;
    const range = new vscode.NotebookRange(index, index + 1);
    const selection = editor.selections[0]; // undefined while the editor has no selection at all
    if (selection?.start !== index || selection.end !== index + 1) editor.selections = [range];
    editor.revealRange(range, vscode.NotebookEditorRevealType.InCenterIfOutsideViewport);
  }

  private icon(colour: string, speaking: boolean): string {
    const safe = displayColour(colour);
    const file = path.join(this.iconDir, `${safe.slice(1)}${speaking ? '-speaking' : ''}.svg`);
    if (!fs.existsSync(file)) fs.writeFileSync(file, participantIconSvg(safe, speaking));
    return file;
  }
}

/** "LAN, 3 ms", "relayed, 80 ms", "via another peer": how a person is connected, for the view. */
export function connectionText(p: Pick<Participant, 'connection' | 'rttMs'>): string {
  if (p.connection === 'you') return '';
  if (p.connection === 'indirect') return 'via another peer';
  const label = p.connection === 'lan' ? 'LAN' : p.connection;
  return p.rttMs !== undefined ? `${label}, ${p.rttMs} ms` : label;
}
