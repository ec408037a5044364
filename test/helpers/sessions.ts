/**
 * Sessions on one loopback testnet per test file, with everything a test opens closed after its
 * tests, newest first:
 *
 *   const t = useSessions();
 *   const a = t.session(code, 'Ada');
 *   t.closeLater(() => something.close());
 */
import { before, after } from 'node:test';
import { Session, type SessionOptions } from '../../src/session/session';
import { createTestNetwork, type TestNetwork } from './testnet';

export interface TestSessions {
  session(code: string, name: string, extra?: Partial<SessionOptions>): Session;
  closeLater(close: () => unknown): void;
}

export function useSessions(): TestSessions {
  let net: TestNetwork | undefined;
  const closers: Array<() => unknown> = [];
  before(async () => {
    net = await createTestNetwork();
  });
  after(async () => {
    for (const close of closers.reverse()) await close();
    await net?.destroy();
  });
  return {
    session(code, name, extra = {}) {
      if (!net) throw new Error('useSessions(): session() is for use inside tests');
      const s = new Session({ code, name, network: net.network, lan: false, ...extra });
      closers.push(() => s.leave());
      void s.ready().catch(() => {});
      return s;
    },
    closeLater: (close) => void closers.push(close),
  };
}
