/**
 * Which files are edited together as text and which travel as bytes. A file is text when it is valid
 * UTF-8 that survives decoding and re-encoding byte for byte (so the shared text reproduces the file
 * exactly), contains no NUL, and is no larger than the text limit.
 */
import { isUtf8 } from 'node:buffer';

export const MAX_TEXT_BYTES = 4 * 1024 * 1024;

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** The file's text, or undefined when it must be treated as binary. */
export function asText(bytes: Uint8Array, maxTextBytes = MAX_TEXT_BYTES): string | undefined {
  if (bytes.byteLength > maxTextBytes) return undefined;
  if (bytes.includes(0)) return undefined;
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return undefined;
  }
  const back = encoder.encode(text);
  if (back.byteLength !== bytes.byteLength || !Buffer.from(back).equals(Buffer.from(bytes))) return undefined;
  return text;
}

/** Whether `asText` would take these bytes for a text, without making the string (valid UTF-8 round-trips exactly). */
export function isTextBytes(bytes: Uint8Array, maxTextBytes = MAX_TEXT_BYTES): boolean {
  return bytes.byteLength <= maxTextBytes && !bytes.includes(0) && isUtf8(bytes);
}

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}
