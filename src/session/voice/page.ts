/**
 * The call page the extension opens in the person's own browser (issue 19: VS Code webviews cannot
 * use the microphone; a page on http://127.0.0.1 is a secure context where getUserMedia, WebCodecs'
 * Opus encoder and decoder, and the browser's echo cancellation and noise suppression all work).
 *
 * Up: microphone → AudioEncoder (Opus, 20 ms, 24 kbit/s) → POST /up, one request at a time so that
 * frames stay in order, each carrying the frames queued meanwhile. Down: long polls for records; each
 * speaker has a decoder and a jitter buffer: frames are scheduled on the AudioContext at their capture
 * time plus a delay, late ones dropped, and WebAudio mixes the speakers. The delay follows the path:
 * it covers all but the slowest 2% of the last three seconds' frames plus HEADROOM_MS, never less than
 * FLOOR_MS over the fastest; it grows at once when a late frame raises that, comes down slowly, and skips
 * frames when it is far above that (a stall passed). It starts at START_MS, before the path is known.
 * (A fixed 60 ms over each frame's own path, grown on every late frame, held whole seconds after a
 * stall on a busy machine.)
 * Nothing a peer sent is put into the page as markup: names are set with textContent. Its requests use
 * relative paths, so that it also works behind a port-forwarding proxy (a remote window, code-server).
 *
 * More than one page (page-server.ts): the newest has the call. A page told that it was replaced
 * (409) or that the call ended (403) stops its microphone (the browser's recording mark goes), its
 * sound and its requests, and says so; a replaced one offers to take the call back. A page served
 * without a token (a reload of a spent link) takes the call back with the token its tab kept in
 * sessionStorage, if any.
 */
export const START_MS = 60;
export const FLOOR_MS = 20;
export const HEADROOM_MS = 10;

