/** The one lifecycle pattern (src/session/disposable.ts) and the one typed emitter (events.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { deadline, Disposable, DisposableStore, interval, listen, timeout, toDisposable } from '../../src/session/disposable';
import { TypedEmitter } from '../../src/session/events';
import { tempDir } from '../helpers/tree';

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

test('a deadline is judged after what already arrived is read: a stalled process does not time out an answer that is waiting', async () => {
  // The answer comes from another process while this one is stalled (as a process starved of CPU
  // is): it writes, then leaves a marker, so the stall ends only once the answer is in our socket.
  const marker = path.join(tempDir('hyperpair-deadline-'), 'written');
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const writer = spawn(process.execPath, ['-e', `const s = require('net').connect(${port}, '127.0.0.1', () => setTimeout(() => s.write('answer', () => { require('fs').writeFileSync(${JSON.stringify(marker)}, ''); setTimeout(() => s.end(), 2000); }), 100));`]);
  const socket = await accepted;
  let answered = false;
  socket.on('data', () => (answered = true));
  const outcomes: string[] = [];
  const plain = timeout(() => outcomes.push(answered ? 'plain: answered' : 'plain: timed out'), 20);
  const judged = deadline(() => outcomes.push('deadline: timed out'), 20, () => answered);
  const until = Date.now() + 60_000;
  while (!fs.existsSync(marker) && Date.now() < until) {
    // stalled: timers fall due, the answer waits unread
  }
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(answered, 'the answer arrived');
  assert.deepEqual(outcomes, ['plain: timed out'], 'a plain timer fires before the socket is read; the deadline sees the answer');
  // Without an answer it fires, and once disposed it never does.
  let fired = 0;
  deadline(() => fired++, 10, () => false);
  deadline(() => fired++, 10, () => false).dispose();
  const ticks: number[] = [];
  const every = interval(() => ticks.push(1), 5);
  await new Promise((r) => setTimeout(r, 60));
  every.dispose();
  const n = ticks.length;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(fired, 1);
  assert.ok(n > 0 && ticks.length === n, 'the interval ran, and stopped on dispose');
  plain.dispose();
  judged.dispose();
  socket.destroy();
  writer.kill();
  await new Promise((r) => server.close(r));
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
