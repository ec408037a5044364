/**
 * Text shown to people about the session, written once: shortened keys, sizes, the invite link, the
 * advice to run a relay, and what counts as a colour.
 */

/** A public key (hex) shortened for logs and reports: the first 8 hex characters. */
export function shortKey(hex: string): string {
  return hex.slice(0, 8);
}

/** A byte count for a person: `512 B`, `1.5 KB`, `3.2 MB`, `1.1 GB`. */
export function formatSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(1)} GB`;
}

/** What VS Code opens for a join link; `parseSessionCode` accepts any URL with a `code=` parameter. */
export const INVITE_PREFIX = 'vscode://hyperpair.hyperpair/join?code=';

export function inviteLink(code: string): string {
  return INVITE_PREFIX + encodeURIComponent(code);
}

/** How to get a relay, for every place that finds one is needed. */
export const RELAY_ADVICE =
  'Ask someone to run `hyperpair relay` on a reachable machine and add the key it prints to the hyperpair.relays setting (headless peer: --relay <key>).';

/** The wire form of a colour (docs/PROTOCOL.md §5): `#rrggbb`, lowercase only. */
export const WIRE_COLOUR = /^#[0-9a-f]{6}$/;

/** A colour a person typed (any case) as the wire form, or undefined when it is not `#rrggbb`. */
export function parseColour(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const lower = value.toLowerCase();
  return WIRE_COLOUR.test(lower) ? lower : undefined;
}

export const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#46a0a8', '#f032e6', '#9a6324', '#800000', '#008080'];

/** A peer's colour when it chose none: the same for one key on every peer. */
export function colourFor(id: string): string {
  return PALETTE[parseInt(id.slice(0, 8), 16) % PALETTE.length];
}
