/**
 * The call (issue 19): mouth-to-ear latency through the whole path on loopback — Chromium's fake
 * microphone → the call page (Opus) → the speaker's host side → the session → the listener's host side
 * → the listener's page's jitter buffer, until the frame is scheduled to play — p50 and p99, alone and
 * with a transfer on the same connection, in alternating windows of one run: a file written into the
 * speaker's folder (by this process, as another program would) and fetched by the others as the
 * workspace fetches any file (chunks asked for and served, PROTOCOL §6), with the frames as datagrams
 * beside the stream (voice 2, the default) and again with them on the stream (voice 1, as before:
 * head-of-line blocking behind the chunks); and a shared server's TCP stream written as fast as the
 * connection takes it, paced and not. Also the bandwidth one speaker
 * uses. Each peer is its own process (voice-child.ts: a whole peer over a folder), as real peers are:
 * the transfer's work lands on the peers' event loops, not on one shared with the other peers.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as readline from 'node:readline';
import { createSessionCode } from '../src/session';
import { fakeMicrophoneArgs, writeToneWav } from '../test/helpers/tone';
import { waitFor, type TestNetwork } from '../test/helpers/testnet';
import type { Row } from './row';

const CHROMIUM = process.env.HYPERPAIR_CHROMIUM ?? '/usr/bin/chromium';

function percentile(xs: number[], q: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))] ?? NaN;
}

/** The latencies B's page measured while `during` ran, from capture at A to the moment B plays the frame. */
async function latencies(page: Page, during: () => Promise<void>): Promise<{ played: number[]; late: number; audioClock: number }> {
  const clock = '[ctx.currentTime * 1000, performance.now()]';
  const lost = 'window.hyperpairStats.late + window.hyperpairStats.skipped';
  const late0 = Number(await page.evaluate(`window.hyperpairStats.latencies.length = 0; window.hyperpairStats.arrivals.length = 0; window.hyperpairStats.decoded.length = 0; ${lost}`));
  const [audio0, wall0] = (await page.evaluate(clock)) as number[];
  await during();
  const played = (await page.evaluate('window.hyperpairStats.latencies.slice()')) as number[];
  const [audio1, wall1] = (await page.evaluate(clock)) as number[];
  return { played, late: Number(await page.evaluate(lost)) - late0, audioClock: (audio1 - audio0) / (wall1 - wall0) };
}

/** From capture until the listener's page had the frame (`arrivals`: before decoding and the jitter buffer; `decoded`: after decoding), over the last window. */
async function pageArrivals(page: Page, which: 'arrivals' | 'decoded'): Promise<number[]> {
  return (await page.evaluate(`window.hyperpairStats.${which}.slice()`)) as number[];
}

interface ChildEvent {
  event: string;
  [key: string]: unknown;
}

interface Stats {
  up: number[];
  down: number[];
  kbps: number;
  framesPerSecond: number;
  dropped: number;
  sent: number;
  loopP99: number;
  loopMax: number;
  pumpedMB: number;
  /** Per frame sent: capture time, sent at, bytes queued ahead on the stream, paced (1/0), sent as a datagram (1/0). */
  sentAt: Array<[number, number, number, number, number]>;
  heardAt: Array<[number, number]>;
  /** The event loop's stalls over 100 ms: [ms, CPU ms this process used meanwhile]. */
  stalls: Array<[number, number]>;
}

