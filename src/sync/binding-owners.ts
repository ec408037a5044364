/**
 * The live binding of each shared text. Two bindings on one text would each ignore the other's
 * writes (both carry EDITOR_ORIGIN), so their buffers drift apart: a text is handed from one to the
 * next (the first disposed, the next given `base`), never shared (issue 11, item 2).
 */
import type * as Y from 'yjs';

const owners = new WeakMap<Y.Text, object>();

/** Whether a live binding writes this shared text (then another must wait for it to be disposed). */
export function isBound(ytext: Y.Text): boolean {
  return owners.has(ytext);
}

/** `binding` writes this shared text from now on; throws if another live binding does. */
export function claimText(ytext: Y.Text, binding: object): void {
  if (owners.has(ytext)) throw new Error('this shared text is bound to another buffer: dispose that binding first');
  owners.set(ytext, binding);
}

/** `binding` lets go of this shared text (if it still holds it). */
export function releaseText(ytext: Y.Text, binding: object): void {
  if (owners.get(ytext) === binding) owners.delete(ytext);
}
