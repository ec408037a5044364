/**
 * What the editor test suite reads from a running extension (through the extension's exports):
 * state, the session code, peers. Read-only; it changes nothing.
 */
import type { PeerInfo } from '../session/transport';
import type { SessionController, SessionState } from './controller';

export interface TestApi {
  state(): SessionState;
  sessionCode(): string | undefined;
  peers(): PeerInfo[];
  sessionRoot(): string | undefined;
  /** Collaborators' cursors drawn in a file (offsets, names, colours). */
  cursorsIn(relPath: string): unknown[];
  /** The Participants view's rows. */
  participants(): unknown[];
  /** The client id being followed, if any. */
  following(): number | null;
  /** Whether this editor is a read-only guest of its session. */
  readOnly(): boolean;
}

export function createTestApi(controller: SessionController): TestApi {
  return {
    state: () => controller.state,
    sessionCode: () => controller.code,
    peers: () => controller.peers().map((p) => ({ id: p.id, name: p.name, colour: p.colour, readOnly: !!p.readOnly })),
    sessionRoot: () => controller.session?.root,
    cursorsIn: (rel) => controller.session?.presence.cursorsIn(rel) ?? [],
    participants: () => controller.session?.participants.participants() ?? [],
    following: () => controller.session?.participants.followed ?? null,
    readOnly: () => controller.session?.peer.session.readOnly ?? false,
  };
}
