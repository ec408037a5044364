/**
 * The headless peer's behaviour, separate from process wiring so that it can be tested: start the
 * peer, report what happens (text or JSON lines), stop cleanly when asked.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { createStreamLogger } from '../session/log';
import type { PeerInfo } from '../session/transport';
import { startPeer, type RunningPeer } from '../sync/peer';
import { formatSize } from '../sync/scan';
import type { CliCommand } from './args';

export interface Output {
  line(text: string, event: Record<string, unknown>): void;
}

export function createOutput(json: boolean, write: (s: string) => void = (s) => process.stdout.write(s)): Output {
  return {
    line: (text, event) => write((json ? JSON.stringify(event) : text) + '\n'),
  };
}

export async function runPeer(cmd: CliCommand, out: Output, signal: AbortSignal): Promise<RunningPeer> {
  const logger = createStreamLogger(cmd.logLevel);
  const dir = path.resolve(cmd.dir);
  const name = cmd.name ?? safeUser();
  if (cmd.command === 'join') out.line(`Joining into ${dir}…`, { event: 'joining', dir });
  let lastReport = 0;
  const peer = await startPeer({
    mode: cmd.command === 'share' ? 'share' : 'join',
    dir,
    code: cmd.code,
    name,
    network: cmd.network,
    excludes: cmd.excludes,
    maxFileSize: cmd.maxFileSize,
    force: cmd.force,
    logger,
    signal,
    onWaiting: (message) => out.line(message, { event: 'waiting', message }),
    onProgress: (p) => {
      const now = Date.now();
      if (p.files !== p.totalFiles && now - lastReport < 250) return;
      lastReport = now;
      out.line(`Receiving files: ${p.files}/${p.totalFiles}, ${formatSize(p.bytes)} of ${formatSize(p.totalBytes)}`, { event: 'progress', ...p });
    },
  });
  const s = peer.session;
  s.on('peer-join', (p: PeerInfo) => out.line(`+ ${p.name} joined`, { event: 'peer-join', id: p.id, name: p.name }));
  s.on('peer-leave', (p: PeerInfo, reason: string) => out.line(`- ${p.name} left (${reason})`, { event: 'peer-leave', id: p.id, name: p.name, reason }));
  s.on('peer-rejected', (id: string, reason: string) => out.line(`! refused a peer: ${reason}`, { event: 'peer-rejected', id, reason }));
  s.on('protocol-mismatch', (version: number, message: string) => out.line(`! ${message}`, { event: 'protocol-mismatch', version, message }));
  peer.workspace.on('notice', (message) => out.line(`! ${message}`, { event: 'notice', message }));

  if (cmd.command === 'share') {
    const r = peer.report!;
    out.line(`Sharing ${dir}: ${r.files.length} files, ${formatSize(r.totalBytes)}`, { event: 'sharing', dir, files: r.files.length, bytes: r.totalBytes });
    for (const s2 of r.skipped) out.line(`  left out: ${s2.rel} (${s2.reason})`, { event: 'skipped', path: s2.rel, reason: s2.reason });
    if (r.excluded.length > 0) {
      const some = r.excluded.slice(0, 5).join(', ') + (r.excluded.length > 5 ? ', …' : '');
      out.line(`  not shared, as .gitignore and the exclude list say: ${some}`, { event: 'excluded', paths: r.excluded });
    }
    out.line(`Session code: ${peer.code}`, { event: 'code', code: peer.code });
    out.line(`Invite link: vscode://hyperpair.hyperpair/join?code=${encodeURIComponent(peer.code)}`, {
      event: 'invite',
      link: `vscode://hyperpair.hyperpair/join?code=${encodeURIComponent(peer.code)}`,
    });
  } else {
    out.line(`Joined: ${peer.workspace.files().length} files in ${dir}`, { event: 'joined', dir, files: peer.workspace.files().length });
  }
  out.line('Keeping the folder in sync; Ctrl+C to stop.', { event: 'ready' });
  return peer;
}

function safeUser(): string {
  try {
    return os.userInfo().username || 'headless';
  } catch {
    return 'headless';
  }
}
