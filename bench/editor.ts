/**
 * Item 5 of the benchmarks (`npm run bench -- --editor`): a key pressed in editor A until the
 * character is in editor B's document, through two real VS Code instances (code-server + Chromium,
 * the two-editor test fixture) on a loopback testnet. Opt-in: it needs the editor setup
 * (scripts/setup-editor.sh) and takes a minute or two.
 *
 * Clocks: the time a key is sent is taken here just before Playwright dispatches it; the time it
 * arrives is taken in B's extension host when VS Code reports the change to B's document (the test
 * agent's recordChanges). Both are performance.timeOrigin + performance.now(), wall-clock based, so
 * they compare across processes of one machine. The figure therefore includes the browser delivering
 * the key to A's workbench, A's extension host, Hyperpair on both sides, and B's workbench applying the
 * edit and telling B's extension host.
 */
import { performance } from 'node:perf_hooks';
import type { ActivationTime } from '../src/editor/test-api';
import { startPair, until } from '../test/editor/fixture';

export interface KeystrokeResult {
  keys: number;
  intervalMs: number;
  /** Key sent → character in B's document. */
  latencies: number[];
  /** Key sent → character in A's document (A's extension host hears of it): the editor's own share. */
  local: number[];
  /** Key sent → the change in B's shared text (Hyperpair on both sides and the network, before B's editor). */
  shared: number[];
  lost: number;
  /** Each editor's activation time as its extension host measured it (code loading + activate()). */
  activation: ActivationTime[];
}

type Change = { t: number; text: string; rangeLength: number };

/** The time each inserted character arrived, in order (one typist at the end of one line). */
function arrivals(log: Change[]): number[] {
  const out: number[] = [];
  for (const c of log) for (let k = 0; k < c.text.length; k++) out.push(c.t);
  return out;
}

/** One key every `intervalMs` (100 ms: a fast typist, 120 words a minute), each matched to its arrival. */
export async function keystrokeLatency(keys = 200, intervalMs = 100): Promise<KeystrokeResult> {
  const pair = await startPair({ 'typing.txt': 'typed here:\n' });
  try {
    const { a, b } = pair;
    await until(() => a.agent<boolean>('extensionActive'), 'A active', 120_000);
    await until(() => b.agent<boolean>('extensionActive'), 'B active', 120_000);
    const activation = [await a.testApi<ActivationTime>('activationTime'), await b.testApi<ActivationTime>('activationTime')];
    await a.command('hyperpair.startSession');
    const code = await a.testApi<string>('sessionCode');
    await b.command('hyperpair.joinSession', { code });
    await until(async () => (await b.testApi<string>('state')) === 'connected', 'B connected', 120_000);
    await until(async () => (await b.agent<string[]>('files')).includes('typing.txt'), 'B has the file', 60_000);
    await a.agent('openFile', 'typing.txt');
    await b.agent('openFile', 'typing.txt');
    await a.caretAt(1, 0);
    // Warm up both sides (first edits load code paths and the binding), then measure.
    await a.type('warm up ');
    await until(async () => (await b.text('typing.txt')).includes('warm up '), 'the warm-up to arrive', 30_000);

    await a.agent('recordChanges', 'typing.txt');
    await b.agent('recordChanges', 'typing.txt');
    await b.testApi('noteRemoteTextChanges', 'typing.txt');
    // Letters and spaces only: nothing an editor would complete or auto-close.
    const alphabet = 'abcdefghijklmnopqrstuvwxyz ';
    const sent: number[] = [];
    for (let i = 0; i < keys; i++) {
      const key = alphabet[i % alphabet.length];
      sent.push(performance.timeOrigin + performance.now());
      await a.page.keyboard.press(key === ' ' ? 'Space' : key);
      const next = sent[i] + intervalMs - (performance.timeOrigin + performance.now());
      if (next > 0) await new Promise((r) => setTimeout(r, next));
    }
    const expected = 'warm up ' + Array.from({ length: keys }, (_, i) => alphabet[i % alphabet.length]).join('');
    await until(async () => (await b.text('typing.txt')).includes(expected), 'every key to arrive in B', 60_000).catch(() => undefined);
    const inA = arrivals(await a.agent<Change[]>('recordedChanges'));
    const inB = arrivals(await b.agent<Change[]>('recordedChanges'));
    // One remote change per key when keys are paced apart; if some arrived together, fewer are noted.
    const inShared = await b.testApi<number[]>('remoteTextChanges');
    const shared = inShared.length === keys ? sent.map((t, i) => inShared[i] - t) : [];
    const latencies = sent.slice(0, inB.length).map((t, i) => inB[i] - t);
    const local = sent.slice(0, inA.length).map((t, i) => inA[i] - t);
    return { keys, intervalMs, latencies, local, shared, lost: keys - Math.min(keys, inB.length), activation };
  } finally {
    await pair.stop();
  }
}
