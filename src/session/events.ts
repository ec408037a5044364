/**
 * One typed event emitter for the whole tree: `class X extends TypedEmitter<XEvents>` where
 * `XEvents` maps each event name to its argument tuple. (Node's own `EventEmitter<T>` types do not
 * compose with interfaces such as `PeerTransport` that declare a subset of the events.)
 */
import { EventEmitter } from 'node:events';

type Listener = (...args: unknown[]) => void;

export class TypedEmitter<E extends { [K in keyof E]: unknown[] }> extends EventEmitter {
  override on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.on(event, listener as Listener);
  }

  override once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.once(event, listener as Listener);
  }

  override off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.off(event, listener as Listener);
  }

  override emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    return super.emit(event, ...args);
  }
}
