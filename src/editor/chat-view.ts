/**
 * Session chat in VS Code (issue 17): a webview view with a strict Content Security Policy (no
 * network, no inline script but the one with this load's nonce, no command links). Messages reach the
 * page as data — names, colours and text spans cut by the core (chat-text.ts) — and the page inserts
 * them as text nodes only, so a peer's message cannot inject markup, scripts or links. A `path:line`
 * reference opens that file of the shared folder at that line (checked here, not in the page); a
 * mention of this person notifies; the status bar counts what arrived while the view was hidden.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ChatMessage } from '../session/chat';
import { chatSpans, mentions, type ChatSpan } from '../session/chat-text';
import { Disposable } from '../session/disposable';
import type { Logger } from '../session/log';
import type { SessionController } from './controller';
import { SessionFollower } from './session-follower';
import { guarded } from './guard';
import type { RunningSession } from './runtime';

/** What the page gets for one message. */
export interface ChatRow {
  id: string;
  name: string;
  colour: string;
  time: number;
  mine: boolean;
  mentionsMe: boolean;
  relayed: boolean;
  spans: ChatSpan[];
}

/** What the page may ask; anything else is ignored. */
type FromPage = { type: 'say'; text: string } | { type: 'open'; path: string; line: number } | { type: 'ready' };

export class ChatView extends Disposable implements vscode.WebviewViewProvider {
  private view: vscode.WebviewView | undefined;
  private unread = 0;
  private readonly badge: vscode.StatusBarItem;

  constructor(
    private readonly controller: SessionController,
    private readonly logger: Logger,
  ) {
    super();
    this.badge = vscode.window.createStatusBarItem('hyperpair.chatUnread', vscode.StatusBarAlignment.Left, 98);
    this.badge.name = 'Hyperpair: unread chat';
    this.badge.command = 'hyperpair.openChat';
    this.registerAll(
      this.badge,
      vscode.window.registerWebviewViewProvider('hyperpair.chat', this),
      vscode.commands.registerCommand('hyperpair.openChat', () => vscode.commands.executeCommand('hyperpair.chat.focus')),
      vscode.commands.registerCommand('hyperpair.sendChatMessage', (text?: string) => guarded(this.logger, 'hyperpair.sendChatMessage', () => this.send(text))),
      new SessionFollower(controller, (running) => this.watch(running)),
    );
  }

  /** The messages as the view shows them (for the editor tests), oldest first. */
  rows(): ChatRow[] {
    const running = this.controller.session;
    return running ? running.chat.history().map((m) => this.row(running, m)) : [];
  }

  /** Messages that arrived while the chat view was not visible. */
  get unreadCount(): number {
    return this.unread;
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const nonce = randomBytes(16).toString('base64');
    view.webview.options = { enableScripts: true, enableCommandUris: false, localResourceRoots: [] };
    view.webview.html = page(nonce, view.webview.cspSource);
    const subs = [
      view.webview.onDidReceiveMessage((m: unknown) => void guarded(this.logger, 'chat', () => this.fromPage(m))),
      view.onDidChangeVisibility(() => view.visible && this.markRead()),
    ];
    view.onDidDispose(() => {
      subs.forEach((s) => s.dispose());
      if (this.view === view) this.view = undefined;
    });
    this.markRead();
  }

  private watch(running: RunningSession | undefined): (() => void) | void {
    this.unread = 0;
    this.renderBadge();
    this.reset();
    if (!running) return;
    const onMessage = (m: ChatMessage, live: boolean, mentionsMe: boolean) => this.arrived(running, m, live, mentionsMe);
    running.chat.on('message', onMessage);
    return () => running.chat.off('message', onMessage);
  }


  private arrived(running: RunningSession, m: ChatMessage, live: boolean, mentionsMe: boolean): void {
    const mine = m.author === running.peer.session.self.id;
    // History caught up on is inserted in its place; the page keeps the one order of the core.
    void this.view?.webview.postMessage({ type: 'reset', rows: this.rows() });
    if (mine || !live) return;
    if (!this.view?.visible) {
      this.unread++;
      this.renderBadge();
    }
    if (mentionsMe) {
      void vscode.window.showInformationMessage(`Hyperpair: ${m.name} mentioned you in the chat: ${m.text}`, 'Open Chat').then((c) => {
        if (c) void vscode.commands.executeCommand('hyperpair.openChat');
      });
    }
  }

  private row(running: RunningSession, m: ChatMessage): ChatRow {
    const self = running.peer.session.self;
    const mine = m.author === self.id;
    const mentionsMe = !mine && mentions(m.text, self.name);
    return { id: m.id, name: m.name, colour: m.colour, time: m.time, mine, mentionsMe, relayed: m.relayed, spans: chatSpans(m.text) };
  }

