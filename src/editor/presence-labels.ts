/**
 * Where and how collaborators' name labels are drawn. A label drawn at the caret would push the rest
 * of the line aside while the person moves (issue 11, item 7); drawn after the end of the caret's
 * line it moves no character. No `vscode` here, so the rules are tested in plain Node.
 */

export interface LabelCursor {
  clientId: number;
  name: string;
  colour: string;
  /** Zero-based line of the caret (the selection's head). */
  line: number;
}

export interface LabelPlacement {
  line: number;
  /** Shown after the line's last character; plain text. */
  text: string;
  colour: string;
}

/**
 * One label per person per line (several carets of one person on a line are one name), in the order
 * the cursors came, each to be drawn at the end of its line.
 */
export function labelLine(cursors: readonly LabelCursor[]): LabelPlacement[] {
  const seen = new Set<string>();
  const out: LabelPlacement[] = [];
  for (const c of cursors) {
    const key = `${c.clientId}:${c.line}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ line: c.line, text: c.name, colour: c.colour });
  }
  return out;
}

/**
 * Label colours readable in light and dark themes: the person's colour as the background (the label
 * carries its own background, so the theme's does not matter) and black or white text, whichever
 * contrasts more with it (WCAG relative luminance).
 */
export function labelColours(colour: string): { background: string; foreground: string } {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
  if (!m) return { background: '#888888', foreground: '#000000' };
  const channel = (hex: string) => {
    const v = parseInt(hex, 16) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * channel(m[1]) + 0.7152 * channel(m[2]) + 0.0722 * channel(m[3]);
  const withWhite = 1.05 / (l + 0.05);
  const withBlack = (l + 0.05) / 0.05;
  return { background: colour.toLowerCase(), foreground: withBlack > withWhite ? '#000000' : '#ffffff' };
}
