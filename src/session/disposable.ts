/**
 * One lifecycle pattern for every layer (session is the bottom one, so all can import it): an owner
 * extends `Disposable` and `register()`s what it creates — listeners, timers, child objects — and
 * `dispose()` releases all of it once, newest first. Shaped like `vscode.Disposable`, so the editor
 * glue can register VS Code's disposables here and ours in `context.subscriptions`.
 */
import type { EventEmitter } from 'node:events';

export interface IDisposable {
  dispose(): void;
}

export function toDisposable(dispose: () => void): IDisposable {
  let done = false;
  return {
    dispose: () => {
      if (done) return;
      done = true;
      dispose();
    },
  };
}

/**
 * Adds `listener` and returns what removes it: a listener added through this can only be removed
 * symmetrically, so none is left behind on an emitter that outlives its listener's owner.
 */
export function listen<A extends unknown[]>(emitter: Pick<EventEmitter, 'on' | 'off'>, event: string, listener: (...args: A) => void): IDisposable {
  const l = listener as (...args: unknown[]) => void;
  emitter.on(event, l);
  return toDisposable(() => emitter.off(event, l));
}

/** A timeout that is cleared on dispose. Unref'd: it never holds a process open by itself. */
export function timeout(fn: () => void, ms: number): IDisposable {
  const t = setTimeout(fn, ms);
  t.unref?.();
  return toDisposable(() => clearTimeout(t));
}

/**
 * A timeout for a deadline on something that arrives over the network: when it fires, what already
 * arrived is read first (one `setImmediate`: the event loop's poll phase runs before it), and `fn`
 * runs only if `met()` is still false. A process starved of CPU for a while (30 peers on two cores
 * were measured stalled for 15 s) runs its due timers before it reads its sockets: without this, every
 * handshake whose answer was already waiting would time out in one burst.
 */
export function deadline(fn: () => void, ms: number, met: () => boolean): IDisposable {
  let immediate: NodeJS.Immediate | undefined;
  const t = timeout(() => {
    immediate = setImmediate(() => {
      immediate = undefined;
      if (!met()) fn();
    });
  }, ms);
  return toDisposable(() => {
    t.dispose();
    if (immediate) clearImmediate(immediate);
  });
}

/** An interval that is cleared on dispose. Unref'd, like `timeout`. */
export function interval(fn: () => void, ms: number): IDisposable {
  const t = setInterval(fn, ms);
  t.unref?.();
  return toDisposable(() => clearInterval(t));
}

export class Disposable implements IDisposable {
  private readonly owned: IDisposable[] = [];
  private isDisposed = false;

  /** True once `dispose()` ran: an owner must not create anything after that. */
  protected get disposed(): boolean {
    return this.isDisposed;
  }

  /**
   * Owns `d` until this is disposed. Registering on an owner already disposed disposes `d` at once:
   * nothing created after dispose() outlives it.
   */
  protected register<T extends IDisposable>(d: T): T {
    if (this.isDisposed) d.dispose();
    else this.owned.push(d);
    return d;
  }

  /** register() for several at once, in order (the `subscriptions.push(a, b, c)` idiom). */
  protected registerAll(...ds: IDisposable[]): void {
    for (const d of ds) this.register(d);
  }

  /** Releases one registered thing early (a timer that fired, a child that closed). */
  protected release(d: IDisposable): void {
    const i = this.owned.indexOf(d);
    if (i >= 0) this.owned.splice(i, 1);
    d.dispose();
  }

  /** Releases everything registered, newest first. Idempotent; one failure does not stop the rest. */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    const errors: unknown[] = [];
    for (const d of this.owned.splice(0).reverse()) {
      try {
        d.dispose();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'several disposables failed');
  }
}

/** An owner to use as a value rather than a base class: what one function holds for a while. */
export class DisposableStore extends Disposable {
  add<T extends IDisposable>(d: T): T {
    return this.register(d);
  }

  /** Disposes `d` now and forgets it (a timer that fired, a child that closed). */
  delete(d: IDisposable): void {
    this.release(d);
  }
}
