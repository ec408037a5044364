/**
 * The headless peer's behaviour, separate from process wiring so that it can be tested: start the
 * peer, report what happens (text or JSON lines), stop cleanly when asked.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { describeDeparture } from '../session/departure';
import { describePath } from '../session/diagnose';
import { inviteLink } from '../session/format';
import { createStreamLogger } from '../session/log';
import { RelayNode, loadRelayKeyPair } from '../session/relay';
import { escapeUntrusted } from '../session/untrusted';
import type { RefusalSummary } from '../session/refusals';
import type { PeerStats } from '../session/session';
import type { PeerInfo } from '../session/transport';
import { caseCollisionWarning, caseCollisions } from '../sync/case-collisions';
import { startPeer, type RunningPeer } from '../app/peer';
import { formatSize } from '../sync/scan';
import { summarizeFailures } from '../sync/write-failures';
import { AdmissionPrompt } from './admission';
import { CallRecorder } from './call-recorder';
import { CliCollaboration } from './collaboration';
import { MassDeletePrompt } from './mass-delete';
import { CliTerminals } from './terminals';
import type { CliCommand } from './args';

export interface Output {
  line(text: string, event: Record<string, unknown>): void;
}

/**
 * Text lines carry file names, peer names and reasons from elsewhere: each line is escaped whole, so
 * nothing in it can move the cursor, recolour the terminal or forge another line.
 */
export function createOutput(json: boolean, write: (s: string) => void = (s) => process.stdout.write(s)): Output {
  return {
    line: (text, event) => write((json ? JSON.stringify(event) : escapeUntrusted(text)) + '\n'),
  };
}

