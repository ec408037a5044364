/**
 * `--record-call <file.ogg>`: the headless peer joins the session's call as a listener (muted; it has
 * no microphone) and records what each member says as Ogg Opus: the first speaker into the file
 * given, each further speaker beside it (`file.<name>.ogg`), so nothing is mixed away and each file is
 * a valid Ogg Opus stream any player or browser can decode.
 */
import * as path from 'node:path';
import type { Logger } from '../session/log';
import type { Session } from '../session/session';
import { SessionCall } from '../session/voice/call';
import { OggOpusWriter } from '../session/voice/ogg';
import type { Output } from './run';

export class CallRecorder {
  readonly call: SessionCall;
  private readonly writers = new Map<string, OggOpusWriter>();

  constructor(session: Session, private readonly file: string, private readonly out: Output, logger: Logger) {
    this.call = new SessionCall(session, { logger });
    this.call.join();
    this.call.setMuted(true);
    this.call.on('frame', (peer, frame) => {
      let w = this.writers.get(peer.id);
      if (!w) {
        w = new OggOpusWriter(this.fileFor(peer.name));
        this.writers.set(peer.id, w);
        out.line(`Recording what ${peer.name} says to ${w.file}`, { event: 'call-recording', peer: peer.id, name: peer.name, file: w.file });
      }
      w.write(frame.data);
    });
    // Who is in the call, when that changes (not who speaks): a member it never hears is visible.
    let inCall = '';
    this.call.on('members', (members) => {
      const names = members.map((m) => m.peer.name).sort();
      // Members with no link to this peer are heard through another (relay.ts): say through whom.
      const via = Object.fromEntries(members.filter((m) => m.via).map((m) => [m.peer.name, m.via!.name]));
      const said = JSON.stringify([names, via]);
      if (said === inCall) return;
      inCall = said;
      const shown = names.map((n) => (via[n] ? `${n} (through ${via[n]})` : n));
      out.line(`In the call besides this peer: ${shown.length ? shown.join(', ') : 'nobody'}`, { event: 'call-members', names, via });
    });
    out.line(`In the call as a listener, recording to ${file}`, { event: 'call-joined', file });
  }

  private closed = false;

  /** Ends the recording once (a Ctrl+C and a failed start can both ask). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.call.close();
    for (const w of this.writers.values()) w.close();
    if (this.writers.size) this.out.line(`Recorded ${[...this.writers.values()].map((w) => `${w.packets * 20 / 1000} s to ${w.file}`).join(', ')}`, { event: 'call-recorded', files: [...this.writers.values()].map((w) => ({ file: w.file, seconds: (w.packets * 20) / 1000 })) });
  }

  private fileFor(name: string): string {
    if (!this.writers.size) return this.file;
    const ext = path.extname(this.file) || '.ogg';
    const safe = name.replace(/[^\p{L}\p{N}_-]+/gu, '-').slice(0, 32) || 'member';
    let candidate = `${this.file.slice(0, this.file.length - path.extname(this.file).length)}.${safe}${ext}`;
    for (let i = 2; [...this.writers.values()].some((w) => w.file === candidate); i++) candidate = candidate.replace(new RegExp(`(\\.${safe})(-\\d+)?${ext.replace('.', '\\.')}$`), `$1-${i}${ext}`);
    return candidate;
  }
}
