/** Ada and Bob in one session on the test network, each with the session's call, both in it. */
import { createSessionCode } from '../../src/session';
import type { Session } from '../../src/session/session';
import { SessionCall } from '../../src/session/voice/call';
import type { TestSessions } from './sessions';
import { waitFor } from './testnet';

export interface CallPair {
  a: Session;
  b: Session;
  ca: SessionCall;
  cb: SessionCall;
}

/** With `joinA`/`joinB` false that one stays out of the call. */
export async function callPair(env: TestSessions, { joinA = true, joinB = true } = {}): Promise<CallPair> {
  const code = createSessionCode();
  const a = env.session(code, 'Ada');
  const b = env.session(code, 'Bob');
  const ca = new SessionCall(a);
  const cb = new SessionCall(b);
  env.closeLater(() => ca.close());
  env.closeLater(() => cb.close());
  await waitFor(() => a.peers().length === 1 && b.peers().length === 1, 'Ada and Bob to meet');
  if (joinA) ca.join();
  if (joinB) cb.join();
  await waitFor(() => ca.members().length === (joinB ? 1 : 0) && cb.members().length === (joinA ? 1 : 0), 'Ada and Bob to see who is in the call');
  return { a, b, ca, cb };
}
