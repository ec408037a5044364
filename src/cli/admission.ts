/**
 * "Ask me" admission for the headless peer (`share --admission ask`): each request is printed, and
 * the person at the terminal (or the program driving `--json`) answers on standard input with
 * `admit <who>`, `read-only <who>` or `deny <who>`, where <who> is the name or the start of the id
 * shown in brackets.
 */
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import { shortKey } from '../session/format';
import type { Session } from '../session/session';
import type { PeerInfo } from '../session/transport';
import { isChatLine } from './collaboration';
import { isMassDeleteAnswer } from './mass-delete';
import { isTerminalLine } from './terminals';
import type { Output } from './run';

const ANSWER = /^\s*(admit|read-only|deny)\s+(.+?)\s*$/i;

export class AdmissionPrompt {
  private readonly lines: readline.Interface;
  private closing = false;

  constructor(
    private readonly session: Session,
    private readonly out: Output,
    input: Readable,
  ) {
    this.lines = readline.createInterface({ input, terminal: false });
    this.lines.on('line', (line) => this.answer(line));
    // Standard input ended (a service, `< /dev/null`): nobody can answer, so say so rather than let
    // people wait in silence.
    this.lines.on('close', () => {
      if (!this.closing) this.problem('standard input is closed: join requests cannot be answered, and people asking to join keep waiting');
    });
    session.on('admission-request', this.onRequest);
    // Requests that came while the peer was starting, before this prompt listened.
    for (const p of session.admissionRequests()) this.onRequest(p);
  }

  private readonly onRequest = (p: PeerInfo): void => {
    const who = `${p.name} (${shortKey(p.id)})`;
    this.out.line(`? ${who} wants to join: type "admit ${p.name}", "read-only ${p.name}" or "deny ${p.name}"`, {
      event: 'admission-request',
      id: p.id,
      name: p.name,
    });
  };

  private answer(line: string): void {
    if (!line.trim() || isMassDeleteAnswer(line) || isChatLine(line) || isTerminalLine(line)) return; // the other prompts'
    const m = ANSWER.exec(line);
    if (!m) return this.problem(`"${line.trim()}" is not an answer: type "admit <name>", "read-only <name>" or "deny <name>"`);
    const verb = m[1].toLowerCase();
    const who = m[2];
    const waiting = this.session.admissionRequests();
    const byName = waiting.filter((p) => p.name === who);
    const matches = byName.length > 0 ? byName : who.length >= 4 ? waiting.filter((p) => p.id.startsWith(who.toLowerCase())) : [];
    if (matches.length === 0) return this.problem(`nobody called "${who}" is waiting to join`);
    if (matches.length > 1) return this.problem(`${matches.length} people called "${who}" are waiting: answer with the id in brackets instead`);
    const p = matches[0];
    const answer = verb === 'deny' ? 'denied' : verb === 'read-only' ? 'viewer' : 'editor';
    if (answer === 'denied') this.session.deny(p.id);
    else this.session.admit(p.id, answer);
    const text = answer === 'denied' ? `${p.name} was denied` : `${p.name} was let in${answer === 'viewer' ? ' read-only' : ''}`;
    this.out.line(text, { event: 'admission-answer', id: p.id, name: p.name, answer });
  }

  private problem(message: string): void {
    this.out.line(`! ${message}`, { event: 'admission-problem', message });
  }

  /** Stops listening; standard input is released so that the process can exit. */
  close(): void {
    this.closing = true;
    this.session.off('admission-request', this.onRequest);
    this.lines.close();
  }
}
