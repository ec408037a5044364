/**
 * Test audio for the call (issue 19): a WAV of tone bursts for Chromium's fake microphone (bursts,
 * like syllables: the browser's noise suppression removes a steady tone), and the check of a recording
 * — decoded by the browser itself, the dominant frequency where there is sound.
 */
import * as fs from 'node:fs';
import type { Page } from 'playwright-core';

export const TONE_HZ = 440;

/** Chromium's flags for a fake microphone that plays `wav`, allowed without a prompt. */
export function fakeMicrophoneArgs(wav: string): string[] {
  return ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`, '--autoplay-policy=no-user-gesture-required'];
}

/** 16-bit mono 48 kHz WAV: 300 ms of the tone, 200 ms of silence, repeated. */
export function writeToneWav(file: string, seconds = 4): void {
  const rate = 48000;
  const n = rate * seconds;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write('WAVEfmt ', 8, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) {
    const on = (i / rate) % 0.5 < 0.3;
    buf.writeInt16LE(on ? Math.round(Math.sin((2 * Math.PI * TONE_HZ * i) / rate) * 12000) : 0, 44 + i * 2);
  }
  fs.writeFileSync(file, buf);
}

export interface Heard {
  seconds: number;
  /** 20 ms windows with sound in them. */
  loudWindows: number;
  /** Median of their dominant frequencies (zero crossings), Hz. */
  median: number;
}

/** Decodes an Ogg Opus file in the browser and says what is in it. */
export async function listen(page: Page, oggFile: string): Promise<Heard> {
  // Runs in the browser (a string: Node's types do not know its audio API).
  return (await page.evaluate(`(async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    const ctx = new OfflineAudioContext(1, 48000, 48000);
    const audio = await ctx.decodeAudioData(bytes.buffer);
    const s = audio.getChannelData(0);
    const freqs = [];
    for (let i = 0; i + 960 <= s.length; i += 960) {
      let energy = 0;
      let crossings = 0;
      for (let j = i; j < i + 960; j++) {
        energy += s[j] * s[j];
        if (j > i && (s[j - 1] < 0) !== (s[j] < 0)) crossings++;
      }
      if (Math.sqrt(energy / 960) > 0.02) freqs.push((crossings / 2) * (48000 / 960));
    }
    freqs.sort((x, y) => x - y);
    return { seconds: audio.duration, loudWindows: freqs.length, median: freqs[Math.floor(freqs.length / 2)] ?? 0 };
  })(${JSON.stringify(fs.readFileSync(oggFile).toString('base64'))})`)) as Heard;
}
