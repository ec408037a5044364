/**
 * The call (issue 19): mouth-to-ear latency through the whole path on loopback — Chromium's fake
 * microphone → the call page (Opus) → this peer's host side → the session → the other host side →
 * the other page's jitter buffer, until the frame is scheduled to play — p50 and p99, alone and with a
 * bulk transfer on the same connection (a shared server's TCP stream, as a file transfer would be);
 * and the bandwidth one speaker uses. Both peers and both pages run on this machine.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { createSessionCode } from '../src/session';
import { Session } from '../src/session/session';
import { ServerTunnels } from '../src/session/tunnel';
import { SessionCall } from '../src/session/voice/call';
import { CallPage } from '../src/session/voice/page-server';
import { fakeMicrophoneArgs, writeToneWav } from '../test/helpers/tone';
import { waitFor, type TestNetwork } from '../test/helpers/testnet';
import type { Row } from './row';

const CHROMIUM = process.env.HYPERPAIR_CHROMIUM ?? '/usr/bin/chromium';

function percentile(xs: number[], q: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))] ?? NaN;
}

/** The latencies B's page measured over `ms`, from capture at A to the moment B plays the frame. */
async function latencies(page: Page, ms: number): Promise<{ played: number[]; late: number; audioClock: number }> {
  const clock = '[ctx.currentTime * 1000, performance.now()]';
  const lost = 'window.hyperpairStats.late + window.hyperpairStats.skipped';
  const late0 = Number(await page.evaluate(`window.hyperpairStats.latencies.length = 0; window.hyperpairStats.arrivals.length = 0; window.hyperpairStats.decoded.length = 0; ${lost}`));
  const [audio0, wall0] = (await page.evaluate(clock)) as number[];
  await new Promise((r) => setTimeout(r, ms));
  const played = (await page.evaluate('window.hyperpairStats.latencies.slice()')) as number[];
  const [audio1, wall1] = (await page.evaluate(clock)) as number[];
  return { played, late: Number(await page.evaluate(lost)) - late0, audioClock: (audio1 - audio0) / (wall1 - wall0) };
}

/** From capture until the listener's page had the frame (`arrivals`: before decoding and the jitter buffer; `decoded`: after decoding), over the last window. */
async function pageArrivals(page: Page, which: 'arrivals' | 'decoded'): Promise<number[]> {
  return (await page.evaluate(`window.hyperpairStats.${which}.slice()`)) as number[];
}

