/**
 * Which collaborators changed a text since this peer last looked (issue 16, item 9): a file's Yjs
 * state vector says, per client id, how far its edits go; a client whose clock moved wrote something.
 * The first sight of a text only records it, so that the first copy of a joiner marks nothing.
 */
import * as Y from 'yjs';

export class ChangedBy {
  private readonly seen = new Map<string, Map<number, number>>();

  constructor(private readonly selfClient: number) {}

  /**
   * The other client ids that wrote to `doc` since the last call for `fileId`. At first sight, those
   * whose writing the change brought (`since`: the state before it), else none: a text held as bytes
   * until a collaborator's edit made its document here is news; a joiner's first copy is not.
   */
  writers(fileId: string, doc: Y.Doc, since?: Map<number, number>): number[] {
    const now = Y.decodeStateVector(Y.encodeStateVector(doc));
    const before = this.seen.get(fileId) ?? since;
    this.seen.set(fileId, now);
    if (!before) return [];
    const out: number[] = [];
    now.forEach((clock, client) => {
      if (client !== this.selfClient && clock > (before.get(client) ?? 0)) out.push(client);
    });
    return out;
  }

  forget(fileId: string): void {
    this.seen.delete(fileId);
  }
}

/** The index of the palette colour nearest to `#rrggbb` (VS Code decorations take theme colours only). */
export function nearestColour(colour: string, palette: readonly string[]): number {
  const rgb = (c: string) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16) || 0);
  const [r, g, b] = rgb(colour);
  let best = 0;
  let bestD = Infinity;
  palette.forEach((p, i) => {
    const [pr, pg, pb] = rgb(p);
    const d = (r - pr) ** 2 + (g - pg) ** 2 + (b - pb) ** 2;
    if (d < bestD) [best, bestD] = [i, d];
  });
  return best;
}