export function callPageHtml(token: string, nonce: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'">
<title>Hyperpair call</title>
<style nonce="${nonce}">body{font:15px system-ui,sans-serif;margin:2em;max-width:40em}button{font-size:1em;padding:.4em 1em}#who li{list-style:none}.lvl{display:inline-block;height:.6em;background:#3a3;margin-left:.5em}</style>
</head><body>
<h1>Hyperpair call</h1>
<p id="status">Starting the microphone…</p>
<p><button id="mute">Mute</button> <button id="take" hidden>Use this page for the call</button></p>
<ul id="who"></ul>
<p><small>Keep this tab open while you are in the call. Audio goes only to the people in your Hyperpair session, end to end encrypted.</small></p>
<script nonce="${nonce}">
'use strict';
let TOKEN = ${JSON.stringify(token)};
/** Where this tab keeps its token, so that a reload of the (spent) link can take the call back. */
const KEPT = 'hyperpair-call-token';
/** +1 each time this page takes the call or stops: loops of an earlier turn see it and end. */
let turn = 0;
/** The microphone while this page has the call. */
let media;
const START = ${START_MS} / 1000;
const FLOOR = ${FLOOR_MS} / 1000;
const HEADROOM = ${HEADROOM_MS} / 1000;
/** Frames (of 20 ms) the delay is measured over: three seconds. */
const WINDOW = 150;
/** Held this much longer than the path needs, frames are skipped to catch up (a stall has passed). */
const CATCH_UP = 0.06;
/**
 * A speaker's first second of frames is forgotten once it has passed: a decoder's first frames come
 * out late while it starts (half a second on a busy machine), and remembering them would hold the
 * whole next window of frames that long.
 */
const WARM_UP = 50;
/** A frame's path this much shorter than the one before it is a speaker's clock stepping forward. */
const STEP = 0.06;
const stats = (window.hyperpairStats = { state: 'starting', replaced: 0, up: 0, upFailed: 0, upDropped: 0, reanchored: 0, played: 0, late: 0, skipped: 0, down: 'stream', latencies: [], arrivals: [], decoded: [] });
const status = (t) => (document.getElementById('status').textContent = t);
let muted = false;
let ctx;
const post = (path, body) => fetch(path, { method: 'POST', headers: { 'x-hyperpair-token': TOKEN }, body }).then((r) => (gone(r.status), r));

/** Another page has the call (409) or the call ended (403): this page stops, and says so. */
function gone(code) {
  if (stats.state !== 'in-call' || (code !== 409 && code !== 403)) return;
  turn++;
  stats.state = code === 409 ? 'replaced' : 'ended';
  if (code === 409) stats.replaced++;
  for (const t of media?.getTracks() ?? []) t.stop();
  media = undefined;
  queue.length = 0;
  for (const s of speakers.values()) if (s.dec.state !== 'closed') s.dec.close();
  speakers.clear();
  ctx.suspend();
  document.getElementById('take').hidden = code !== 409;
  status(code === 409 ? 'This call is now on a newer page (another tab or window): this one has stopped its microphone and sound.' : 'The call ended.');
}

/** Takes the call back with a token this page or tab had: a fresh one comes back. */
async function take(kept) {
  const r = await fetch('take', { method: 'POST', headers: { 'x-hyperpair-token': kept } }).catch(() => undefined);
  if (!r?.ok) return false;
  TOKEN = (await r.json()).token;
  return true;
}

function start() {
  sessionStorage.setItem(KEPT, TOKEN);
  const mine = ++turn;
  stats.state = 'in-call';
  document.getElementById('take').hidden = true;
  status('Starting the microphone…');
  ctx.resume();
  down(mine);
  up(mine).catch((e) => mine === turn && status('No microphone: ' + e.message + '. You can still listen.'));
}

/** Encoded frames waiting to go up, each with when it was queued (performance.now()). */
const queue = [];
let sending = false;
/**
 * One request at a time, so frames stay in order; whatever queued meanwhile goes in the next one
 * (each frame prefixed with its length), so a slow request delays frames but never throttles them. A
 * frame that waited here longer than MAX_AGE_MS is worth nothing to a listener and is dropped. Its
 * age is measured on the page's clock from when it was queued, never from its capture time: the
 * capture clock drifts from the wall clock (a loaded machine, a microphone's own crystal), and once
 * that drift passed MAX_AGE_MS every frame looked stale and the speaker fell silent for good.
 */
const MAX_AGE_MS = 300;
/**
 * Capture times are brought forward to the wall clock when they fall further behind it than this, in
 * every chunk of the last DRIFT_CHUNKS (a second): a chunk read late (the page was busy) looks
 * behind too, but the chunks read right after it catch up, and stepping to it would stamp every later
 * frame as captured after it was (listeners' buffers see a jump, and latencies measure short).
 */
const MAX_DRIFT_MS = 30;
const DRIFT_CHUNKS = 100;
function sendNext() {
  if (stats.state !== 'in-call') { queue.length = 0; sending = false; return; }
  const now = performance.now();
  const batch = queue.splice(0).filter((q) => {
    const fresh = now - q.at < MAX_AGE_MS;
    if (!fresh) stats.upDropped++;
    return fresh;
  }).map((q) => q.buf);
  if (!batch.length) { sending = false; return; }
  sending = true;
  const body = new Uint8Array(batch.reduce((n, b) => n + 2 + b.length, 0));
  let at = 0;
  for (const b of batch) {
    new DataView(body.buffer).setUint16(at, b.length);
    body.set(b, at + 2);
    at += 2 + b.length;
  }
  post('up', body).then((r) => (r.ok ? (stats.up += batch.length) : stats.upFailed++), () => stats.upFailed++).finally(sendNext);
}

async function up(mine) {
  const mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 } });
  if (mine !== turn) return void mic.getTracks().forEach((t) => t.stop()); // stopped meanwhile
  media = mic;
  const track = mic.getAudioTracks()[0];
  const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
  let level = 0;
  const enc = new AudioEncoder({
    output(chunk) {
      const buf = new Uint8Array(9 + chunk.byteLength);
      const view = new DataView(buf.buffer);
      view.setFloat64(0, chunk.timestamp / 1000);
      buf[8] = level;
      chunk.copyTo(buf.subarray(9));
      if (mine !== turn) return;
      queue.push({ buf, at: performance.now() });
      if (!sending) sendNext();
    },
    error: (e) => status('Microphone encoding failed: ' + e.message),
  });
  enc.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 1, bitrate: 24000, opus: { frameDuration: 20000 } });
  status('In the call.');
  // Capture timestamps are turned into wall-clock milliseconds so that listeners can place frames.
  let clockOffset;
  let lags = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done || mine !== turn) { value?.close(); break; }
    const samples = new Float32Array(value.numberOfFrames);
    value.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
    let sum = 0;
    for (const s of samples) sum += s * s;
    level = Math.min(255, Math.round(Math.sqrt(sum / samples.length) * 255 * 4));
    if (muted) { value.close(); continue; }
    const wall = performance.timeOrigin + performance.now() - (value.numberOfFrames / value.sampleRate) * 1000;
    // Times only ever go forward, so that they stay in order for listeners. Ahead of the wall clock
    // (the first chunk was read late, so every stamp was late): eased back by at most a twentieth of
    // each chunk's length, so that they still go forward. Behind it: stepped forward, as above.
    if (clockOffset === undefined) clockOffset = wall * 1000 - value.timestamp;
    lags.push(wall - (value.timestamp + clockOffset) / 1000);
    if (lags.length > DRIFT_CHUNKS) lags.shift();
    const behind = Math.min(...lags);
    if (behind < 0) {
      const ease = Math.min(-behind, (value.numberOfFrames / value.sampleRate) * 1000 / 20);
      clockOffset -= ease * 1000;
      lags = lags.map((l) => l + ease);
    } else if (lags.length === DRIFT_CHUNKS && behind > MAX_DRIFT_MS) {
      stats.reanchored++;
      clockOffset += behind * 1000;
      lags = [];
    }
    const data = new AudioData({ format: 'f32-planar', sampleRate: value.sampleRate, numberOfFrames: value.numberOfFrames, numberOfChannels: 1, timestamp: value.timestamp + clockOffset, data: samples });
    value.close();
    enc.encode(data);
    data.close();
  }
  if (enc.state !== 'closed') enc.close();
}

