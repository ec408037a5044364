/**
 * Hyperpair's settings (`hyperpair.*`), read in one place and turned into plain values for the core.
 */
import * as os from 'node:os';
import { execFile } from 'node:child_process';
import * as vscode from 'vscode';
import type { PeerNotificationMode } from './notices';
import { parseColour } from '../session/format';

export interface HyperpairConfig {
  displayName: string;
  colour: string | undefined;
  /** Comma-separated `host:port` list; empty = the public DHT. */
  bootstrap: string;
  bindHost: string | undefined;
  exclude: string[];
  maxFileSizeMB: number;
  admission: 'anyone' | 'ask';
  /** Whether people who join a session you start may edit. */
  guests: 'edit' | 'read-only';
  joinFolder: string;
  /** Find peers on the local network (multicast DNS) beside the DHT. */
  lanDiscovery: boolean;
  /** Blind relay keys (64 hex characters each), checked when a session starts. */
  relays: string[];
  /** Whether people joining and leaving pop up as notifications (see notices.ts). */
  peerNotifications: PeerNotificationMode;
}

export function readConfig(): HyperpairConfig {
  const c = vscode.workspace.getConfiguration('hyperpair');
  const colour = c.get<string>('colour', '').trim();
  return {
    displayName: c.get<string>('displayName', '').trim(),
    colour: parseColour(colour),
    bootstrap: c.get<string>('bootstrap', '').trim(),
    bindHost: c.get<string>('bindHost', '').trim() || undefined,
    exclude: c.get<string[]>('exclude', []),
    maxFileSizeMB: c.get<number>('maxFileSizeMB', 50),
    admission: c.get<'anyone' | 'ask'>('admission', 'anyone'),
    guests: c.get<'edit' | 'read-only'>('guests', 'edit'),
    joinFolder: c.get<string>('joinFolder', '').trim() || defaultJoinFolder(),
    lanDiscovery: c.get<boolean>('lanDiscovery', true) !== false,
    relays: c.get<string[]>('relays', []).map((k) => String(k).trim()).filter(Boolean),
    peerNotifications: c.get<PeerNotificationMode>('peerNotifications', 'first-few'),
  };
}

export function defaultJoinFolder(): string {
  return `${os.homedir()}/Hyperpair`;
}

/** The setting, else git's user.name, else the OS user. */
export async function resolveDisplayName(config: HyperpairConfig): Promise<string> {
  if (config.displayName) return config.displayName;
  const fromGit = await new Promise<string>((resolve) => {
    execFile('git', ['config', '--get', 'user.name'], { timeout: 2000 }, (err, stdout) => resolve(err ? '' : stdout.trim()));
  });
  if (fromGit) return fromGit;
  try {
    return os.userInfo().username || 'Anonymous';
  } catch {
    return 'Anonymous';
  }
}
