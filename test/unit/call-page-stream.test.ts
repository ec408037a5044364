/**
 * The call page's way down (issue 19, latency): one streamed response that carries each frame as it
 * comes, with no request between frames, over real sessions on a loopback testnet; leaving the call ends it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallPage } from '../../src/session/voice/page-server';
import { callPair } from '../helpers/call-pair';
import { waitFor } from '../helpers/testnet';
import { useSessions } from '../helpers/sessions';

const env = useSessions();

/** Splits the stream's bytes into records (u32 length, then the record), keeping what is not whole yet. */
function records(buf: Buffer): { recs: Buffer[]; rest: Buffer } {
  const recs: Buffer[] = [];
  let at = 0;
  while (at + 4 <= buf.length && at + 4 + buf.readUInt32BE(at) <= buf.length) {
    recs.push(buf.subarray(at + 4, at + 4 + buf.readUInt32BE(at)));
    at += 4 + buf.readUInt32BE(at);
  }
  return { recs, rest: buf.subarray(at) };
}

test('the page\'s stream carries each frame as it comes, who speaks, and ends when this person leaves the call', { timeout: 120_000 }, async () => {
  const { ca, cb } = await callPair(env);
  const page = new CallPage(cb);
  await page.ready();
  env.closeLater(() => page.close());
  const link = page.link();
  const token = /let TOKEN = "([0-9a-f]+)"/.exec(await (await fetch(link)).text())?.[1] ?? '';
  const res = await fetch(`${new URL(link).origin}/c/down?stream=1&from=0`, { headers: { 'x-hyperpair-token': token } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-first'), '0');
  const reader = res.body!.getReader();

  const got: Buffer[] = [];
  let rest: Buffer = Buffer.alloc(0);
  let ended = false;
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return void (ended = true);
      const split = records(Buffer.concat([rest, Buffer.from(value)]));
      got.push(...split.recs);
      rest = split.rest;
    }
  })();

  await waitFor(() => got.length >= 1, 'the stream to open');
  assert.equal(got[0].length, 0, 'a record of length 0 first: the stream gets through');
  const timer = setInterval(() => ca.send({ time: Date.now(), level: 200, data: new Uint8Array([0xf8, 0xff, 0xfe]) }), 20);
  try {
    await waitFor(() => got.filter((r) => r[0] === 1).length >= 20, 'twenty frames down one response');
    const frame = got.find((r) => r[0] === 1)!;
    assert.deepEqual([...frame.subarray(frame.length - 3)], [0xf8, 0xff, 0xfe], 'the Opus packet as Ada sent it');
    await waitFor(() => got.some((r) => r[0] === 2 && (JSON.parse(r.subarray(1).toString()) as Array<{ speaking: boolean }>)[0]?.speaking), 'the page to be told that Ada speaks');
  } finally {
    clearInterval(timer);
  }
  page.link(); // a new link: the page keeps the call until a page of that link attaches
  ca.send({ time: Date.now(), level: 0, data: new Uint8Array([0xf8, 0xff, 0xfd]) });
  await waitFor(() => got.some((r) => r[0] === 1 && r[r.length - 1] === 0xfd), 'a frame after the new link, down the same stream');
  assert.equal(ended, false);
  page.end(); // left the call: the stream ends
  await reading;
  assert.equal(ended, true);
  const again = await fetch(`${new URL(link).origin}/c/down?stream=1`, { headers: { 'x-hyperpair-token': token } });
  assert.equal(again.status, 403, 'the page cannot attach again');
});
