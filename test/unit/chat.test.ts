/**
 * Session chat over real hyperswarm on a loopback testnet: a late joiner gets the history (bounded,
 * also what a member who has left wrote), hostile text arrives as harmless plain text and cannot
 * pass as someone else's live message, and mentions and file references are recognised.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSessionCode, type Session } from '../../src/session';
import { SessionChat, CHAT_PROTOCOL, CHAT_VERSION, historyEncoding, sayEncoding, type WireEntry, type WireSay } from '../../src/session/chat';
import { chatSpans, mentions } from '../../src/session/chat-text';
import { MemberChannels, type MemberLink } from '../../src/session/member-channels';
import type Protomux from 'protomux';
import { waitFor } from '../helpers/testnet';
import { useSessions } from '../helpers/sessions';

const env = useSessions();
const session = env.session;

function chat(s: Session, limit?: number): SessionChat {
  const ch = new SessionChat(s, { limit });
  env.closeLater(() => ch.close());
  return ch;
}

const texts = (ch: SessionChat) => ch.history().map((m) => `${m.name}: ${m.text}`);

test('a late joiner gets the bounded history, also of a member who has left', async () => {
  const code = createSessionCode();
  const a = session(code, 'Ada');
  const b = session(code, 'Bob');
  const ca = chat(a, 5);
  const cb = chat(b, 5);
  await waitFor(() => a.peers().length === 1 && b.peers().length === 1, 'Ada and Bob to meet');
  const heard: string[] = [];
  cb.on('message', (m) => heard.push(m.text)); // live, or with the history if said before the channel opened
  ca.say('first');
  await waitFor(() => heard.includes('first'), 'Bob to hear Ada');
  cb.say('second, from Bob');
  // Ada's next messages come after Bob's in every copy only once Ada has it (else they race).
  await waitFor(() => ca.history().some((m) => m.text === 'second, from Bob'), 'Ada to hear Bob');
  for (let i = 3; i <= 8; i++) ca.say(`message ${i}`);
  await waitFor(() => cb.history().at(-1)?.text === 'message 8', 'Bob to hear the last');
  assert.deepEqual(texts(cb), texts(ca), 'both keep the same five');
  await b.leave();
  await waitFor(() => a.peers().length === 0, 'Bob to be gone');

  const late = session(code, 'Cy');
  const cc = chat(late, 5);
  await waitFor(() => cc.history().length === 5, 'the late joiner to catch up');
  assert.deepEqual(texts(cc), ['Ada: message 4', 'Ada: message 5', 'Ada: message 6', 'Ada: message 7', 'Ada: message 8']);
  assert.deepEqual(texts(cc), texts(ca), 'the same history as the member it came from');
  assert.ok(cc.history().every((m) => !m.relayed), 'Ada’s own messages, from Ada');
});

interface Probe extends MemberLink {
  say: Protomux.Message<WireSay>;
  history: Protomux.Message<WireEntry[]>;
  ready: boolean;
}

test('hostile text arrives as plain text, and history cannot pass as a live message of someone else', async () => {
  const code = createSessionCode();
  const a = session(code, 'Ada');
  const ca = chat(a);
  const live: Array<{ text: string; name: string; relayed: boolean; mention: boolean }> = [];
  ca.on('message', (m, isLive, mention) => live.push({ text: m.text, name: m.name, relayed: m.relayed, mention }));
  const m = session(code, 'Mallory');
  let probe: Probe | undefined;
  const channels = new MemberChannels<Probe>(m, {
    protocol: CHAT_PROTOCOL,
    version: CHAT_VERSION,
    attach(_peer, channel) {
      const link: Probe = {
        say: channel.addMessage({ encoding: sayEncoding }),
        history: channel.addMessage({ encoding: historyEncoding }),
        ready: false,
        opened: () => ((link.ready = true), (probe = link)),
        closed: () => {},
      };
      return link;
    },
  });
  env.closeLater(() => channels.close());
  await waitFor(() => probe?.ready === true, 'the probe’s channel to open');
  const hostile = 'hi\u001b[31m red\u202e evil <script>alert(1)</script> [open](command:workbench.action.terminal.new) $(zap)\nforged line @ada';
  probe!.say.send({ time: Date.now() + 86_400_000, seq: 1, text: hostile });
  probe!.history.send([{ author: Buffer.from(a.self.id, 'hex'), name: 'Ada', colour: 'red;background:url(x)', time: 1, seq: 9, text: 'I never said this' }]);
  await waitFor(() => live.length === 2, 'both to arrive');

  const said = ca.history().find((x) => x.name === 'Mallory')!;
  assert.ok(said, 'the live message is Mallory’s: its author is the connection it came on');
  assert.doesNotMatch(said.text, /[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/, 'no controls, no bidi override, no line break');
  assert.ok(!said.text.includes('](command:'), 'command link broken up');
  assert.ok(!said.text.includes('$(zap)'), 'icon markup broken up');
  assert.ok(said.text.includes('<script>'), 'markup kept as text (rendered with textContent, never parsed)');
  assert.ok(said.time <= Date.now(), 'a future time is clamped');
  assert.ok(live.find((x) => x.name === 'Mallory')!.mention, '@ada mentions Ada');

  const forged = ca.history().find((x) => x.text === 'I never said this')!;
  assert.equal(forged.relayed, true, 'history naming another author is marked as relayed');
  assert.equal(forged.colour, '#888888', 'a colour that is not #rrggbb never reaches CSS');
  assert.equal(live.find((x) => x.text === 'I never said this')!.mention, false, 'history does not notify');
});

test('mentions and file references', () => {
  assert.ok(mentions('@ada can you look', 'Ada'));
  assert.ok(mentions('ping @Ada Lovelace!', 'Ada Lovelace'));
  assert.ok(mentions('thanks @ada.', 'Ada Lovelace'), 'the first word of the name');
  assert.ok(!mentions('mail ada@example.com', 'ada'), 'an e-mail address is not a mention');
  assert.ok(!mentions('@adam look', 'Ada'), 'another name that starts the same');
  assert.ok(!mentions('no mention here', 'Ada'));

  const spans = chatSpans('see src/main.ts:42 and README.md:7, not 10:30 or ../etc/passwd:1 — @Bob');
  assert.deepEqual(
    spans.filter((s) => s.kind !== 'text'),
    [
      { kind: 'ref', text: 'src/main.ts:42', path: 'src/main.ts', line: 42 },
      { kind: 'ref', text: 'README.md:7', path: 'README.md', line: 7 },
      { kind: 'mention', text: '@Bob', name: 'Bob' },
    ],
  );
  assert.equal(spans.map((s) => s.text).join(''), 'see src/main.ts:42 and README.md:7, not 10:30 or ../etc/passwd:1 — @Bob', 'nothing lost');
});
