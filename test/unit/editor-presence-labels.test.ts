/** Where collaborators' name labels go and how they are coloured (src/editor/presence-labels.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelColours, labelLine } from '../../src/editor/presence-labels';

test('one label per person per line, at that line (several carets of one person on a line are one name)', () => {
  const labels = labelLine([
    { clientId: 1, name: 'Ann', colour: '#ff0000', line: 3 },
    { clientId: 1, name: 'Ann', colour: '#ff0000', line: 3 },
    { clientId: 2, name: 'Bob', colour: '#00ff00', line: 3 },
    { clientId: 1, name: 'Ann', colour: '#ff0000', line: 5 },
  ]);
  assert.deepEqual(labels, [
    { line: 3, text: 'Ann', colour: '#ff0000' },
    { line: 3, text: 'Bob', colour: '#00ff00' },
    { line: 5, text: 'Ann', colour: '#ff0000' },
  ]);
});

test('label text contrasts with its background whatever the theme: dark text on light colours, light on dark', () => {
  assert.deepEqual(labelColours('#FFFF00'), { background: '#ffff00', foreground: '#000000' });
  assert.deepEqual(labelColours('#ffffff'), { background: '#ffffff', foreground: '#000000' });
  assert.deepEqual(labelColours('#000080'), { background: '#000080', foreground: '#ffffff' });
  assert.deepEqual(labelColours('#1f77b4'), { background: '#1f77b4', foreground: '#ffffff' });
  assert.equal(labelColours('not a colour').background, '#888888');
  // Every colour gets at least WCAG's 4.5:1 for its text, or the best of black and white.
  const lum = (hex: string) => {
    const ch = (i: number) => {
      const v = parseInt(hex.slice(i, i + 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * ch(1) + 0.7152 * ch(3) + 0.0722 * ch(5);
  };
  const contrast = (a: string, b: string) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
  for (let i = 0; i < 4096; i++) {
    const c = `#${[i >> 8, (i >> 4) & 15, i & 15].map((n) => (n * 17).toString(16).padStart(2, '0')).join('')}`;
    const { foreground } = labelColours(c);
    const other = foreground === '#000000' ? '#ffffff' : '#000000';
    assert.ok(contrast(c, foreground) >= contrast(c, other) - 1e-9, `${c}: ${foreground} is the weaker choice`);
  }
});
