/**
 * The session code this peer proves and looks for, and the keys it derives. Code rotation
 * (rotation.ts) replaces all of them at once, so they live together: nobody can hold a topic of one
 * code and an auth key of another.
 */
import { parseSessionCode, SessionCodeError } from './code';
import { deriveKeys, type SessionKeys } from './secrets';

export class CurrentCode {
  private value: string;
  private keys: SessionKeys;

  /** Throws SessionCodeError (with the reason a person can read) for a code that does not parse. */
  constructor(code: string) {
    ({ code: this.value, keys: this.keys } = CurrentCode.parse(code));
  }

  get code(): string {
    return this.value;
  }

  /** The hyperswarm topic: public. */
  get topic(): Buffer {
    return this.keys.topic;
  }

  get authKey(): Buffer {
    return this.keys.authKey;
  }

  get lanKey(): Buffer {
    return this.keys.lanKey;
  }

  /**
   * Moves to another code and gives the topic it leaves, or undefined when the code is the one held
   * already (however it is written). Throws SessionCodeError, keeping the current code, when it does
   * not parse.
   */
  change(code: string): Buffer | undefined {
    const next = CurrentCode.parse(code);
    if (next.code === this.value) return undefined;
    const old = this.keys.topic;
    ({ code: this.value, keys: this.keys } = next);
    return old;
  }

  /** A code's canonical form and keys; throws SessionCodeError when it does not parse. */
  static parse(code: string): { code: string; keys: SessionKeys } {
    const parsed = parseSessionCode(code);
    if (!parsed.ok) throw new SessionCodeError(parsed.message, parsed.reason);
    return { code: parsed.code, keys: deriveKeys(parsed.secret) };
  }
}
