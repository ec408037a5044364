/**
 * Which TCP ports are listening on this machine, for "Share Server…" to offer. No vscode import, so
 * that it runs (and is tested) in plain Node.
 */
import * as fs from 'node:fs/promises';

const LISTEN = '0A';

/**
 * TCP ports listening on this machine on an address a local client can reach (loopback or any),
 * from /proc/net/tcp and tcp6 (Linux). Empty elsewhere: the person types the port instead.
 */
export async function listeningPorts(): Promise<number[]> {
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== LISTEN) continue;
      const [addr, portHex] = cols[1].split(':');
      if (!portHex || !reachableLocally(addr)) continue;
      ports.add(parseInt(portHex, 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** Any address (0.0.0.0, ::) or loopback (127.x, ::1, ::ffff:127.x), in /proc's little-endian hex. */
function reachableLocally(hex: string): boolean {
  if (/^0+$/.test(hex)) return true;
  if (hex.length === 8) return hex.endsWith('7F');
  return hex === '00000000000000000000000001000000' || /^0000000000000000FFFF0000[0-9A-F]{6}7F$/.test(hex);
}
