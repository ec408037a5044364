/**
 * An `ignore` matcher whose answers are not kept forever. `ignore` remembers the answer for every
 * path it was asked about (and each of its folders) for as long as it lives: a mirror's rules live
 * as long as the session, and after a 30,000-file share held 2.7 MB of answers nobody would ask
 * again. Past ASKED_BEFORE_RENEWAL questions it starts again from its patterns (cheap: a few rules),
 * so the answers of one scan still speed up its own questions.
 */
import ignore, { type Ignore } from 'ignore';

const ASKED_BEFORE_RENEWAL = 4096;

export class BoundedIgnore {
  private matcher: Ignore;
  private asked = 0;

  constructor(private readonly patterns: string | readonly string[]) {
    this.matcher = ignore().add(patterns);
  }

  ignores(path: string): boolean {
    if (++this.asked > ASKED_BEFORE_RENEWAL) {
      this.matcher = ignore().add(this.patterns);
      this.asked = 0;
    }
    return this.matcher.ignores(path);
  }
}
