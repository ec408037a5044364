/** The one sanitiser for peer-supplied strings a person is shown (src/session/display.ts), with hostile names. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayColour, displayName, displayText, MAX_DISPLAY_NAME, shortenMiddle } from '../../src/session/untrusted';
import { cleanName } from '../../src/session/wire';
import { readPresence } from '../../src/sync/awareness';

const HOSTILE: Array<[string, string, string]> = [
  ['terminal escapes and C0/C1 controls', 'Ann\u0000\u001b[31m\u0007\u009bred', 'Ann[31mred'],
  ['newlines and tabs fold to one space', 'Ann\n\n\tLee\r\n', 'Ann Lee'],
  ['a bidi override that makes a name read backwards', '\u202Eecila\u202C', 'ecila'],
  ['bidi isolates and marks', '\u2066Bob\u2069\u200F\u061C', 'Bob'],
  ['zero-width characters hiding inside a name', 'A\u200Bl\u200Di\u2060c\uFEFFe', 'Alice'],
  ['line and paragraph separators', 'Al\u2028ice\u2029', 'Al ice'],
  ['a Markdown command link', '[Update now](command:workbench.action.terminal.new)', '[Update now] (command:workbench.action.terminal.new)'],
  ['a codicon', '$(warning) Admin', '$ (warning) Admin'],
  ['only invisible characters', '\u202E\u200B\u0000 ', 'Anonymous'],
];

for (const [what, input, expected] of HOSTILE) {
  test(`a display name with ${what} is shown as plain, inert text`, () => {
    assert.equal(displayName(input), expected);
    assert.equal(cleanName(input), expected, 'the session\'s hello names go through the same sanitiser');
  });
}

test('a 10 KB name is cut to 64 code points, never inside a surrogate pair', () => {
  const huge = displayName('😀'.repeat(10_000));
  assert.equal([...huge].length, MAX_DISPLAY_NAME);
  assert.equal(huge, '😀'.repeat(MAX_DISPLAY_NAME));
  const tenMB = displayName('x'.repeat(10 * 1024 * 1024));
  assert.equal(tenMB.length, MAX_DISPLAY_NAME);
});

test('non-strings and empty names fall back; colours are #rrggbb or grey', () => {
  assert.equal(displayName(undefined), 'Anonymous');
  assert.equal(displayName({ toString: () => 'x' }, 'someone'), 'someone');
  assert.equal(displayText(42, 10, ''), '');
  assert.equal(displayColour('#ABCDEF'), '#abcdef');
  for (const bad of ['red', '#abc', '#abcdefg', 'red;background:url(x)', '#12345z', null, 3]) assert.equal(displayColour(bad), '#888888');
});

test('a presence read from a peer carries the sanitised name (awareness reader uses the same sanitiser)', () => {
  const state = { user: { id: 'ab'.repeat(32), name: '\u202E[x](command:evil)\u0000' + 'n'.repeat(10_000), colour: '#FFFFFF' } };
  const p = readPresence(state);
  assert.equal(p?.user?.name, displayName(state.user.name, 'someone'));
  assert.ok(!/[\u202E\u0000]/.test(p!.user!.name));
  assert.ok(!p!.user!.name.includes(']('));
  assert.equal([...p!.user!.name].length, 64);
  assert.equal(p?.user?.colour, '#ffffff');
});

test('long paths are shortened in the middle', () => {
  assert.equal(shortenMiddle('short.txt', 20), 'short.txt');
  const long = `src/${'deep/'.repeat(40)}file.ts`;
  const s = shortenMiddle(long, 30);
  assert.equal([...s].length, 30);
  assert.ok(s.startsWith('src/') && s.endsWith('file.ts') && s.includes('…'));
});
