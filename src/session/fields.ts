/**
 * The writing halves of a message made of fields in a fixed order, as compact-encoding messages are
 * written by hand: `preencode` and `encode` visit the same fields with the same encodings, so they are
 * declared once. Each message keeps its own `decode`, where a peer's data is checked.
 */
import type { Encoding, State } from 'compact-encoding';

/** One field of a message `M`: its encoding and how to read it from the message. */
export interface Field<M> {
  write(state: State, message: M, measure: boolean): void;
}

export function field<M, V>(encoding: Encoding<V>, get: (message: M) => V): Field<M> {
  return {
    write: (state, message, measure) => (measure ? encoding.preencode(state, get(message)) : encoding.encode(state, get(message))),
  };
}

export function writeFields<M>(...fields: Array<Field<M>>): Pick<Encoding<M>, 'preencode' | 'encode'> {
  return {
    preencode(state, message) {
      for (const f of fields) f.write(state, message, true);
    },
    encode(state, message) {
      for (const f of fields) f.write(state, message, false);
    },
  };
}