  private reset(): void {
    void this.view?.webview.postMessage({ type: 'reset', rows: this.rows() });
  }

  private markRead(): void {
    if (!this.view?.visible) return;
    this.unread = 0;
    this.renderBadge();
  }

  private renderBadge(): void {
    if (this.unread === 0) return this.badge.hide();
    // Only a number: no peer-supplied text in the status bar.
    this.badge.text = `$(comment-unresolved) ${this.unread}`;
    this.badge.tooltip = `${this.unread} unread chat message${this.unread === 1 ? '' : 's'}: open the chat`;
    this.badge.show();
  }

  private async send(text?: string): Promise<void> {
    const running = this.controller.session;
    if (!running) throw new Error('No session is running. Start or join one first.');
    const raw = text ?? (await vscode.window.showInputBox({ title: 'Hyperpair chat', prompt: 'Message to everyone in the session (@name mentions, path:line links a file)' }));
    if (raw === undefined) return;
    running.chat.say(raw);
  }

  private async fromPage(raw: unknown): Promise<void> {
    const m = raw as Partial<FromPage> | undefined;
    if (m?.type === 'ready') return this.reset();
    if (m?.type === 'say' && typeof m.text === 'string') return this.send(m.text);
    if (m?.type === 'open' && typeof m.path === 'string' && typeof m.line === 'number') return this.openRef(m.path, m.line);
  }

  /** Opens a referenced file of the shared folder at a line; nothing outside the folder. */
  private async openRef(rel: string, line: number): Promise<void> {
    const running = this.controller.session;
    if (!running) return;
    const root = path.resolve(running.root);
    const target = path.resolve(root, rel);
    if (!target.startsWith(root + path.sep) || !Number.isInteger(line) || line < 1) throw new Error(`${rel} is not a file of the shared folder.`);
    if (!running.peer.workspace.byPath(path.relative(root, target).split(path.sep).join('/'))) throw new Error(`${rel} is not a file of the session.`);
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(target));
    const at = new vscode.Position(Math.min(line, doc.lineCount) - 1, 0);
    await vscode.window.showTextDocument(doc, { selection: new vscode.Range(at, at) });
  }
}

/** The page: fixed markup, one script with this load's nonce, messages inserted as text nodes only. */
function page(nonce: string, cspSource: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<style nonce="${nonce}">
body { padding: 0 8px; display: flex; flex-direction: column; height: 100vh; margin: 0; box-sizing: border-box; }
#log { flex: 1; overflow-y: auto; }
.msg { margin: 4px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.name { font-weight: bold; margin-right: 6px; }
.me { background: var(--vscode-editor-findMatchHighlightBackground); }
.mention { font-weight: bold; }
.ref { color: var(--vscode-textLink-foreground); cursor: pointer; text-decoration: underline; }
.relayed { opacity: 0.8; }
#say { display: flex; gap: 4px; padding: 6px 0; }
#text { flex: 1; color: var(--vscode-input-foreground); background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); }
</style></head>
<body><div id="log" role="log" aria-live="polite"></div>
<form id="say"><input id="text" type="text" maxlength="2000" placeholder="Message (@name, path:line)" aria-label="Chat message"><button type="submit">Send</button></form>
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
const log = document.getElementById('log');
function render(rows) {
  const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.replaceChildren();
  for (const r of rows) {
    const div = document.createElement('div');
    div.className = 'msg' + (r.mentionsMe ? ' me' : '') + (r.relayed ? ' relayed' : '');
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = r.name;
    if (/^#[0-9a-fA-F]{6}$/.test(r.colour)) name.style.color = r.colour;
    name.title = new Date(r.time).toLocaleTimeString();
    div.appendChild(name);
    for (const s of r.spans) {
      if (s.kind === 'ref') {
        const a = document.createElement('span');
        a.className = 'ref';
        a.textContent = s.text;
        a.tabIndex = 0;
        a.addEventListener('click', () => vscode.postMessage({ type: 'open', path: s.path, line: s.line }));
        div.appendChild(a);
      } else if (s.kind === 'mention') {
        const m = document.createElement('span');
        m.className = 'mention';
        m.textContent = s.text;
        div.appendChild(m);
      } else {
        div.appendChild(document.createTextNode(s.text));
      }
    }
    log.appendChild(div);
  }
  if (atEnd) log.scrollTop = log.scrollHeight;
}
window.addEventListener('message', (e) => { if (e.data && e.data.type === 'reset' && Array.isArray(e.data.rows)) render(e.data.rows); });
document.getElementById('say').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = document.getElementById('text');
  if (input.value.trim()) vscode.postMessage({ type: 'say', text: input.value });
  input.value = '';
});
vscode.postMessage({ type: 'ready' });
</script></body></html>`;
}
