/**
 * Fractional positions: the order of a notebook's cells is the order of their position strings (ties
 * broken by cell id), so moving a cell is one write to one key — two people moving the same cell at
 * once end with it in one place, never two — and inserting never renumbers anything.
 *
 * A position is a string of digits in base 36 read as a fraction (".h", ".h4", …), compared as strings.
 * No key ends in "0", so there is always room below a key. `between` returns a key strictly between
 * two others; the random tail makes two peers inserting at the
 * same spot at once pick different keys (and if they ever picked the same, the id breaks the tie).
 */
const DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz';
const BASE = DIGITS.length;

function digit(s: string, i: number, fallback: number): number {
  return i < s.length ? DIGITS.indexOf(s[i]) : fallback;
}

/** A key strictly between `a` and `b` (a < b; '' means the start or end of the list). */
export function between(a: string, b: string, random: () => number = Math.random): string {
  if (a !== '' && b !== '' && a >= b) throw new Error(`positions out of order: ${JSON.stringify(a)} >= ${JSON.stringify(b)}`);
  let prefix = '';
  for (let i = 0; ; i++) {
    const lo = digit(a, i, 0);
    const hi = b === '' ? BASE : digit(b, i, BASE);
    if (hi - lo > 1) {
      // Room at this digit: pick one at random in the open interval, then a random tail, so that
      // concurrent inserts into the same gap spread out.
      const d = lo + 1 + Math.floor(random() * (hi - lo - 1));
      return prefix + DIGITS[d] + tail(random);
    }
    prefix += DIGITS[lo];
    if (hi - lo === 1) {
      // The next digits of `a` must go up while `b` no longer bounds them.
      return prefix + above(a.slice(i + 1), random);
    }
  }
}

function above(rest: string, random: () => number): string {
  let prefix = '';
  for (let i = 0; ; i++) {
    const lo = digit(rest, i, 0);
    if (lo < BASE - 1) {
      const d = lo + 1 + Math.floor(random() * (BASE - 1 - lo));
      return prefix + DIGITS[d] + tail(random);
    }
    prefix += DIGITS[lo];
  }
}

function tail(random: () => number): string {
  // Never '0': a key that ends in 0 would leave no key below it among its extensions.
  return DIGITS[1 + Math.floor(random() * (BASE - 1))];
}

/** `n` evenly spread keys, the same on every peer (the order of a notebook read from a file). */
export function spread(n: number): string[] {
  const width = Math.max(1, Math.ceil(Math.log(n + 1) / Math.log(BASE)));
  const step = Math.floor(BASE ** width / (n + 1));
  return Array.from({ length: n }, (_, i) => ((i + 1) * step).toString(BASE).padStart(width, '0') + 'i');
}
