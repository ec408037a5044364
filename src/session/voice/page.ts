/**
 * The call page the extension opens in the person's own browser (issue 19: VS Code webviews cannot
 * use the microphone; a page on http://127.0.0.1 is a secure context where getUserMedia, WebCodecs'
 * Opus encoder and decoder, and the browser's echo cancellation and noise suppression all work).
 *
 * Up: microphone → AudioEncoder (Opus, 20 ms, 24 kbit/s) → POST /up, one request at a time so that
 * frames stay in order, each carrying the frames queued meanwhile. Down: long polls for records; each
 * speaker has a decoder and a jitter buffer: frames are scheduled on the AudioContext at their capture
 * time plus a delay (JITTER_MS at first, grown when frames come late, brought back towards
 * JITTER_MS while they come early), late ones dropped, and WebAudio mixes the speakers.
 * Nothing a peer sent is put into the page as markup: names are set with textContent. Its requests use
 * relative paths, so that it also works behind a port-forwarding proxy (a remote window, code-server).
 */
export const JITTER_MS = 60;

export function callPageHtml(token: string, nonce: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'">
<title>Hyperpair call</title>
<style nonce="${nonce}">body{font:15px system-ui,sans-serif;margin:2em;max-width:40em}button{font-size:1em;padding:.4em 1em}#who li{list-style:none}.lvl{display:inline-block;height:.6em;background:#3a3;margin-left:.5em}</style>
</head><body>
<h1>Hyperpair call</h1>
<p id="status">Starting the microphone…</p>
<p><button id="mute">Mute</button></p>
<ul id="who"></ul>
<p><small>Keep this tab open while you are in the call. Audio goes only to the people in your Hyperpair session, end to end encrypted.</small></p>
<script nonce="${nonce}">
'use strict';
const TOKEN = ${JSON.stringify(token)};
const JITTER = ${JITTER_MS} / 1000;
const stats = (window.hyperpairStats = { up: 0, upFailed: 0, upDropped: 0, reanchored: 0, played: 0, late: 0, latencies: [] });
const status = (t) => (document.getElementById('status').textContent = t);
let muted = false;
let ctx;
const post = (path, body) => fetch(path, { method: 'POST', headers: { 'x-hyperpair-token': TOKEN }, body });

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
/** Capture times are brought forward to the wall clock when they fall further behind it than this. */
const MAX_DRIFT_MS = 100;
function sendNext() {
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

async function up() {
  const media = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 } });
  const track = media.getAudioTracks()[0];
  const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
  let level = 0;
  const enc = new AudioEncoder({
    output(chunk) {
      const buf = new Uint8Array(9 + chunk.byteLength);
      const view = new DataView(buf.buffer);
      view.setFloat64(0, chunk.timestamp / 1000);
      buf[8] = level;
      chunk.copyTo(buf.subarray(9));
      queue.push({ buf, at: performance.now() });
      if (!sending) sendNext();
    },
    error: (e) => status('Microphone encoding failed: ' + e.message),
  });
  enc.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 1, bitrate: 24000, opus: { frameDuration: 20000 } });
  status('In the call.');
  // Capture timestamps are turned into wall-clock milliseconds so that listeners can place frames.
  let clockOffset;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const samples = new Float32Array(value.numberOfFrames);
    value.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
    let sum = 0;
    for (const s of samples) sum += s * s;
    level = Math.min(255, Math.round(Math.sqrt(sum / samples.length) * 255 * 4));
    if (muted) { value.close(); continue; }
    const wall = performance.timeOrigin + performance.now() - (value.numberOfFrames / value.sampleRate) * 1000;
    // Only ever forward, so that times stay in order for listeners; a capture clock that runs fast
    // is bounded by the listeners' jitter buffer (it starts over a second ahead).
    if (clockOffset === undefined || wall - (value.timestamp + clockOffset) / 1000 > MAX_DRIFT_MS) {
      if (clockOffset !== undefined) stats.reanchored++;
      clockOffset = wall * 1000 - value.timestamp;
    }
    const data = new AudioData({ format: 'f32-planar', sampleRate: value.sampleRate, numberOfFrames: value.numberOfFrames, numberOfChannels: 1, timestamp: value.timestamp + clockOffset, data: samples });
    value.close();
    enc.encode(data);
    data.close();
  }
}

const speakers = new Map();
function speaker(id) {
  let s = speakers.get(id);
  if (s) return s;
  s = { offset: undefined };
  s.dec = new AudioDecoder({
    output(data) {
      const captured = data.timestamp / 1000; // wall-clock ms of capture
      if (s.offset === undefined) s.offset = ctx.currentTime + JITTER - captured / 1000;
      let at = captured / 1000 + s.offset;
      if (at > ctx.currentTime + 1) { s.offset = ctx.currentTime + JITTER - captured / 1000; at = ctx.currentTime + JITTER; }
      if (at < ctx.currentTime) {
        // Late: this frame is lost, and the delay grows by what it missed (up to a second), so that
        // a slower path costs latency rather than every frame.
        stats.late++;
        s.offset = Math.min(s.offset + (ctx.currentTime - at) + 0.02, ctx.currentTime + 1 - captured / 1000);
        data.close();
        return;
      }
      // Early by more than the target: come down by a tenth of the excess (at most 5 ms a frame), so
      // that a burst of late frames at the start does not cost latency for the rest of the call.
      const excess = at - (ctx.currentTime + JITTER);
      if (excess > 0.01) {
        s.offset -= Math.min(0.005, excess / 10);
        at = captured / 1000 + s.offset;
      }
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
      stats.latencies.push(playedWall - captured);
      if (stats.latencies.length > 5000) stats.latencies.shift();
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
    li.textContent = m.name + (m.muted ? ' (muted)' : m.speaking ? ' (speaking)' : '');
    const bar = document.createElement('span');
    bar.className = 'lvl';
    bar.style.width = Math.round(m.level / 2) + 'px';
    li.append(bar);
    ul.append(li);
  }
}

async function down() {
  // Long polls: each answered as soon as there is something (see page-server.ts for why not a stream).
  let from = 0;
  for (;;) {
    let res;
    try {
      res = await fetch('down?from=' + from, { headers: { 'x-hyperpair-token': TOKEN } });
    } catch {
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    if (!res.ok) break;
    from = Number(res.headers.get('x-next') ?? from);
    const buf = new Uint8Array(await res.arrayBuffer());
    for (let at = 0; at + 4 <= buf.length; ) {
      const len = new DataView(buf.buffer, buf.byteOffset + at).getUint32(0);
      record(buf.subarray(at + 4, at + 4 + len));
      at += 4 + len;
    }
  }
  status('The call ended.');
}

function record(r) {
  if (r[0] === 2) return showMembers(JSON.parse(new TextDecoder().decode(r.subarray(1))));
  const id = new TextDecoder().decode(r.subarray(2, 2 + r[1]));
  const time = new DataView(r.buffer, r.byteOffset + 2 + r[1]).getFloat64(0);
  const data = r.slice(2 + r[1] + 8);
  const s = speaker(id);
  if (s.dec.state === 'configured') s.dec.decode(new EncodedAudioChunk({ type: 'key', timestamp: time * 1000, data }));
}

document.getElementById('mute').onclick = () => {
  muted = !muted;
  document.getElementById('mute').textContent = muted ? 'Unmute' : 'Mute';
  post('state', JSON.stringify({ muted }));
};

ctx = new AudioContext({ sampleRate: 48000, latencyHint: 'interactive' });
down();
up().catch((e) => status('No microphone: ' + e.message + '. You can still listen.'));
</script></body></html>`;
}
