/**
 * Shared terminals over real hyperswarm on a loopback testnet, with a real shell in a real
 * pseudo-terminal: output and colours reach a guest, resize is what the shell sees, Ctrl+C interrupts,
 * a guest types only once allowed and not after, a read-only guest never, a member arriving later gets
 * the recent output, and stopping or leaving closes the terminal for everyone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSessionCode, type Session } from '../../src/session';
import type { Logger } from '../../src/session/log';
import { SharedTerminals, splitInput, type TerminalState } from '../../src/session/terminal';
import { MAX_INPUT_CHUNK, inputEncoding, terminalsEncoding } from '../../src/session/terminal-wire';
import { OutputRing } from '../../src/session/terminal-ring';
import c from 'compact-encoding';
import { waitFor } from '../helpers/testnet';
import { useSessions } from '../helpers/sessions';
import { PLAIN_SHELL, testPty } from '../helpers/pty';

const env = useSessions();
const pty = testPty();

function terminals(s: Session, logger?: Logger): SharedTerminals {
  const t = new SharedTerminals(s, { pty, logger });
  env.closeLater(() => t.close());
  return t;
}

function warnings(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const none = () => {};
  return { lines, logger: { trace: none, debug: none, info: none, warn: (m: string) => void lines.push(m), error: none } };
}

const text = (t: SharedTerminals, key: string) => t.replay(key).toString('utf8');

async function sees(t: SharedTerminals, key: string, what: string | RegExp, who: string): Promise<void> {
  await waitFor(() => (typeof what === 'string' ? text(t, key).includes(what) : what.test(text(t, key))), `${who} to see ${what}`, 20_000);
}

async function shared(code: string, guestRole: 'editor' | 'viewer' = 'editor') {
  const log = warnings();
  const host = env.session(code, 'Host', { admission: { policy: 'anyone', guestRole } });
  const th = terminals(host, log.logger);
  const term = th.share({ ...PLAIN_SHELL, cols: 80, rows: 24, title: 'build' });
  return { host, th, term, log };
}

async function joined(code: string, name: string, key: string): Promise<{ s: Session; t: SharedTerminals }> {
  const s = env.session(code, name);
  const t = terminals(s);
  await waitFor(() => t.get(key) !== undefined, `${name} to see the terminal`, 30_000);
  return { s, t };
}

/** Sends input the way a modified peer would: straight onto the wire, past its own checks. */
function forceInput(t: SharedTerminals, ownerId: string, id: number, data: string): void {
  const channels = (t as unknown as { channels: { link(id: string): { input(id: number, b: Uint8Array): void } | undefined } }).channels;
  channels.link(ownerId)!.input(id, Buffer.from(data));
}

test('a guest sees output and colours, the shell sees a resize (the smallest view wins), and Ctrl+C interrupts sleep', async () => {
  const code = createSessionCode();
  const { th, term } = await shared(code);
  const guest = await joined(code, 'Guest', term.key);
  assert.equal(guest.t.get(term.key)!.title, 'build');
  assert.equal(guest.t.get(term.key)!.owner.name, 'Host');

  th.input(term.key, "printf '\\033[31mred-%s\\033[0m\\n' $((40+2))\r");
  await sees(guest.t, term.key, '\x1b[31mred-42\x1b[0m', 'the guest');

  th.resize(term.key, 123, 37);
  await waitFor(() => guest.t.get(term.key)!.cols === 123 && guest.t.get(term.key)!.rows === 37, 'the guest to learn the new size');
  th.input(term.key, 'stty size\r');
  await sees(guest.t, term.key, '37 123', 'the guest');

  // A member's smaller view shrinks the shell (the smallest view wins), never below 20 × 5, and
  // closing it gives the size back.
  guest.t.resize(term.key, 60, 20);
  await waitFor(() => th.get(term.key)!.cols === 60 && th.get(term.key)!.rows === 20, 'the host to take the guest’s smaller view');
  guest.t.resize(term.key, 3, 2);
  await waitFor(() => th.get(term.key)!.cols === 20 && th.get(term.key)!.rows === 5, 'a tiny view to count as 20 × 5');
  th.input(term.key, 'stty size\r');
  await sees(guest.t, term.key, '5 20', 'the guest');
  guest.t.resize(term.key, 0, 0);
  await waitFor(() => th.get(term.key)!.cols === 123 && guest.t.get(term.key)!.cols === 123, 'the size back once the guest’s view closed');

  th.input(term.key, 'echo sleeping-$((2+3)); sleep 30; echo after-$((3*3))\r');
  await sees(guest.t, term.key, 'sleeping-5', 'the guest');
  th.input(term.key, '\x03');
  // The terminal flushes what was typed after Ctrl+C but not yet read: type on once it shows ^C.
  await waitFor(() => /sleeping-5[\s\S]*\^C/.test(text(guest.t, term.key)), 'the guest to see ^C');
  th.input(term.key, 'echo interrupted-$((1+1))\r');
  await sees(guest.t, term.key, 'interrupted-2', 'the guest');
  assert.ok(!text(guest.t, term.key).includes('after-9'), 'the rest of the interrupted line did not run');
});

