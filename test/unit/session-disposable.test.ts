/** The one lifecycle pattern (src/session/disposable.ts) and the one typed emitter (events.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Disposable, DisposableStore, listen, timeout, toDisposable } from '../../src/session/disposable';
import { TypedEmitter } from '../../src/session/events';

test('dispose() releases everything registered once, newest first; registering afterwards disposes at once', () => {
  const order: string[] = [];
  const store = new DisposableStore();
  store.add(toDisposable(() => order.push('first')));
  store.add(toDisposable(() => order.push('second')));
  store.dispose();
  store.dispose();
  assert.deepEqual(order, ['second', 'first']);
  store.add(toDisposable(() => order.push('late')));
  assert.deepEqual(order, ['second', 'first', 'late'], 'nothing created after dispose() outlives it');
});

test('one failing disposable does not stop the others; its error is rethrown', () => {
  const done: string[] = [];
  const store = new DisposableStore();
  store.add(toDisposable(() => done.push('a')));
  store.add(toDisposable(() => {
    throw new Error('boom');
  }));
  store.add(toDisposable(() => done.push('c')));
  assert.throws(() => store.dispose(), /boom/);
  assert.deepEqual(done, ['c', 'a']);
});

test('listen() removes exactly its listener; timeout() never fires once disposed', async () => {
  const e = new EventEmitter();
  let heard = 0;
  const other = () => {};
  e.on('x', other);
  const l = listen(e, 'x', () => heard++);
  e.emit('x');
  l.dispose();
  e.emit('x');
  assert.equal(heard, 1);
  assert.deepEqual(e.listeners('x'), [other], 'no listener left behind, and no other removed');
  let fired = false;
  timeout(() => (fired = true), 10).dispose();
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(fired, false);
});

test('a subclass owns its things through register(); release() lets one go early', () => {
  const log: string[] = [];
  class Owner extends Disposable {
    readonly timer = this.register(toDisposable(() => log.push('timer')));
    constructor() {
      super();
      this.register(toDisposable(() => log.push('socket')));
    }
    stopTimer(): void {
      this.release(this.timer);
    }
  }
  const o = new Owner();
  o.stopTimer();
  assert.deepEqual(log, ['timer']);
  o.dispose();
  assert.deepEqual(log, ['timer', 'socket'], 'released things are not disposed twice');
});

test('TypedEmitter passes the arguments of each event through', () => {
  const e = new TypedEmitter<{ joined: [name: string, at: number] }>();
  const got: Array<[string, number]> = [];
  const l = (name: string, at: number) => got.push([name, at]);
  e.on('joined', l);
  e.emit('joined', 'Ann', 1);
  e.off('joined', l);
  e.emit('joined', 'Bob', 2);
  assert.deepEqual(got, [['Ann', 1]]);
});
