/**
 * Shared servers and session chat for the headless peer: shares the `--port`s, prints where servers
 * shared by others are reachable, prints chat messages, and sends what is typed after "say ".
 */
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import { SessionChat, type ChatMessage } from '../session/chat';
import type { Logger } from '../session/log';
import type { Session } from '../session/session';
import { CodeRotation } from '../session/rotation';
import { ServerTunnels, type RemoteServer } from '../session/tunnel';
import type { Output } from './run';

const SAY = /^\s*say\s+(.*)$/i;

/** Whether a line of standard input is for the chat (other prompts leave it alone). */
export function isChatLine(line: string): boolean {
  return SAY.test(line);
}

export class CliCollaboration {
  readonly servers: ServerTunnels;
  readonly chat: SessionChat;
  /** A headless member moves to a new session code with everyone else when the owner rotates it. */
  readonly rotation: CodeRotation;
  private readonly lines: readline.Interface;
  private readonly announced = new Set<string>();

  constructor(session: Session, ports: number[], private readonly out: Output, input: Readable, logger: Logger) {
    this.servers = new ServerTunnels(session, { logger });
    this.chat = new SessionChat(session, { logger });
    this.rotation = new CodeRotation(session, { logger });
    this.rotation.on('rotated', (code: string) => out.line(`The owner changed the session code; this peer moved to the new one: ${code}`, { event: 'code-rotated', code }));
    for (const port of ports) {
      this.servers.share(port);
      out.line(`Sharing the server on port ${port} with every member`, { event: 'server-shared', port });
    }
    this.servers.on('reachable', (r: RemoteServer) => {
      this.announced.add(`${r.peer.id}:${r.remotePort}`);
      out.line(`Server of ${r.peer.name} (their port ${r.remotePort}) is reachable at http://127.0.0.1:${r.localPort}`, {
        event: 'server-reachable',
        peer: r.peer.id,
        name: r.peer.name,
        remotePort: r.remotePort,
        localPort: r.localPort,
      });
    });
    this.servers.on('changed', () => this.reportStopped());
    this.servers.on('notice', (message: string) => out.line(`! ${message}`, { event: 'server-problem', message }));
    this.chat.on('message', (m: ChatMessage, live: boolean, mentionsMe: boolean) => {
      if (m.author === session.self.id && live) return; // what this peer typed is on screen already
      out.line(`${mentionsMe ? '@ ' : ''}[${m.name}] ${m.text}`, { event: 'chat', id: m.id, author: m.author, name: m.name, time: m.time, text: m.text, live, mentionsMe, relayed: m.relayed });
    });
    this.lines = readline.createInterface({ input, terminal: false });
    this.lines.on('line', (line) => this.onLine(line));
  }

  close(): void {
    this.lines.close();
    this.rotation.close();
    this.chat.close();
    this.servers.close();
  }

  private onLine(line: string): void {
    const m = SAY.exec(line);
    if (!m) return;
    try {
      this.chat.say(m[1]);
    } catch (err) {
      this.out.line(`! ${(err as Error).message}`, { event: 'chat-problem', message: (err as Error).message });
    }
  }

  private reportStopped(): void {
    const now = new Set(this.servers.remote().map((r) => `${r.peer.id}:${r.remotePort}`));
    for (const k of [...this.announced]) {
      if (now.has(k)) continue;
      this.announced.delete(k);
      const port = Number(k.slice(k.lastIndexOf(':') + 1));
      this.out.line(`Server on port ${port} is no longer shared`, { event: 'server-stopped', peer: k.slice(0, k.lastIndexOf(':')), remotePort: port });
    }
  }
}