export async function runPeer(cmd: CliCommand, out: Output, signal: AbortSignal, input: Readable = process.stdin, onFolderTaken: () => void = () => undefined): Promise<RunningPeer> {
  const logger = createStreamLogger(cmd.logLevel);
  const dir = path.resolve(cmd.dir);
  const name = cmd.name ?? safeUser();
  if (cmd.command === 'join') out.line(`Joining into ${dir}…`, { event: 'joining', dir });
  let lastReport = 0;
  // The call from the start: a member joining while others talk must not wait for the files first.
  let recorder: CallRecorder | undefined;
  const peer = await startPeer({
    mode: cmd.command === 'share' ? 'share' : 'join',
    dir,
    code: cmd.code,
    name,
    colour: cmd.colour,
    network: cmd.network,
    lan: cmd.lan,
    relays: cmd.relays,
    excludes: cmd.excludes,
    admission: cmd.command === 'share' ? { policy: cmd.admission, guestRole: cmd.guests === 'read-only' ? 'viewer' : 'editor' } : undefined,
    maxFileSize: cmd.maxFileSize,
    force: cmd.force,
    logger,
    signal,
    onWaiting: (message) => out.line(message, { event: 'waiting', message }),
    onFolderTaken: (message) => {
      out.line(`! ${message}`, { event: 'folder-taken', message });
      onFolderTaken();
    },
    // From the start: a join into a folder with files tells which of them it kept as conflict copies
    // before startPeer resolves (those lines were lost when listened to after it).
    onWorkspace: (workspace) => {
      workspace.on('notice', (message) => out.line(`! ${message}`, { event: 'notice', message }));
      workspace.on('unavailable', (e) =>
        out.line(`! nobody in the session could send ${JSON.stringify(e.path)}; it is written when someone who has it joins`, { event: 'unavailable', path: e.path }),
      );
    },
    onSession: (session) => {
      // Removed by the owner: told why, from the start (a joiner removed while its files still arrived
      // was not: its listener came after them; the two-editor delegation test on a busy machine). The
      // session goes on without this peer (it ends with Ctrl+C).
      session.on('removed', (reason: string) => out.line(`! ${reason}`, { event: 'removed', reason }));
      if (!cmd.recordCall) return;
      const rec = new CallRecorder(session, path.resolve(cmd.recordCall), out, logger);
      recorder = rec;
      // From now on, not once the folder is shared: a Ctrl+C meanwhile must still end the recording.
      signal.addEventListener('abort', () => rec.close(), { once: true });
    },
    // The code as soon as peers can join; the folder is read meanwhile (they receive it as it is).
    onSessionOpen: (code) => {
      out.line(`Session code: ${code}`, { event: 'code', code });
      const link = inviteLink(code);
      out.line(`Invite link: ${link}`, { event: 'invite', link });
      out.line(`Reading ${dir}; people can join meanwhile.`, { event: 'scanning', dir });
    },
    onProgress: (p) => {
      const now = Date.now();
      if (p.files !== p.totalFiles && now - lastReport < 250) return;
      lastReport = now;
      out.line(`Receiving files: ${p.files}/${p.totalFiles}, ${formatSize(p.bytes)} of ${formatSize(p.totalBytes)}`, { event: 'progress', ...p });
    },
  }).catch((err: unknown) => {
    recorder?.close();
    throw err;
  });
  const s = peer.session;
  // A member's path and round trip: at join, again once the first round trip is measured, and
  // whenever the path changes (a relayed connection that later holepunches becomes direct).
  const shown = new Map<string, string>();
  const pathLine = (p: PeerInfo, st: PeerStats | undefined) => {
    if (!st) return;
    const key = `${st.path}/${st.rttMs === undefined ? '' : 'rtt'}`;
    if (shown.get(p.id) === key) return;
    const first = !shown.has(p.id);
    shown.set(p.id, key);
    if (first) return;
    out.line(`~ ${p.name}: ${describePath(st.path)}${st.rttMs === undefined ? '' : `, ${st.rttMs} ms`}`, { event: 'peer-path', id: p.id, name: p.name, path: st.path, rttMs: st.rttMs ?? null });
  };
  const joined = (p: PeerInfo) => {
    const st = s.peerStats(p.id);
    out.line(`+ ${p.name} joined (${st ? describePath(st.path) : 'unknown path'})`, { event: 'peer-join', id: p.id, name: p.name, path: st?.path ?? null });
    pathLine(p, st);
  };
  // A joiner met its first peers while starting: they get their lines too.
  for (const p of s.peers()) joined(p);
  s.on('peer-join', joined);
  s.on('peer-stats', (p: PeerInfo, st: PeerStats) => pathLine(p, st));
  s.on('connect-problem', (message: string) => out.line(`! ${message}`, { event: 'connect-problem', message }));
  s.on('peer-leave', (p: PeerInfo, reason: string) => {
    shown.delete(p.id);
    out.line(`- ${describeDeparture(p.name, reason, false)}`, { event: 'peer-leave', id: p.id, name: p.name, reason });
  });
  // Rate-limited by the session: a flood of strangers is one line a minute, not one line each.
  s.on('peers-refused', ({ message, count }: RefusalSummary) => out.line(`! ${message}`, { event: 'peers-refused', count, message }));
  s.on('protocol-mismatch', (version: number, message: string) => out.line(`! ${message}`, { event: 'protocol-mismatch', version, message }));
  const massDelete = new MassDeletePrompt(peer.mirror, out, input);
  signal.addEventListener('abort', () => massDelete.close(), { once: true });
  peer.mirror.on('write-failed', (f) =>
    out.line(`! could not write ${JSON.stringify(f.path)}: ${f.why}; retrying`, { event: 'write-failed', path: f.path, code: f.code, why: f.why }),
  );
  peer.mirror.on('write-recovered', (rel) => {
    const left = peer.mirror.writeFailures().length;
    out.line(`Wrote ${JSON.stringify(rel)}` + (left ? ` (${left} still failing)` : '; every file is written now'), { event: 'write-recovered', path: rel, failing: left });
  });

  if (cmd.command === 'share') {
    const r = peer.report!;
    out.line(`Sharing ${dir}: ${r.files.length} files, ${formatSize(r.totalBytes)}`, { event: 'sharing', dir, files: r.files.length, bytes: r.totalBytes });
    if (r.links.length + r.folders.length > 0) {
      out.line(`  also shared: ${r.links.length} symbolic links inside the workspace, ${r.folders.length} empty folders`, { event: 'tree', links: r.links.length, folders: r.folders.length });
    }
    for (const s2 of r.skipped) out.line(`  left out: ${s2.rel} (${s2.reason})`, { event: 'skipped', path: s2.rel, reason: s2.reason });
    if (r.excluded.length > 0) {
      const some = r.excluded.slice(0, 5).join(', ') + (r.excluded.length > 5 ? ', …' : '');
      out.line(`  not shared, as .gitignore and the exclude list say: ${some}`, { event: 'excluded', paths: r.excluded });
    }
    await warnCaseCollisions(out, r.files.map((f) => f.rel));
    if (cmd.admission === 'ask') {
      out.line('You are asked before anyone joins (answers are read from standard input).', { event: 'admission', policy: cmd.admission, guests: cmd.guests });
      const prompt = new AdmissionPrompt(s, out, input);
      signal.addEventListener('abort', () => prompt.close(), { once: true });
    } else if (cmd.guests === 'read-only') {
      out.line('People who join are read-only guests.', { event: 'admission', policy: cmd.admission, guests: cmd.guests });
    }
  } else {
    const readOnly = s.readOnly;
    const total = peer.workspace.files().length;
    // Failures now, not at the end of the first copy: the retries may have fixed some meanwhile.
    const failed = peer.mirror.writeFailures();
    // Held (most of the folder deleted while out of the session): nothing was written, the line above asks.
    const halted = peer.mirror.halted !== undefined;
    const count = halted
      ? `${total} files in the session; nothing is written into ${dir} until you answer the line above`
      : failed.length === 0
        ? `${total} files in ${dir}`
        : `${total - failed.length} of ${total} files in ${dir}; ${summarizeFailures(failed)} (retrying every few seconds)`;
    out.line(`Joined: ${count}` + (readOnly ? ' (read-only: your changes are not shared)' : ''), {
      event: 'joined',
      dir,
      files: total,
      written: total - failed.length,
      complete: failed.length === 0 && !halted,
      halted,
      failed: failed.map((f) => ({ path: f.path, code: f.code, why: f.why })),
      readOnly,
    });
    await warnCaseCollisions(out, peer.workspace.files().map((f) => f.path));
  }
  const collaboration = new CliCollaboration(s, cmd.ports, out, input, logger);
  signal.addEventListener('abort', () => collaboration.close(), { once: true });
  const terminals = new CliTerminals(s, out, input, logger, cmd.json, cmd.terminal);
  signal.addEventListener('abort', () => terminals.close(), { once: true });
  out.line('Keeping the folder in sync; Ctrl+C to stop.', { event: 'ready' });
  return peer;
}