const speakers = new Map();
function speaker(id) {
  let s = speakers.get(id);
  if (s) return s;
  // transits: each recent frame's path, from capture until decoded here, as a time on this page's
  // AudioContext minus its capture time (the two clocks' difference included: only spreads matter).
  // captures: the capture times of the frames given to the decoder, in order. Its output carries
  // its own timestamps, counted on from the first frame (a frame lost or dropped, or a pause while
  // muted, does not move them), so each output takes the capture time of the frame it came from.
  s = { offset: undefined, last: undefined, frames: 0, transits: [], captures: [] };
  s.dec = new AudioDecoder({
    output(data) {
      const captured = (s.captures.shift() ?? data.timestamp / 1000) / 1000; // wall-clock seconds of capture
      const transit = ctx.currentTime - captured;
      // In order, a frame cannot come much sooner after its capture than the one before it did (20 ms
      // sooner at most, in a burst after a stall): if it seems to, the speaker stepped its capture
      // clock forward. The sound did not jump: move the timeline with it, losing nothing.
      if (s.last !== undefined && s.last - transit > STEP) {
        const step = s.last - transit;
        s.offset -= step;
        s.transits = s.transits.map((t) => t - step);
      }
      s.last = transit;
      if (++s.frames === WARM_UP) s.transits = [];
      s.transits.push(transit);
      if (s.transits.length > WINDOW) s.transits.shift();
      if (s.offset === undefined || transit > s.offset + 1 || s.offset - transit > 1) s.offset = transit + START; // a first frame, or a speaker's clock that jumped
      const sorted = s.transits.slice().sort((x, y) => x - y);
      const target = Math.max(sorted[Math.floor(sorted.length * 0.98)] + HEADROOM, sorted[0] + FLOOR);
      if (transit > s.offset) {
        // Late: this frame is lost, and the delay grows at once to what the path needs with it
        // counted, so that a slower path costs latency rather than every frame. Not to what this
        // frame needed: after one stall the frames behind it would all be held that long, and then
        // skipped to catch up, losing as many and costing a second of lateness besides.
        stats.late++;
        s.offset = Math.max(s.offset, target);
        data.close();
        return;
      }
      // Far above what the path needs (after a stall, or the page's first seconds): skip this frame
      // and come down by its length, so that the rest of the call is not heard late. A little above:
      // come down by a quarter of the excess, at most 2 ms a frame (each step overlaps two frames by
      // that much: small steps are not heard). Below it: up at once.
      if (s.offset - target > CATCH_UP) {
        stats.skipped++;
        s.offset -= data.duration / 1e6;
        data.close();
        return;
      }
      if (s.offset > target) s.offset -= Math.min(0.002, (s.offset - target) / 4);
      else s.offset = target;
      const at = captured + s.offset;
      const buffer = ctx.createBuffer(1, data.numberOfFrames, data.sampleRate);
      const channel = new Float32Array(data.numberOfFrames);
      data.copyTo(channel, { planeIndex: 0, format: 'f32-planar' });
      buffer.copyToChannel(channel, 0);
      data.close();
      const src = ctx.createBufferSource();
      src.buffer = buffer;
      src.connect(ctx.destination);
      src.start(at);
      stats.played++;
      const playedWall = performance.timeOrigin + performance.now() + (at - ctx.currentTime) * 1000;
      stats.latencies.push(playedWall - captured * 1000);
      stats.decoded.push(performance.timeOrigin + performance.now() - captured * 1000);
      if (stats.latencies.length > 5000) stats.latencies.shift();
      if (stats.decoded.length > 5000) stats.decoded.shift();
    },
    error: () => speakers.delete(id),
  });
  s.dec.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 1 });
  speakers.set(id, s);
  return s;
}