test('a guest types only while allowed; everyone sees who typed; the grant ends when they leave', async () => {
  const code = createSessionCode();
  const { host, th, term, log } = await shared(code);
  const guest = await joined(code, 'Guest', term.key);
  const guestId = guest.s.self.id;
  const typedOnGuest: string[] = [];
  const typedOnHost: string[] = [];
  guest.t.on('typed', (_k, by) => typedOnGuest.push(by.name));
  th.on('typed', (_k, by) => typedOnHost.push(by.name));

  assert.equal(guest.t.canType(term.key), false);
  assert.throws(() => guest.t.input(term.key, 'echo nope\r'), /Host has not allowed you to type/);
  // A modified peer that sends anyway is ignored by the host.
  forceInput(guest.t, host.self.id, term.id, 'echo sneaky-$((1+2))\r');
  await waitFor(() => log.lines.some((l) => l.includes('without being allowed')), 'the host to refuse the input');

  th.allow(term.key, guestId);
  assert.deepEqual(th.get(term.key)!.writers, [guestId]);
  await waitFor(() => guest.t.canType(term.key), 'the guest to learn it may type');
  guest.t.input(term.key, 'echo guest-$((6*7))\r');
  await sees(th, term.key, 'guest-42', 'the host');
  await sees(guest.t, term.key, 'guest-42', 'the guest');
  await waitFor(() => typedOnHost.includes('Guest') && typedOnGuest.includes('Guest'), 'both to see that the guest typed');
  th.input(term.key, 'echo host-$((7*7))\r');
  await waitFor(() => typedOnGuest.at(-1) === 'Host', 'the guest to see that the host typed');

  assert.equal(th.revoke(term.key, guestId), true);
  await waitFor(() => !guest.t.canType(term.key), 'the guest to learn it may no longer type');
  const refusedBefore = log.lines.length;
  forceInput(guest.t, host.self.id, term.id, 'echo sneaky-$((2+2))\r');
  await waitFor(() => log.lines.length > refusedBefore, 'the host to refuse the input after revoking');
  th.input(term.key, 'echo marker-$((3+4))\r');
  await sees(th, term.key, 'marker-7', 'the host');
  assert.ok(!/sneaky-3|sneaky-4/.test(text(th, term.key)), 'refused input never reached the shell');

  th.allow(term.key, guestId);
  await waitFor(() => guest.t.canType(term.key), 'the guest to be allowed again');
  await guest.s.leave();
  await waitFor(() => th.get(term.key)!.writers.length === 0, 'the grant to end when the guest leaves');
});

test('a read-only guest can never type', async () => {
  const code = createSessionCode();
  const { host, th, term, log } = await shared(code, 'viewer');
  const guest = await joined(code, 'Viewer', term.key);
  await waitFor(() => host.peers().some((p) => p.id === guest.s.self.id && p.readOnly), 'the host to know the guest is read-only');
  assert.throws(() => th.allow(term.key, guest.s.self.id), /read-only in this session/);
  assert.deepEqual(th.get(term.key)!.writers, []);
  forceInput(guest.t, host.self.id, term.id, 'echo viewer-$((8*8))\r');
  await waitFor(() => log.lines.some((l) => l.includes('without being allowed')), 'the host to refuse the input');
  th.input(term.key, 'echo marker-$((9*9))\r');
  await sees(th, term.key, 'marker-81', 'the host');
  assert.ok(!text(th, term.key).includes('viewer-64'));
});

