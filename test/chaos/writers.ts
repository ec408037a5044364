/**
 * People writing to files on their own disks, as editors, formatters and scripts do: appends, and
 * read-modify-write rewrites that replace the file. Every line is a token unique to its writer, so
 * that the oracle can account for each one at the end.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** mulberry32: small, seeded, good enough to pick intervals and victims reproducibly. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type WriteMode = 'append' | 'rewrite';

export interface WriterOptions {
  /** Unique across the whole run: every token starts with it. */
  id: string;
  /** The shared folder this writer writes in (its own peer's copy). */
  dir: string;
  /** Relative path of the file written to. */
  file: string;
  mode: WriteMode;
  /** Milliseconds between two writes, drawn uniformly from [min, max]. */
  intervalMs: { min: number; max: number };
  /** Delay of the first write (to stagger writers, e.g. "the second 100 ms after the first"). */
  offsetMs?: number;
  random: () => number;
  /** Where a rewrite stages the new content before its rename: same file system, outside the folder. */
  scratch: string;
}

export class Writer {
  /** Tokens that are on this writer's disk: the write returned without error. */
  readonly written: string[] = [];
  readonly errors: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private n = 0;
  private running = false;

  constructor(readonly options: WriterOptions) {}

  start(): void {
    this.running = true;
    this.schedule(this.options.offsetMs ?? 0);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  /** One write now (also usable without the timer, e.g. for offline edits). */
  writeOnce(): void {
    const o = this.options;
    const token = `${o.id}-${++this.n}`;
    const file = path.join(o.dir, ...o.file.split('/'));
    try {
      if (o.mode === 'append' || !fs.existsSync(file)) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.appendFileSync(file, token + '\n');
      } else {
        // Read, change, replace: what vim, formatters and `git checkout` do. Like a careful editor, it
        // starts again if the file changed on disk while it was preparing its version (the peer wrote):
        // the writer must not be the one that overwrites what it has not read.
        for (let attempt = 0; ; attempt++) {
          const before = fs.statSync(file, { bigint: true });
          const lines = fs.readFileSync(file, 'utf8').split('\n');
          if (lines[lines.length - 1] === '') lines.pop();
          const at = Math.floor(o.random() * (lines.length + 1));
          lines.splice(at, 0, token);
          fs.writeFileSync(o.scratch, lines.join('\n') + '\n');
          const now = fs.statSync(file, { bigint: true });
          if (attempt < 10 && (now.ino !== before.ino || now.mtimeNs !== before.mtimeNs || now.size !== before.size)) continue;
          fs.renameSync(o.scratch, file);
          break;
        }
      }
      this.written.push(token);
    } catch (err) {
      this.errors.push(`${token}: ${(err as Error).message}`);
    }
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(() => {
      if (!this.running) return;
      this.writeOnce();
      const { min, max } = this.options.intervalMs;
      this.schedule(min + this.options.random() * (max - min));
    }, delay);
    // A scenario that fails half-way must not be kept alive by its writers.
    this.timer.unref();
  }
}