function showMembers(list) {
  const ul = document.getElementById('who');
  ul.replaceChildren();
  for (const m of list) {
    const li = document.createElement('li');
    li.textContent = m.name + (m.muted ? ' (muted)' : m.speaking ? ' (speaking)' : '') + (m.via ? ' — heard through ' + m.via : '');
    const bar = document.createElement('span');
    bar.className = 'lvl';
    bar.style.width = Math.round(m.level / 2) + 'px';
    li.append(bar);
    ul.append(li);
  }
}

/** Records from a streamed response as they come; false if nothing of it came within STREAM_WAIT_MS. */
const STREAM_WAIT_MS = 2000;
let from = 0;
async function stream() {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), STREAM_WAIT_MS);
  let pending = new Uint8Array(0);
  let through = false;
  try {
    const res = await fetch('down?stream=1&from=' + from, { headers: { 'x-hyperpair-token': TOKEN }, signal: abort.signal });
    if (!res.ok) return (gone(res.status), 'ended');
    from = Number(res.headers.get('x-first') ?? from);
    const reader = res.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'again';
      if (!through) { through = true; clearTimeout(timer); }
      const buf = new Uint8Array(pending.length + value.length);
      buf.set(pending);
      buf.set(value, pending.length);
      let at = 0;
      while (at + 4 <= buf.length) {
        const len = new DataView(buf.buffer, buf.byteOffset + at).getUint32(0);
        if (at + 4 + len > buf.length) break;
        // A record of length 0 only says that the stream gets through.
        if (len) { record(buf.subarray(at + 4, at + 4 + len)); from++; }
        at += 4 + len;
      }
      pending = buf.slice(at);
    }
  } catch {
    return through ? 'again' : 'blocked';
  } finally {
    clearTimeout(timer);
  }
}

async function down(mine) {
  // A stream while one gets through; long polls, each answered as soon as there is something, if the
  // way to this page holds a stream back (page-server.ts).
  from = 0;
  for (;;) {
    if (mine !== turn) return;
    const how = await stream();
    if (how === 'ended' || mine !== turn) return;
    if (how === 'blocked') break;
  }
  stats.down = 'polls';
  while (mine === turn) {
    let res;
    try {
      res = await fetch('down?from=' + from, { headers: { 'x-hyperpair-token': TOKEN } });
    } catch {
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    if (!res.ok) return gone(res.status);
    if (mine !== turn) return;
    from = Number(res.headers.get('x-next') ?? from);
    const buf = new Uint8Array(await res.arrayBuffer());
    for (let at = 0; at + 4 <= buf.length; ) {
      const len = new DataView(buf.buffer, buf.byteOffset + at).getUint32(0);
      record(buf.subarray(at + 4, at + 4 + len));
      at += 4 + len;
    }
  }
}

function record(r) {
  if (r[0] === 2) return showMembers(JSON.parse(new TextDecoder().decode(r.subarray(1))));
  const id = new TextDecoder().decode(r.subarray(2, 2 + r[1]));
  const time = new DataView(r.buffer, r.byteOffset + 2 + r[1]).getFloat64(0);
  const data = r.slice(2 + r[1] + 8);
  stats.arrivals.push(performance.timeOrigin + performance.now() - time);
  if (stats.arrivals.length > 5000) stats.arrivals.shift();
  const s = speaker(id);
  if (s.dec.state !== 'configured') return;
  s.captures.push(time);
  if (s.captures.length > 50) s.captures.shift(); // a decoder that outputs nothing: one second is plenty
  s.dec.decode(new EncodedAudioChunk({ type: 'key', timestamp: time * 1000, data }));
}

document.getElementById('mute').onclick = () => {
  muted = !muted;
  document.getElementById('mute').textContent = muted ? 'Unmute' : 'Mute';
  post('state', JSON.stringify({ muted }));
};

document.getElementById('take').onclick = async () => {
  if (await take(TOKEN)) start();
  else status('This page can no longer take the call back. Run "Hyperpair: Join Call" in VS Code for a new page.');
};

ctx = new AudioContext({ sampleRate: 48000, latencyHint: 'interactive' });
(async () => {
  if (TOKEN) return start();
  // A reload of a spent link: this tab's own page, if it kept a token, takes the call back.
  const kept = sessionStorage.getItem(KEPT);
  if (kept && (await take(kept))) return start();
  stats.state = 'spent';
  status('This call link was already used or is not valid. Run "Hyperpair: Join Call" again for a new one.');
})();
</script></body></html>`;
}