/** One peer of the call in its own process (voice-child.ts). */
class VoicePeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly seen: ChildEvent[] = [];
  private stderr = '';
  exited = false;

  constructor(args: string[]) {
    // HYPERPAIR_VOICE_PROF=<dir>: each peer writes a CPU profile there (where a peer's event loop stalls).
    const prof = process.env.HYPERPAIR_VOICE_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.HYPERPAIR_VOICE_PROF}`, `--cpu-prof-name=${args[2]}.cpuprofile`] : [];
    this.child = spawn(process.execPath, [...prof, path.join(__dirname, 'voice-child.js'), ...args], { stdio: 'pipe' });
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => this.seen.push(JSON.parse(line) as ChildEvent));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    this.child.on('exit', () => (this.exited = true));
  }

  send(cmd: Record<string, unknown>): void {
    if (!this.exited) this.child.stdin.write(JSON.stringify(cmd) + '\n');
  }

  latest(event: string): ChildEvent | undefined {
    for (let i = this.seen.length - 1; i >= 0; i--) if (this.seen[i].event === event) return this.seen[i];
    return undefined;
  }

  /** Sends `cmd` and waits for the next `event` after it. */
  async ask(cmd: Record<string, unknown>, event: string, timeoutMs = 60_000): Promise<ChildEvent> {
    const from = this.seen.length;
    this.send(cmd);
    await waitFor(() => {
      if (this.exited) throw new Error(`a call peer exited: ${this.stderr.trim()}`);
      return this.seen.slice(from).some((e) => e.event === event);
    }, `"${event}" from a call peer`, timeoutMs);
    return this.seen.slice(from).find((e) => e.event === event)!;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    this.send({ cmd: 'leave' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }
}

const all = <T>(xs: T[][]): T[] => xs.flat();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What one kind of window collected, over all its rounds. */
interface Windows {
  far: number[][];
  played: number[][];
  late: number;
  decoded: number[][];
  page: number[][];
  up: number[][];
  down: number[][];
  loop: number[];
  /** Bytes queued or in flight on the speaker's connection to the listener as each frame was sent. */
  ahead: number[][];
  /** Host to host (speaker sent → listener had it), ms per frame. */
  wire: number[][];
  /** Frames the speaker sent as datagrams, and all it sent. */
  datagrams: number;
  sent: number;
}
const windows = (): Windows => ({ far: [], played: [], late: 0, decoded: [], page: [], up: [], down: [], loop: [], ahead: [], wire: [], datagrams: 0, sent: 0 });

export async function voiceBench(testnet: TestNetwork, quick: boolean): Promise<Row[]> {
  if (!fs.existsSync(CHROMIUM)) return [{ name: `call: not measured (no Chromium at ${CHROMIUM}; bash scripts/setup-editor.sh installs it)`, value: NaN, unit: '' }];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperpair-voice-bench-'));
  const wav = path.join(dir, 'tone.wav');
  writeToneWav(wav, 8);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: fakeMicrophoneArgs(wav) });
  const code = createSessionCode();
  const a = new VoicePeer([testnet.bootstrapSpec, code, 'speaker', 'speaker']);
  const b = new VoicePeer([testnet.bootstrapSpec, code, 'listener', 'listener']);
  // A third member whose call has no link to the speaker's: it hears the speaker relayed by the listener.
  const far = new VoicePeer([testnet.bootstrapSpec, code, 'far', 'far']);
  const rows: Row[] = [];
  // Alternating windows — quiet, a bulk transfer paced for the call (pacer.ts), the same transfer
  // unpaced (as before pacing) — so that the machine's other load falls on all three alike.
  const rounds = quick ? 2 : 4;
  const window = quick ? 3000 : 5000;
  try {
    const peers = [a, b, far];
    await waitFor(() => peers.every((p) => p.latest('ready')), 'the peers ready', 60_000);
    await waitFor(() => peers.every((p) => Number(p.latest('peers')?.n ?? 0) === 2), 'the three peers to meet', 60_000);
    for (const p of peers) p.send({ cmd: 'join' });
    // Each sees the two others in the call (the speaker and the far listener each other through the listener).
    await waitFor(() => peers.every((p) => Number(p.latest('members')?.n ?? 0) === 2), 'all three in the call', 30_000);
    const speaker = await browser.newPage();
    await speaker.goto(String((await a.ask({ cmd: 'link' }, 'link')).link));
    const listener = await browser.newPage();
    await listener.goto(String((await b.ask({ cmd: 'link' }, 'link')).link));
    // The listener is muted on its page too, as a listener would be: its page then neither encodes nor
    // posts the fake microphone's sound (CPU the speaker's page needs on this machine).
    await listener.locator('#mute').click();
    await b.ask({ cmd: 'sink' }, 'shared');
    // Three seconds first: a page's first seconds (its decoder starting, the machine busy opening
    // two pages) are not what the rest of a call sounds like.
    await waitFor(async () => Number(await listener.evaluate('window.hyperpairStats.played')) > 150, 'the listener to play three seconds of speech', 60_000);
    // `stream-file`: the same file transfer with frames on the channel only (no datagrams: voice 1, a
    // LAN connection), the way every frame went before voice 2.
    const [quiet, file, streamFile, busy, unpaced] = [windows(), windows(), windows(), windows(), windows()];
    // HYPERPAIR_VOICE_WINDOWS=quiet,file: only those kinds of window (to look at one; the others' rows are empty).
    const kinds = (process.env.HYPERPAIR_VOICE_WINDOWS ?? 'quiet,file,stream-file,paced,unpaced').split(',') as Array<'quiet' | 'file' | 'stream-file' | 'paced' | 'unpaced'>;
    const speakerFolder = String(a.latest('ready')?.folder);
    // HYPERPAIR_VOICE_FILE_MB: another size (MiB) for the file of the file-transfer windows.
    const fileBytes = Number(process.env.HYPERPAIR_VOICE_FILE_MB ?? (quick ? 32 : 64)) * 1024 * 1024;
    const fileTimes: number[] = [];
    const streamFileTimes: number[] = [];
    let kbps = 0;
    let fps = 0;
    let pumpedMB = 0;
    let unpacedMB = 0;
    let audioClock = 1;
    for (let round = 0; round < rounds; round++) {
      for (const w of kinds.map((k) => ({ quiet, file, 'stream-file': streamFile, paced: busy, unpaced })[k])) {
        const stream = w === busy || w === unpaced;
        // A file's bytes are made before its window: only its arrival in the folder is in it.
        const content = w === file || w === streamFile ? randomBytes(fileBytes) : undefined;
        if (w === streamFile) await Promise.all(peers.map((p) => p.ask({ cmd: 'datagrams', on: false }, 'datagrams')));
        if (stream) {
          for (const p of [a, b]) p.send({ cmd: 'pacing', on: w === busy });
          await a.ask({ cmd: 'pump', on: true }, 'pumping');
          await sleep(1000); // the transfer up to speed
        }
        await Promise.all(peers.map((p) => p.ask({ cmd: 'stats' }, 'stats')));
        const l = await latencies(listener, async () => {
          if (!content) return sleep(window);
          // From its arrival in the speaker's folder until both others' folders hold it whole.
          const name = `transfer-${round}${w === streamFile ? '-stream' : ''}.bin`;
          const arrived = [b, far].map((p) => p.ask({ cmd: 'expect', name, bytes: fileBytes }, 'received', 300_000));
          const temp = path.join(dir, name);
          fs.writeFileSync(temp, content);
          const t0 = Date.now();
          fs.renameSync(temp, path.join(speakerFolder, name)); // whole at once, as an editor's save is
          const [atB] = await Promise.all(arrived);
          (w === file ? fileTimes : streamFileTimes).push(Number(atB.at) - t0);
        });
        const [sa, sb, sf] = (await Promise.all(peers.map((p) => p.ask({ cmd: 'stats' }, 'stats')))) as unknown as Stats[];
        if (w === streamFile) await Promise.all(peers.map((p) => p.ask({ cmd: 'datagrams', on: true }, 'datagrams')));
        w.far.push(sf.down);
        if (stream) a.send({ cmd: 'pump', on: false });
        w.played.push(l.played);
        w.late += l.late;
        w.decoded.push(await pageArrivals(listener, 'decoded'));
        w.page.push(await pageArrivals(listener, 'arrivals'));
        w.up.push(sa.up);
        const heard = new Map(sb.heardAt);
        const wire = sa.sentAt.filter(([t]) => heard.has(t)).map(([t, at, queued, inflight]) => [heard.get(t)! - at, queued, inflight]);
        w.ahead.push(sa.sentAt.map(([, , queued]) => queued));
        w.wire.push(wire.map(([ms]) => ms));
        w.datagrams += sa.sentAt.filter((x) => x[4] === 1).length;
        w.sent += sa.sentAt.length;
        if (process.env.HYPERPAIR_VOICE_TRACE) fs.appendFileSync(process.env.HYPERPAIR_VOICE_TRACE, JSON.stringify({ window: w === quiet ? 'quiet' : w === file ? 'file' : w === streamFile ? 'stream-file' : w === busy ? 'paced' : 'unpaced', wire, loop: [sa.loopP99, sb.loopP99], loopMax: [sa.loopMax, sb.loopMax, sf.loopMax], stalls: [sa.stalls, sb.stalls, sf.stalls], up99: percentile(sa.up, 0.99) }) + '\n');
        w.down.push(sb.down);
        w.loop.push(Math.max(sa.loopP99, sb.loopP99));
        if (w === quiet) [kbps, fps, audioClock] = [sb.kbps, sb.framesPerSecond, l.audioClock];
        else if (w === busy) pumpedMB += sa.pumpedMB;
        else if (w === unpaced) unpacedMB += sa.pumpedMB;
        if (stream) await sleep(1000); // the transfer's tail drains
      }
    }
    const finalA = (await a.ask({ cmd: 'stats' }, 'stats')) as unknown as Stats;
    const p = (xs: number[][], q: number) => percentile(all(xs), q);
    const [q50, q99, b50, b99] = [p(quiet.played, 0.5), p(quiet.played, 0.99), p(busy.played, 0.5), p(busy.played, 0.99)];
    const n = (xs: number[][]) => all(xs).length;
    const path_ = 'page → host → session → host → page, loopback, each peer its own process, the adaptive jitter buffer included';
    rows.push({ name: `call: mouth-to-ear latency, p50 of ${n(quiet.played)} frames in ${rounds} windows of ${window / 1000} s (${path_})`, value: q50, unit: 'ms', goal: '< 150 ms', met: q50 < 150 });
    rows.push({ name: 'call: mouth-to-ear latency, p99', value: q99, unit: 'ms' });
    rows.push({ name: "call: the listener's audio clock, seconds per second of wall clock (below 1: its audio runs slow)", value: audioClock, unit: '' });
    rows.push({ name: 'call: frames lost in the jitter buffer (too late to play, or skipped to catch up after a stall), of those played', value: quiet.late, unit: 'frames', reference: n(quiet.played) });
    rows.push({ name: "call: of which capture until the speaker's host side has the frame (20 ms frame, Opus, the page's POST), p50 and p99", value: p(quiet.up, 0.5), unit: 'ms', reference: p(quiet.up, 0.99) });
    rows.push({ name: "call: of which capture until the listener's host side has the frame, p50 and p99", value: p(quiet.down, 0.5), unit: 'ms', reference: p(quiet.down, 0.99) });
    rows.push({ name: "call: of which capture until the listener's page has the frame (before decoding and its jitter buffer), p50 and p99", value: p(quiet.page, 0.5), unit: 'ms', reference: p(quiet.page, 0.99) });
    rows.push({ name: "call: of which capture until the listener's page has decoded the frame (the rest is its jitter buffer), p50 and p99", value: p(quiet.decoded, 0.5), unit: 'ms', reference: p(quiet.decoded, 0.99) });
    rows.push({ name: 'call: frames the speaker sent as datagrams in the quiet windows, of those sent (voice 2: beside the stream, datagram.ts)', value: quiet.datagrams, unit: 'frames', reference: quiet.sent });
    rows.push({ name: "call: relayed: capture until the host side of a member whose call has no link to the speaker has the frame (through the listener, one hop), p50 and p99", value: p(quiet.far, 0.5), unit: 'ms', reference: p(quiet.far, 0.99) });
    const mib = fileBytes / 1024 / 1024;
    /** The rows of one kind of file window: what the transfer adds, against the quiet windows of the same run. */
    const fileRows = (w: Windows, times: number[], how: string) => {
      if (w.played.length === 0) return;
      const [f50, f99] = [p(w.played, 0.5), p(w.played, 0.99)];
      // Per round, the file window against the quiet window just before it: the machine's other load
      // drifts over a run, and a difference within one round is less of that drift than the two totals'.
      const added = (q: number) => w.played.map((xs, r) => percentile(xs, q) - percentile(quiet.played[r] ?? [], q)).filter((d) => !Number.isNaN(d));
      const [a50, a99] = [added(0.5), added(0.99)];
      const list = (xs: number[]) => xs.map((d) => Math.round(d)).join(', ');
      rows.push({ name: `call, ${how}: what the file transfer adds to mouth-to-ear p50, per round (its window's p50 minus the quiet window's of the same round: ${list(a50)} ms), median`, value: percentile(a50, 0.5), unit: 'ms', goal: '≤ 50 ms', met: percentile(a50, 0.5) <= 50 });
      rows.push({ name: `call, ${how}: what the file transfer adds to mouth-to-ear p99, per round (${list(a99)} ms), median`, value: percentile(a99, 0.5), unit: 'ms' });
      rows.push({ name: `call, ${how}: mouth-to-ear latency while a file of ${mib} MiB written into the speaker's folder is fetched by the two others (the workspace's own transfer: chunks of 256 KiB), p50 of ${n(w.played)} in ${w.played.length} transfers; reference: without, the same run`, value: f50, unit: 'ms', reference: q50, goal: '≤ 50 ms more than without', met: f50 - q50 <= 50 });
      rows.push({ name: `call, ${how}: mouth-to-ear latency during the file transfer, p99; reference: without`, value: f99, unit: 'ms', reference: q99 });
      rows.push({ name: `call, ${how}: frames lost in the jitter buffer during the file transfer, of those played`, value: w.late, unit: 'frames', reference: n(w.played) });
      rows.push({ name: `call, ${how}: during the file transfer, capture until the speaker's host side has the frame (its page and its POST, before the session), p50 and p99`, value: p(w.up, 0.5), unit: 'ms', reference: p(w.up, 0.99) });
      rows.push({ name: `call, ${how}: during the file transfer, capture until the listener's host side has the frame, p50 and p99`, value: p(w.down, 0.5), unit: 'ms', reference: p(w.down, 0.99) });
      rows.push({ name: `call, ${how}: during the file transfer, capture until the listener's page has decoded the frame (the rest is its jitter buffer), p50 and p99`, value: p(w.decoded, 0.5), unit: 'ms', reference: p(w.decoded, 0.99) });
      rows.push({ name: `call, ${how}: during the file transfer, host to host (speaker sent → listener had it), p50 and p99; reference p99 without`, value: p(w.wire, 0.5), unit: 'ms', reference: p(w.wire, 0.99), note: `without: p50 ${p(quiet.wire, 0.5)}, p99 ${p(quiet.wire, 0.99)}` });
      rows.push({ name: `call, ${how}: during the file transfer, bytes queued or in flight on the speaker's connection to the listener as a frame was sent (a datagram does not wait behind them), p50 and p99`, value: p(w.ahead, 0.5), unit: 'bytes', reference: p(w.ahead, 0.99) });
      rows.push({ name: `call, ${how}: frames the speaker sent as datagrams during the file transfer, of those sent`, value: w.datagrams, unit: 'frames', reference: w.sent });
      rows.push({ name: `call, ${how}: the file transfer, from the file's arrival in the speaker's folder until the listener's folder held it (median of ${times.length}); MB/s`, value: percentile(times, 0.5), unit: 'ms', reference: Number((fileBytes / 1e6 / (percentile(times, 0.5) / 1000)).toFixed(1)) });
    };
    fileRows(file, fileTimes, 'frames as datagrams (voice 2)');
    fileRows(streamFile, streamFileTimes, 'frames on the stream (voice 1, as before)');
    rows.push({ name: `call: mouth-to-ear latency with a bulk transfer on the same connection (${(pumpedMB / (rounds * window / 1000)).toFixed(1)} MB/s through it), p50 of ${n(busy.played)}; reference: without`, value: b50, unit: 'ms', reference: q50, goal: '≤ 50 ms more than without', met: b50 - q50 <= 50 });
    rows.push({ name: 'call: mouth-to-ear latency with the bulk transfer, p99; reference: without', value: b99, unit: 'ms', reference: q99 });
    rows.push({ name: 'call: frames lost in the jitter buffer with the bulk transfer, of those played', value: busy.late, unit: 'frames', reference: n(busy.played) });
    rows.push({ name: "call: with the bulk transfer, capture until the speaker's host side has the frame, p50 and p99", value: p(busy.up, 0.5), unit: 'ms', reference: p(busy.up, 0.99) });
    rows.push({ name: "call: with the bulk transfer, capture until the listener's host side has the frame, p50 and p99", value: p(busy.down, 0.5), unit: 'ms', reference: p(busy.down, 0.99) });
    rows.push({ name: "call: with the bulk transfer, capture until the listener's page has decoded the frame, p50 and p99", value: p(busy.decoded, 0.5), unit: 'ms', reference: p(busy.decoded, 0.99) });
    const [u50, u99] = [p(unpaced.played, 0.5), p(unpaced.played, 0.99)];
    rows.push({ name: `call: for comparison, the transfer not paced (as before pacing; ${(unpacedMB / (rounds * window / 1000)).toFixed(1)} MB/s through it): mouth-to-ear latency p50 and p99`, value: u50, unit: 'ms', reference: u99 });
    rows.push({ name: "call: for comparison, the transfer not paced: capture until the listener's host side has the frame, p50 and p99", value: p(unpaced.down, 0.5), unit: 'ms', reference: p(unpaced.down, 0.99) });
    rows.push({ name: "call: the peers' event loop delay, p99 of the worse peer, worst window: with the bulk transfer; reference: without", value: Math.max(...busy.loop), unit: 'ms', reference: Math.max(...quiet.loop) });
    rows.push({ name: `call: bandwidth of one speaker (Opus payload, ${fps.toFixed(0)} frames/s)`, value: kbps, unit: 'kbit/s' });
    rows.push({ name: 'call: frames dropped by the speaker before a busy connection, of those sent', value: finalA.dropped, unit: 'frames', reference: finalA.sent });
  } finally {
    await Promise.all([a.stop(), b.stop(), far.stop()]);
    await browser.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
