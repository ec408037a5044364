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
}

export function createTestApi(controller: SessionController): TestApi {
  return {
    state: () => controller.state,
    sessionCode: () => controller.code,
    peers: () => controller.peers().map((p) => ({ id: p.id, name: p.name, colour: p.colour })),
    sessionRoot: () => controller.session?.root,
  };
}