export async function voiceBench(testnet: TestNetwork, quick: boolean): Promise<Row[]> {
  if (!fs.existsSync(CHROMIUM)) return [{ name: `call: not measured (no Chromium at ${CHROMIUM}; bash scripts/setup-editor.sh installs it)`, value: NaN, unit: '' }];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperpair-voice-bench-'));
  const wav = path.join(dir, 'tone.wav');
  writeToneWav(wav, 8);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: fakeMicrophoneArgs(wav) });
  const code = createSessionCode();
  const a = new Session({ code, name: 'speaker', network: testnet.network, lan: false });
  const b = new Session({ code, name: 'listener', network: testnet.network, lan: false });
  const ca = new SessionCall(a);
  const cb = new SessionCall(b);
  const pa = new CallPage(ca);
  const pb = new CallPage(cb);
  const tunnelsA = new ServerTunnels(a);
  const tunnelsB = new ServerTunnels(b);
  const sink = net.createServer((s) => s.on('data', () => {}).on('error', () => {}));
  const rows: Row[] = [];
  const window = quick ? 5000 : 15_000;
  try {
    await Promise.all([a.ready(), b.ready(), pa.ready(), pb.ready()]);
    await waitFor(() => a.peers().length === 1 && b.peers().length === 1, 'the two peers to meet', 60_000);
    ca.join();
    cb.join();
    cb.setMuted(true); // one speaker, one listener
    await waitFor(() => ca.members().length === 1 && cb.members().length === 1, 'both in the call', 30_000);
    const speaker = await browser.newPage();
    await speaker.goto(pa.link());
    const listener = await browser.newPage();
    await listener.goto(pb.link());
    let bytes = 0;
    let frames = 0;
    const arrivals: number[] = [];
    // When the speaker's host side has each frame from its page (before the session sends it).
    const upArrivals: number[] = [];
    const send = ca.send.bind(ca);
    ca.send = (f) => {
      upArrivals.push(Date.now() - f.time);
      return send(f);
    };
    cb.on('frame', (_p, f) => {
      bytes += f.data.byteLength;
      frames++;
      arrivals.push(Date.now() - f.time);
    });
    // Three seconds first: a page's first seconds (its decoder starting, the machine busy opening
    // two pages) are not what the rest of a call sounds like.
    await waitFor(async () => Number(await listener.evaluate('window.hyperpairStats.played')) > 150, 'the listener to play three seconds of speech', 60_000);
    const t0 = performance.now();
    const [bytes0, frames0] = [bytes, frames];
    arrivals.length = 0;
    upArrivals.length = 0;
    const { played: quiet, late: quietLate, audioClock } = await latencies(listener, window);
    const hostSide = [...arrivals];
    const speakerSide = [...upArrivals];
    const listenerPage = await pageArrivals(listener, 'arrivals');
    const listenerDecoded = await pageArrivals(listener, 'decoded');
    const kbps = ((bytes - bytes0) * 8) / 1000 / ((performance.now() - t0) / 1000);
    const framesPerSecond = (frames - frames0) / ((performance.now() - t0) / 1000);

    // A bulk transfer on the same connection, in the voice's direction: the listener shares a sink,
    // the speaker's side writes into it as fast as the connection takes it.
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    tunnelsB.share((sink.address() as net.AddressInfo).port);
    await waitFor(() => tunnelsA.remote().some((r) => r.localPort !== undefined), 'the sink to reach the speaker', 60_000);
    const client = net.connect({ host: '127.0.0.1', port: tunnelsA.remote()[0].localPort! });
    client.on('error', () => {});
    const chunk = Buffer.alloc(64 * 1024, 1);
    let pumping = true;
    const pump = async () => {
      while (pumping && !client.destroyed) if (!client.write(chunk)) await new Promise((r) => client.once('drain', r));
    };
    await new Promise((r) => client.once('connect', r));
    void pump();
    await new Promise((r) => setTimeout(r, 1000));
    arrivals.length = 0;
    const { played: busy, late: busyLate } = await latencies(listener, window);
    const busyHostSide = [...arrivals];
    const busyDecoded = await pageArrivals(listener, 'decoded');
    pumping = false;
    client.destroy();

    const [q50, q99, b50, b99] = [percentile(quiet, 0.5), percentile(quiet, 0.99), percentile(busy, 0.5), percentile(busy, 0.99)];
    const path_ = 'page → host → session → host → page, loopback, the adaptive jitter buffer included';
    rows.push({ name: `call: mouth-to-ear latency, p50 of ${quiet.length} frames (${path_})`, value: q50, unit: 'ms', goal: '< 150 ms', met: q50 < 150 });
    rows.push({ name: 'call: mouth-to-ear latency, p99', value: q99, unit: 'ms' });
    rows.push({ name: 'call: the listener\'s audio clock, seconds per second of wall clock (below 1: its audio runs slow)', value: audioClock, unit: '' });
    rows.push({ name: 'call: frames lost in the jitter buffer (too late to play, or skipped to catch up after a stall), of those played', value: quietLate, unit: 'frames', reference: quiet.length });
    rows.push({ name: 'call: of which capture until the speaker\'s host side has the frame (20 ms frame, Opus, the page\'s POST), p50 and p99', value: percentile(speakerSide, 0.5), unit: 'ms', reference: percentile(speakerSide, 0.99) });
    rows.push({ name: 'call: of which capture until the listener\'s host side has the frame, p50 and p99', value: percentile(hostSide, 0.5), unit: 'ms', reference: percentile(hostSide, 0.99) });
    rows.push({ name: 'call: of which capture until the listener\'s page has the frame (before decoding and its jitter buffer), p50', value: percentile(listenerPage, 0.5), unit: 'ms' });
    rows.push({ name: 'call: of which capture until the listener\'s page has the frame, p99', value: percentile(listenerPage, 0.99), unit: 'ms' });
    rows.push({ name: 'call: of which capture until the listener\'s page has decoded the frame (the rest is its jitter buffer), p50 and p99', value: percentile(listenerDecoded, 0.5), unit: 'ms', reference: percentile(listenerDecoded, 0.99) });
    rows.push({ name: `call: mouth-to-ear latency with a bulk transfer on the same connection, p50 of ${busy.length}`, value: b50, unit: 'ms', reference: q50, goal: '≤ 50 ms more than without', met: b50 - q50 <= 50 });
    rows.push({ name: 'call: mouth-to-ear latency with the bulk transfer, p99', value: b99, unit: 'ms', reference: q99 });
    rows.push({ name: 'call: frames lost in the jitter buffer with the bulk transfer, of those played', value: busyLate, unit: 'frames', reference: busy.length });
    rows.push({ name: 'call: with the bulk transfer, capture until the listener\'s host side has the frame, p50 and p99 (both peers and the transfer share this one process)', value: percentile(busyHostSide, 0.5), unit: 'ms', reference: percentile(busyHostSide, 0.99) });
    rows.push({ name: 'call: with the bulk transfer, capture until the listener\'s page has decoded the frame, p50 and p99', value: percentile(busyDecoded, 0.5), unit: 'ms', reference: percentile(busyDecoded, 0.99) });
    rows.push({ name: `call: bandwidth of one speaker (Opus payload, ${framesPerSecond.toFixed(0)} frames/s)`, value: kbps, unit: 'kbit/s' });
    rows.push({ name: 'call: frames dropped by the speaker before a busy connection', value: ca.dropped, unit: 'frames', reference: ca.sent });
  } finally {
    tunnelsA.close();
    tunnelsB.close();
    sink.close();
    await Promise.all([pa.close(), pb.close()]);
    ca.close();
    cb.close();
    await browser.close();
    await Promise.all([a.leave(), b.leave()]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
