/**
 * Who is speaking in the call (issue 19): from the level each real frame carries over real sessions
 * on a loopback testnet, each member's speaking state and level as the other sees it, and its own;
 * what the participants view writes for it; and that it moves a few times a second, not per frame.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SessionCall } from '../../src/session/voice/call';
import { levelBars, SpeakingMeter, SPEAKING_HOLD_MS } from '../../src/session/voice/speaking';
import { callMarkText } from '../../src/editor/call-marks';
import { callPair } from '../helpers/call-pair';
import { waitFor } from '../helpers/testnet';
import { useSessions } from '../helpers/sessions';

const env = useSessions();

/** Frames at `level` every 20 ms, as a call page sends them, until stopped. */
function speak(call: SessionCall, level: () => number): { stop: () => void; frames: () => number } {
  let n = 0;
  const timer = setInterval(() => {
    call.send({ time: Date.now(), level: level(), data: new Uint8Array([0xf8, 0xff, 0xfe]) });
    n++;
  }, 20);
  return { stop: () => clearInterval(timer), frames: () => n };
}

test('a meter says speaking from a loud frame until the hold time has passed, in one to four bars', () => {
  const m = new SpeakingMeter();
  assert.equal(m.tick(0), false, 'silence to silence is no change');
  m.hear(3, 0);
  m.tick(10);
  assert.deepEqual(m.shown, { speaking: false, level: 0 }, 'room noise is not speech');
  m.hear(200, 20);
  assert.equal(m.tick(30), true);
  assert.deepEqual(m.shown, { speaking: true, level: 200 });
  assert.equal(levelBars(m.shown), 4);
  m.hear(3, 40); // a pause between words
  assert.equal(m.tick(20 + SPEAKING_HOLD_MS), true, 'the level falls to one bar');
  assert.equal(m.shown.speaking, true, 'still speaking within the hold time');
  assert.equal(levelBars(m.shown), 1);
  assert.equal(m.tick(20 + SPEAKING_HOLD_MS), false, 'the same bars again: nothing to redraw');
  assert.equal(m.tick(21 + SPEAKING_HOLD_MS), true);
  assert.deepEqual(m.shown, { speaking: false, level: 0 });
});

test('each member sees who speaks, how loud, who is muted, and it changes a few times a second, not per frame', { timeout: 120_000 }, async () => {
  const { ca, cb } = await callPair(env, { joinB: false });
  assert.equal(callMarkText(cb.members()[0]), 'in call');
  cb.join();
  await waitFor(() => ca.members().length === 1, 'Ada to see Bob join');

  let events = 0;
  cb.on('members', () => events++);
  let loud = true;
  const ada = speak(ca, () => (loud ? 150 + (ada.frames() % 7) * 10 : 2));
  env.closeLater(() => ada.stop());
  try {
    await waitFor(() => cb.members()[0]?.speaking === true, 'Bob to see Ada speaking');
    const ofAda = cb.members()[0];
    assert.ok(ofAda.level >= 150 && ofAda.level <= 210, `Ada's level as Bob sees it: ${ofAda.level}`);
    assert.match(callMarkText(ofAda), /^speaking [▂▄▆█]{3,4}$/);
    await waitFor(() => ca.self().speaking, 'Ada to see herself speaking');
    assert.equal(ca.members()[0].speaking, false, 'Bob, who says nothing, is not speaking');
    const framesAt = ada.frames();
    await waitFor(() => ada.frames() >= framesAt + 50, 'a second more of Ada speaking');
    assert.ok(events <= 8, `${events} updates while Bob heard ${ada.frames()} frames: the view is not redrawn per frame`);

    loud = false; // quiet frames still come: Ada stopped talking, not sending
    await waitFor(() => cb.members()[0]?.speaking === false, 'Bob to see Ada stop speaking');
    assert.equal(callMarkText(cb.members()[0]), 'in call');
    assert.equal(cb.members()[0].level, 0);

    loud = true;
    await waitFor(() => cb.members()[0]?.speaking === true, 'Bob to see Ada speak again');
    ca.setMuted(true);
    await waitFor(() => cb.members()[0]?.muted === true && !cb.members()[0].speaking, 'Bob to see Ada muted and silent');
    assert.equal(callMarkText(cb.members()[0]), 'in call, muted');
    assert.deepEqual(ca.self(), { inCall: true, muted: true, speaking: false, level: 0 });

    ca.leave();
    await waitFor(() => cb.members().length === 0, 'Bob to see Ada leave the call');
    assert.equal(ca.self().inCall, false);
  } finally {
    ada.stop();
  }
});