/** `hyperpair relay`: a blind relay on the DHT until stopped; prints its key. */
export async function runRelay(cmd: CliCommand, out: Output): Promise<RelayNode> {
  const logger = createStreamLogger(cmd.logLevel);
  const keyPair = cmd.keyFile ? await loadRelayKeyPair(path.resolve(cmd.keyFile)) : undefined;
  const relay = new RelayNode({ network: cmd.network, keyPair, logger });
  await relay.ready();
  const key = relay.publicKey.toString('hex');
  out.line(`Relay key: ${key}`, { event: 'relay', key });
  out.line(
    'Peers add this key to the hyperpair.relays setting (VS Code) or pass --relay <key> (headless peer); the relay forwards encrypted bytes it cannot read.' +
      (cmd.keyFile ? '' : ' Pass --key-file <path> to keep this key across restarts.'),
    { event: 'ready', keyFile: cmd.keyFile ?? null },
  );
  return relay;
}

async function warnCaseCollisions(out: Output, paths: string[]): Promise<void> {
  for (const group of await caseCollisions(paths)) {
    const message = caseCollisionWarning(group);
    out.line(`! ${message}`, { event: 'case-collision', paths: group, message });
  }
}

function safeUser(): string {
  try {
    return os.userInfo().username || 'headless';
  } catch {
    return 'headless';
  }
}
