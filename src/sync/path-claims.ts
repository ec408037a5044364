/**
 * Which live entries claim each path (file-view.ts): nearly always one, so one id is held as itself
 * and a set only when two or more claim the path. A set per path cost ~170 bytes a file (5 MB at
 * 30,000 files) to hold one string.
 */
export class PathClaims {
  private readonly byPath = new Map<string, string | Set<string>>();

  add(path: string, id: string): void {
    const held = this.byPath.get(path);
    if (held === undefined) this.byPath.set(path, id);
    else if (typeof held === 'string') {
      if (held !== id) this.byPath.set(path, new Set([held, id]));
    } else held.add(id);
  }

  remove(path: string, id: string): void {
    const held = this.byPath.get(path);
    if (held === id) this.byPath.delete(path);
    else if (held instanceof Set) {
      held.delete(id);
      if (held.size === 1) this.byPath.set(path, held.values().next().value as string);
    }
  }

  /** The ids that claim `path` (none: empty). */
  ids(path: string): Iterable<string> {
    const held = this.byPath.get(path);
    return held === undefined ? [] : typeof held === 'string' ? [held] : held;
  }

  has(path: string, id: string): boolean {
    const held = this.byPath.get(path);
    return held === id || (held instanceof Set && held.has(id));
  }

  /** Whether anyone claims `path`. */
  claimed(path: string): boolean {
    return this.byPath.has(path);
  }

  /** The smallest id claiming `path` (the one shown at it), if any. */
  first(path: string): string | undefined {
    const held = this.byPath.get(path);
    if (!(held instanceof Set)) return held;
    let min: string | undefined;
    for (const id of held) if (min === undefined || id < min) min = id;
    return min;
  }
}