test('a member arriving later gets the recent output; stopping and the host leaving close it for everyone', async () => {
  const code = createSessionCode();
  const { host, th, term } = await shared(code);
  th.input(term.key, 'echo early-$((5*5))\r');
  await sees(th, term.key, 'early-25', 'the host');
  const late = await joined(code, 'Late', term.key);
  await sees(late.t, term.key, 'early-25', 'the late member');

  const closed: Array<[string, string]> = [];
  late.t.on('closed', (key, reason) => closed.push([key, reason]));
  assert.equal(th.stop(term.key), true);
  await waitFor(() => closed.length === 1, 'the late member to see the terminal closed');
  assert.deepEqual(closed[0], [term.key, 'Host: stopped sharing']);
  assert.equal(late.t.get(term.key), undefined);

  // A shell that exits: its last output arrives, then the reason.
  const exiting = th.share({ ...PLAIN_SHELL, title: 'exiting' });
  await waitFor(() => late.t.get(exiting.key) !== undefined, 'the member to see the exiting terminal');
  let lastWords = '';
  let heard = '';
  late.t.on('output', (key, bytes) => key === exiting.key && (heard += bytes.toString()));
  late.t.on('closed', (key) => key === exiting.key && (lastWords = heard));
  th.input(exiting.key, 'echo bye-$((1+1)); exit 3\r');
  await waitFor(() => closed.length === 2, 'the member to see the shell exit');
  assert.deepEqual(closed[1], [exiting.key, 'Host: the shell exited with code 3']);
  assert.ok(lastWords.includes('bye-2'), 'the last output arrived before the end');

  const second: TerminalState = th.share({ ...PLAIN_SHELL, title: 'second' });
  await waitFor(() => late.t.get(second.key) !== undefined, 'the member to see the second terminal');
  await host.leave();
  await waitFor(() => closed.length === 3, 'the member to see it closed when the host leaves');
  assert.equal(closed[2][0], second.key);
  assert.match(closed[2][1], /Host/);
  assert.deepEqual(late.t.terminals(), []);
});

test('the wire refuses oversized input and too many writers; the ring keeps the newest output', () => {
  const big = c.encode(inputEncoding, { id: 1, bytes: Buffer.alloc(MAX_INPUT_CHUNK + 1) });
  assert.throws(() => c.decode(inputEncoding, big), /terminal chunk/);
  const writers = Array.from({ length: 65 }, (_, i) => i.toString(16).padStart(64, '0'));
  const list = c.encode(terminalsEncoding, [{ id: 1, title: 'x', cols: 80, rows: 24, writers }]);
  assert.throws(() => c.decode(terminalsEncoding, list), /writers/);
  const odd = c.encode(terminalsEncoding, [{ id: 1, title: '\x1b]0;evil\x07 $(zap)', cols: 80, rows: 24, writers: [] }]);
  assert.equal(c.decode(terminalsEncoding, odd)[0].title, ']0;evil $ (zap)');

  const ring = new OutputRing(100);
  ring.push(Buffer.from('a'.repeat(60) + '\n'));
  ring.push(Buffer.from('b'.repeat(60) + '\n'));
  assert.equal(ring.bytes, 100);
  assert.equal(ring.contents().toString(), 'b'.repeat(60) + '\n', 'replay starts at a line boundary');

  const pieces = splitInput('x'.repeat(2000) + '😀'.repeat(1000));
  assert.equal(pieces.join(''), 'x'.repeat(2000) + '😀'.repeat(1000));
  for (const p of pieces) assert.ok(Buffer.byteLength(p) <= MAX_INPUT_CHUNK && !/^[\udc00-\udfff]/.test(p));
});
