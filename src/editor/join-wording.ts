/**
 * Two small decisions of joining, kept free of `vscode` so that plain Node tests them: which folder
 * a new join goes to (an empty one a cancelled join left behind is reused, so that attempts leave no
 * `session-…-2`, `-3`, … litter), and the words that say whose session was joined.
 */
import * as path from 'node:path';
import type { PeerInfo } from '../session/transport';
import { isEmptyOrMissingDirSync } from '../sync/fsutil';

/** `base/session-<date>`, or the first numbered one that does not exist or is empty. */
export function uniqueFolder(base: string, now = new Date()): string {
  const stamp = now.toISOString().slice(0, 10);
  for (let i = 1; ; i++) {
    const candidate = path.join(base, `session-${stamp}${i > 1 ? `-${i}` : ''}`);
    if (isEmptyOrMissingDirSync(candidate)) return candidate;
  }
}

interface JoinedSession {
  peers(): PeerInfo[];
  readonly session?: { access: { readonly ownerId: string | undefined } } | undefined;
}

/** "joined Alice's session (with Bob and Carol)." — whose session, and who else is there. */
export function joinedText(joined: JoinedSession): string {
  const peers = joined.peers();
  const ownerId = joined.session?.access.ownerId;
  const owner = peers.find((p) => p.id === ownerId);
  const others = peers.filter((p) => p !== owner).map((p) => p.name);
  const whose = owner ? `${owner.name}'s session` : 'the session';
  const also = others.length ? ` (with ${listNames(others)})` : '';
  return owner || others.length ? `you joined ${whose}${also}.` : `you joined the session; nobody else is connected yet.`;
}

function listNames(names: string[]): string {
  return names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}
