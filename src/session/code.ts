/**
 * Session codes: 130 random bits that people read aloud and paste, with a checksum so that a typo is
 * reported at once ("check the code") instead of as a silent wait for peers that will never come.
 *
 * Format (docs/PROTOCOL.md §1): Crockford base32, 26 data characters + 4 checksum characters, shown as
 * six groups of five joined by dashes. Input is case-insensitive; spaces, dashes and underscores are
 * ignored; I and L read as 1, O as 0. An invite link (any URL with a `code=` parameter) is accepted too.
 */
import { randomBytes } from 'node:crypto';
import type Sodium from 'sodium-universal';

export const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const DATA_CHARS = 26;
export const CHECK_CHARS = 4;
export const CODE_CHARS = DATA_CHARS + CHECK_CHARS;
const CHECKSUM_LABEL = 'hyperpair/checksum/v1';

export type CodeProblem = 'empty' | 'bad-character' | 'too-short' | 'too-long' | 'checksum';

export type ParsedCode =
  | { ok: true; code: string; secret: Buffer }
  | { ok: false; reason: CodeProblem; message: string };

/** A new session code from a cryptographically secure source, formatted for display. */
export function createSessionCode(): string {
  const bytes = randomBytes(DATA_CHARS);
  let data = '';
  for (const b of bytes) data += ALPHABET[b & 31]; // 256 is a multiple of 32: no modulo bias
  return formatSessionCode(data + checksum(data));
}

/** Six groups of five: `ABCDE-FGHJK-…`. Accepts any input `canonical()` accepts. */
export function formatSessionCode(input: string): string {
  const c = canonical(input);
  return (c.match(/.{1,5}/g) ?? []).join('-');
}

/** Normalises what a person typed: separators dropped, case folded, I/L→1, O→0. */
export function canonical(input: string): string {
  return extractFromLink(input)
    .toUpperCase()
    .replace(/[\s\-_]/g, '')
    .replace(/[IL]/g, '1')
    .replace(/O/g, '0');
}

/** Parses a full code (or invite link) and checks it, with a message a person can act on. */
export function parseSessionCode(input: string): ParsedCode {
  const c = canonical(input);
  if (c.length === 0) return fail('empty', 'Enter the session code you were given.');
  const bad = firstBadCharacter(c);
  if (bad) return fail('bad-character', `"${bad}" cannot appear in a session code — check the code and try again.`);
  if (c.length < CODE_CHARS) {
    return fail('too-short', `That code is too short (${c.length} of ${CODE_CHARS} characters) — check the code and try again.`);
  }
  if (c.length > CODE_CHARS) {
    return fail('too-long', `That code is too long (${c.length} of ${CODE_CHARS} characters) — check the code and try again.`);
  }
  const data = c.slice(0, DATA_CHARS);
  if (checksum(data) !== c.slice(DATA_CHARS)) {
    return fail('checksum', 'That code has a typo — check the code and try again.');
  }
  return { ok: true, code: formatSessionCode(c), secret: Buffer.from(data, 'ascii') };
}

/**
 * For validation as the user types: an incomplete but so far plausible code is fine; a wrong
 * character, an over-long code, or a complete code with a bad checksum is not.
 */
export function checkPartialCode(input: string): { ok: true } | { ok: false; reason: CodeProblem; message: string } {
  const c = canonical(input);
  const bad = firstBadCharacter(c);
  if (bad) return fail('bad-character', `"${bad}" cannot appear in a session code.`);
  if (c.length < CODE_CHARS) return { ok: true };
  const parsed = parseSessionCode(input);
  return parsed.ok ? { ok: true } : parsed;
}

/**
 * Loaded on first use: sodium-native is a native addon that took most of the extension bundle's load
 * time (tens of ms), and activation does not check a code until someone starts or joins a session.
 */
let sodium: typeof Sodium | undefined;

/** The checksum characters of 26 canonical data characters. */
export function checksum(data: string): string {
  const out = Buffer.alloc(32);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  sodium ??= require('sodium-universal') as typeof Sodium;
  sodium.crypto_generichash(out, Buffer.from(CHECKSUM_LABEL + data, 'ascii'));
  // The first 20 bits, big-endian, as four base32 characters.
  const bits = (out[0] << 12) | (out[1] << 4) | (out[2] >> 4);
  let s = '';
  for (let i = 3; i >= 0; i--) s += ALPHABET[(bits >> (i * 5)) & 31];
  return s;
}

function firstBadCharacter(c: string): string | undefined {
  for (const ch of c) if (!ALPHABET.includes(ch)) return ch;
  return undefined;
}

function extractFromLink(input: string): string {
  const trimmed = input.trim();
  if (!/^[a-z][a-z0-9+.-]*:/i.test(trimmed) || !trimmed.includes('code=')) return trimmed;
  try {
    const q = trimmed.slice(trimmed.indexOf('?') + 1);
    return new URLSearchParams(q).get('code') ?? trimmed;
  } catch {
    return trimmed;
  }
}

function fail(reason: CodeProblem, message: string): { ok: false; reason: CodeProblem; message: string } {
  return { ok: false, reason, message };
}

/** A code that cannot be used, with a message for a person and the reason (a `CodeProblem`). */
export class SessionCodeError extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'SessionCodeError';
  }
}
