/**
 * The editor-agnostic buffer binding against an editor buffer whose edits land asynchronously and can
 * be rejected when the user typed in between — the behaviour of VS Code's workspace.applyEdit. The
 * real-editor tests (test/editor) cover VS Code itself; these cover the races exhaustively.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { BufferBinding, type EditorBuffer } from '../../src/sync/buffer-binding';
import { applyEdits, diffEdits, mapOffset, offsetOf, positionsOf, type TextEdit } from '../../src/sync/textdiff';
import { silentLogger } from '../../src/session/log';

/**
 * An editor as VS Code is one: the window holds the true text (`text`, `ver`) and applies keystrokes
 * and edits; the extension host sees the text and version only as the change events arrive, in
 * order (`getText()`, `version()`); an edit made against a version the window has moved past is
 * refused.
 */
class AsyncBuffer implements EditorBuffer {
  text: string;
  ver = 1;
  private hostText: string;
  private hostVer = 1;
  binding?: BufferBinding;
  rejected = 0;
  /** Deliver change events after a delay, so that an edit's promise can resolve before its event. */
  lateEcho = false;
  /** Apply an edit made against an older version anyway, at its stale offsets. */
  applyStale = false;
  /**
   * Apply an edit made against an older version anyway, at the lines and columns it was addressed
   * by in the text it was made for: what VS Code does when a keystroke races the edit.
   */
  applyStaleAtPositions = false;
  /** While set, change events wait (a slow editor); `release()` delivers them in order. */
  held = false;
  /** Reports each change before answering the edit that made it (as VS Code does; EditorBuffer.reportsBeforeAnswer). */
  reportsBeforeAnswer = false;
  /** How many of the next edits are answered "applied" while nothing changes and nothing is reported. */
  swallow = 0;
  release(): void {
    this.held = false;
    while (this.events.length) this.events.shift()!();
  }
  private readonly events: Array<() => void> = [];
  /** While set, the editor's answers to edits wait; `answer()` gives them, in order. */
  answersWait = false;
  private readonly answers: Array<() => void> = [];
  answer(): void {
    this.answersWait = false;
    while (this.answers.length) this.answers.shift()!();
  }

  constructor(text: string) {
    this.text = text;
    this.hostText = text;
  }
  getText(): string {
    return this.hostText;
  }
  version(): number {
    return this.hostVer;
  }
  applyEdits(edits: TextEdit[], baseVersion: number): Promise<boolean> {
    // Addressed now, in the text the extension host sees (VS Code converts offsets to positions).
    const at = positionsOf(this.hostText, edits.flatMap((e) => [e.offset, e.offset + e.deleteCount]));
    return new Promise((resolve) => {
      const decide = (): void => {
        if (this.ver !== baseVersion && this.applyStaleAtPositions) {
          this.apply(
            edits.map((e, i) => {
              const offset = offsetOf(this.text, at[2 * i]);
              return { offset, deleteCount: Math.max(0, offsetOf(this.text, at[2 * i + 1]) - offset), insert: e.insert };
            }),
          );
          return resolve(true);
        }
        if (this.swallow > 0 && this.ver === baseVersion) {
          this.swallow--;
          return resolve(true);
        }
        const fits = edits.every((e) => e.offset + e.deleteCount <= this.text.length);
        if (this.ver !== baseVersion && !(this.applyStale && fits)) {
          this.rejected++;
          return resolve(false);
        }
        this.apply(edits);
        resolve(true);
      };
      setImmediate(() => (this.answersWait ? this.answers.push(decide) : decide()));
    });
  }
  /** A user's keystroke or any buffer change in the window. */
  change(edits: TextEdit[]): void {
    this.apply(edits);
  }
  private apply(edits: TextEdit[]): void {
    this.text = applyEdits(this.text, edits);
    const ver = ++this.ver;
    const after = this.text;
    this.events.push(() => {
      this.hostText = after;
      this.hostVer = ver;
      this.binding?.onBufferChange(edits, ver);
    });
    if (this.held) return;
    if (!this.lateEcho && this.events.length === 1) {
      this.events.shift()!();
      return;
    }
    if (this.events.length === 1) {
      const drain = () => {
        if (this.held || !this.events.length) return;
        this.events.shift()!();
        if (this.events.length) setImmediate(drain);
      };
      setImmediate(drain);
    }
  }
}

function linkedDocs(): [Y.Doc, Y.Doc] {
  const a = new Y.Doc();
  const b = new Y.Doc();
  a.on('update', (u: Uint8Array, origin: unknown) => origin !== 'net' && Y.applyUpdate(b, u, 'net'));
  b.on('update', (u: Uint8Array, origin: unknown) => origin !== 'net' && Y.applyUpdate(a, u, 'net'));
  return [a, b];
}

/** Waits until the binding has nothing pending and (given the buffer) every change event was delivered. */
async function settle(binding: BufferBinding, buffer?: AsyncBuffer): Promise<void> {
  for (let i = 0; i < 100 && !(binding.settled && (!buffer || buffer.getText() === buffer.text)); i++) {
    await binding.whenSettled();
    await new Promise((r) => setImmediate(r));
  }
}

test('textdiff: diff, apply and map round-trip, never splitting an astral character', () => {
  const cases: Array<[string, string]> = [
    ['', 'hello'],
    ['hello', ''],
    ['abc\r\ndef\r\n', 'abc\r\nXdef\r\n'],
    ['a\r\nb', 'a\rX\nb'],
    ['a\r\nb', 'a\r\r\nb'],
    ['a😀b', 'a😁b'],
    ['😀😀😀', '😀😁😀'],
    ['x👩‍💻y', 'x👩‍🔬y'],
    ['the quick brown fox', 'the quack brown box jumps'],
  ];
  for (const [from, to] of cases) {
    const edits = diffEdits(from, to);
    assert.equal(applyEdits(from, edits), to);
    for (const e of edits) {
      assert.ok(!/^[\udc00-\udfff]/.test(e.insert) && !/[\ud800-\udbff]$/.test(e.insert), `half surrogate in ${JSON.stringify(e)}`);
      for (const at of [e.offset, e.offset + e.deleteCount]) {
        assert.ok(!(from[at - 1] === '\r' && from[at] === '\n'), `edit boundary inside CRLF: ${JSON.stringify(e)}`);
      }
    }
  }
  const edits: TextEdit[] = [{ offset: 2, deleteCount: 0, insert: 'XX' }, { offset: 5, deleteCount: 2, insert: 'y' }];
  assert.equal(mapOffset(edits, 1), 1);
  assert.equal(mapOffset(edits, 2), 2);
  assert.equal(mapOffset(edits, 2, true), 4);
  assert.equal(mapOffset(edits, 4), 6);
  assert.equal(mapOffset(edits, 6), 8);
  assert.equal(mapOffset(edits, 9), 10);

});

test('remote edits reach the buffer as range edits and do not echo back', async () => {
  const [a, b] = linkedDocs();
  b.getText('content').insert(0, 'hello world');
  const buffer = new AsyncBuffer('hello world');
  const binding = new BufferBinding(a.getText('content'), buffer, { logger: silentLogger });
  buffer.binding = binding;
  let updatesFromA = 0;
  a.on('update', (_u: Uint8Array, origin: unknown) => origin !== 'net' && updatesFromA++);
  b.getText('content').insert(5, ',');
  await settle(binding);
  assert.equal(buffer.text, 'hello, world');
  assert.equal(updatesFromA, 0, 'applying a remote edit must not produce a local update');
  binding.dispose();
});

test('typing while a remote edit is in flight loses nothing', async () => {
  const [a, b] = linkedDocs();
  const base = 'line one\nline two\nline three\n';
  b.getText('content').insert(0, base);
  const buffer = new AsyncBuffer(base);
  const binding = new BufferBinding(a.getText('content'), buffer, { logger: silentLogger });
  buffer.binding = binding;
  // A remote paste at the start arrives; before it lands, the user types at the end of line two.
  b.getText('content').insert(0, 'REMOTE PASTE\n');
  buffer.change([{ offset: base.indexOf('two') + 3, deleteCount: 0, insert: ' typed' }]);
  buffer.change([{ offset: base.indexOf('two') + 9, deleteCount: 0, insert: '!' }]);
  await settle(binding);
  const expected = 'REMOTE PASTE\nline one\nline two typed!\nline three\n';
  assert.equal(a.getText('content').toString(), expected);
  assert.equal(b.getText('content').toString(), expected);
  assert.equal(buffer.text, expected);
  assert.ok(buffer.rejected >= 1, 'the stale remote edit was rejected and recomputed');
  binding.dispose();
});

test('a keystroke held for the editor\'s answer does not shift what the buffer still lacks (fuzz seed 1108)', async () => {
  const [a, b] = linkedDocs();
  b.getText('content').insert(0, '<B6>');
  const buffer = new AsyncBuffer('<B6>');
  const binding = new BufferBinding(a.getText('content'), buffer, { logger: silentLogger });
  buffer.binding = binding;
  await settle(binding, buffer);
  // A collaborator's next letter: sent to the editor, which is slow to answer.
  buffer.answersWait = true;
  b.getText('content').insert(3, '6');
  while (binding.settled) await new Promise((r) => setImmediate(r));
  // The person types at the start, so the editor will refuse the edit; the collaborator types over
  // the closing bracket (Yjs replaces it) and goes on; the person types the very letter the edit inserts, so
  // that change waits for the editor's answer to tell whether it was the edit.
  buffer.change([{ offset: 0, deleteCount: 0, insert: 'A' }]);
  b.transact(() => {
    b.getText('content').insert(5, '>');
    b.getText('content').delete(6, 1);
  });
  b.getText('content').insert(6, '(');
  buffer.change([{ offset: 0, deleteCount: 0, insert: '6' }]);
  buffer.answer();
  await settle(binding, buffer);
  assert.equal(a.getText('content').toString(), '6A<B66>(');
  assert.equal(buffer.text, '6A<B66>(', 'the buffer got the collaborator\'s "6", not a second ">"');
  assert.equal(binding.verify(), true);
  assert.equal(binding.repairs, 0);
  binding.dispose();
});

test('deleting one\'s own text while its undo is refused and its redo pending deletes it for good (fuzz seed 1049)', async () => {
  const doc = new Y.Doc();
  doc.getText('content').insert(0, 'x');
  const buffer = new AsyncBuffer('x');
  const binding = new BufferBinding(doc.getText('content'), buffer, { logger: silentLogger });
  buffer.binding = binding;
  buffer.change([{ offset: 1, deleteCount: 0, insert: '<A21>' }]);
  await settle(binding, buffer);
  binding.undoManager.stopCapturing();
  // The undo goes to the editor, which is slow to answer; the redo puts the text back (Yjs redoes
  // with new items) while the person, who still sees it, deletes it: the very edit the undo sent,
  // so that change waits for the editor's answer, a refusal.
  buffer.answersWait = true;
  assert.ok(await binding.undo());
  while (binding.settled) await new Promise((r) => setImmediate(r));
  assert.ok(await binding.redo());
  assert.equal(doc.getText('content').toString(), 'x<A21>');
  buffer.change([{ offset: 1, deleteCount: 5, insert: '' }]);
  buffer.answer();
  await settle(binding, buffer);
  assert.equal(doc.getText('content').toString(), 'x', 'the deleted text did not come back');
  assert.equal(buffer.text, 'x');
  assert.equal(binding.repairs, 0);
  binding.dispose();
});

test('undo removes only local text; a collaborator\'s text stays; redo restores', async () => {
  const [a, b] = linkedDocs();
  const buffer = new AsyncBuffer('');
  const binding = new BufferBinding(a.getText('content'), buffer, { logger: silentLogger, captureTimeout: 0 });
  buffer.binding = binding;
  buffer.change([{ offset: 0, deleteCount: 0, insert: 'mine ' }]);
  b.getText('content').insert(0, 'theirs ');
  await settle(binding);
  assert.equal(buffer.text, 'theirs mine ');
  b.getText('content').insert(12, 'after');
  await settle(binding);
  assert.ok(await binding.undo());
  await settle(binding);
  assert.equal(buffer.text, 'theirs after');
  assert.equal(b.getText('content').toString(), 'theirs after');
  assert.ok(await binding.redo());
  await settle(binding);
  assert.equal(buffer.text, 'theirs mine after');
  binding.dispose();
});

test('one undo step is one run of typing at one place, as in VS Code, however quickly the next one follows', async () => {
  const [a] = linkedDocs();
  const buffer = new AsyncBuffer('first line\nsecond line\n');
  a.getText('content').insert(0, 'first line\nsecond line\n');
  const binding = new BufferBinding(a.getText('content'), buffer, { logger: silentLogger, captureTimeout: 60_000 });
  buffer.binding = binding;
  const type = (offset: number, text: string): void => [...text].forEach((ch, k) => buffer.change([{ offset: offset + k, deleteCount: 0, insert: ch }]));
  type(10, ' one'); // end of the first line, key by key
  buffer.change([{ offset: 13, deleteCount: 1, insert: '' }]); // a backspace over what was just typed
  type(13, 'E');
  type(26, ' two'); // end of the second line: a new step
  await settle(binding);
  assert.equal(buffer.text, 'first line onE\nsecond line two\n');
  assert.ok(await binding.undo());
  await settle(binding);
  assert.equal(buffer.text, 'first line onE\nsecond line\n');
  assert.ok(await binding.undo());
  await settle(binding);
  assert.equal(buffer.text, 'first line\nsecond line\n');
  assert.ok(await binding.redo());
  assert.ok(await binding.redo());
  await settle(binding);
  assert.equal(buffer.text, 'first line onE\nsecond line two\n');
  binding.dispose();
});

test('random interleavings of local typing and remote edits converge with every keystroke kept', async () => {
  let seed = 42;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  for (let round = 0; round < 20; round++) {
    const [a, b] = linkedDocs();
    const buffer = new AsyncBuffer('');
    buffer.lateEcho = round % 2 === 1;
    // An editor that breaks its promise (applies a stale edit at the lines and columns it was
    // addressed by, as VS Code did without edit metadata) is recovered from, without losing text.
    buffer.applyStaleAtPositions = round % 4 === 2;
    const binding = new BufferBinding(a.getText('content'), buffer, { logger: silentLogger });
    buffer.binding = binding;
    const markers: string[] = [];
    for (let i = 0; i < 60; i++) {
      const which = rand(3);
      const marker = `<${round}.${i}>${rand(3) === 0 ? '\n' : ''}`;
      markers.push(marker);
      // Insert only at marker boundaries so that no marker is split.
      const boundaries = (text: string) => [0, ...[...text.matchAll(/<\d+\.\d+>\n?/g)].map((m) => m.index! + m[0].length)];
      if (which === 0) {
        const t = b.getText('content');
        const bounds = boundaries(t.toString());
        t.insert(bounds[rand(bounds.length)], marker);
      } else {
        const bounds = boundaries(buffer.text);
        buffer.change([{ offset: bounds[rand(bounds.length)], deleteCount: 0, insert: marker }]);
      }
      if (rand(4) === 0) await new Promise((r) => setImmediate(r));
    }
    await settle(binding, buffer);
    const text = a.getText('content').toString();
    assert.equal(b.getText('content').toString(), text);
    assert.equal(buffer.text, text);
    if (buffer.applyStale || buffer.applyStaleAtPositions) {
      // A stale edit misplaces text in the buffer for a moment, and a keystroke in that moment may
      // land inside someone else's marker: nothing may be lost or doubled, though.
      const chars = (s: string) => [...s].sort().join('');
      assert.equal(chars(text), chars(markers.join('')), `round ${round}: characters lost or duplicated`);
    } else {
      for (const m of markers) assert.ok(text.includes(m), `round ${round}: ${m} lost`);
    }
    binding.dispose();
  }
});

test('a remote edit the editor applies on top of a racing keystroke is not sent back a second time', async () => {
  // Seen in VS Code: a peer's word applied one line down after a keystroke at the top landed first
  // came back as a "local" edit, and both editors ended with the word twice.
  const [a, b] = linkedDocs();
  b.getText('content').insert(0, 'line one\nline two\n');
  const buffer = new AsyncBuffer('line one\nline two\n');
  buffer.applyStaleAtPositions = true;
  const binding = new BufferBinding(a.getText('content'), buffer, { logger: silentLogger });
  buffer.binding = binding;
  b.getText('content').insert('line one\n'.length, 'typed '); // the binding sends it to the buffer now
  buffer.change([{ offset: 0, deleteCount: 0, insert: 'B1' }]); // and the user's keystroke lands first
  await settle(binding);
  const expected = 'B1line one\ntyped line two\n';
  assert.equal(buffer.text, expected);
  assert.equal(a.getText('content').toString(), expected);
  assert.equal(b.getText('content').toString(), expected);
  binding.dispose();
});

/**
 * A known failure, with an editor that breaks the version-stamp promise (the binding fuzz's `ontop`
 * mode, seed 1003): the binding re-derives what the buffer lacks by a diff of the two texts, which
 * matches characters by value, so the buffer's ")" is matched to the wrong one and typing over it
 * adds a second ")": "(A0){})". Taking the misapplied change back exactly (its insertions deleted,
 * what it deleted read back from the shared text) passes this test, but was reverted: over the 94
 * seeds of 1000–1399 that draw `ontop` it did not lower the seeds that lose a character (28 against
 * 23) and doubled those where a flight's echo was never recognised and the binding stalled (6 against 3).
 */
test('a remote edit the editor applies on top of keystrokes: typing over a bracket after it doubles nothing', { todo: 'the on-top change is re-derived by a diff that matches characters by value (see above)' }, async () => {
  const [a, b] = linkedDocs();
  const buffer = new AsyncBuffer('');
  buffer.applyStaleAtPositions = true;
  const binding = new BufferBinding(a.getText('content'), buffer, { logger: silentLogger });
  buffer.binding = binding;
  buffer.change([{ offset: 0, deleteCount: 0, insert: '()' }]); // typed, the caret between
  b.getText('content').insert(2, '{}'); // the binding sends it to the buffer now
  buffer.change([{ offset: 1, deleteCount: 0, insert: 'A' }]); // keystrokes land first
  buffer.change([{ offset: 2, deleteCount: 0, insert: '0' }]);
  // The editor puts "{}" at line 0, column 2, where it was addressed: inside "(A0)".
  for (let i = 0; i < 100 && buffer.text !== '(A{}0)'; i++) await new Promise((r) => setImmediate(r));
  assert.equal(buffer.text, '(A{}0)');
  buffer.change([{ offset: 5, deleteCount: 1, insert: ')' }]); // typing over the auto-closed ")"
  await settle(binding, buffer);
  try {
    assert.equal(a.getText('content').toString(), '(A0){}');
    assert.equal(buffer.text, '(A0){}');
    assert.equal(b.getText('content').toString(), '(A0){}');
  } finally {
    binding.dispose();
  }
});

test('an edit the editor reports long after applying it is still recognised as its own (the binding waits, never guesses)', async () => {
  const [a, b] = linkedDocs();
  b.getText('content').insert(0, 'base');
  const buffer = new AsyncBuffer('base');
  const binding = new BufferBinding(a.getText('content'), buffer, { logger: silentLogger, echoTimeoutMs: 5 });
  buffer.binding = binding;
  buffer.held = true; // the editor applies edits but reports nothing for a while
  b.getText('content').insert(4, ' remote');
  await new Promise((r) => setTimeout(r, 50)); // past the binding's echo timeout: it only logs
  buffer.change([{ offset: 0, deleteCount: 0, insert: 'mine ' }]); // typed meanwhile
  buffer.release();
  await settle(binding);
  assert.equal(a.getText('content').toString(), 'mine base remote');
  assert.equal(buffer.text, 'mine base remote');
  assert.equal(b.getText('content').toString(), 'mine base remote');
  binding.dispose();
});

test('an editor that reports first, saying it applied an edit that changed nothing, is not waited on forever', async () => {
  const [a, b] = linkedDocs();
  b.getText('content').insert(0, 'base');
  const buffer = new AsyncBuffer('base');
  buffer.reportsBeforeAnswer = true;
  const binding = new BufferBinding(a.getText('content'), buffer, { logger: silentLogger, echoTimeoutMs: 5 });
  buffer.binding = binding;
  buffer.swallow = 2; // "applied", twice, and nothing happened
  b.getText('content').insert(4, ' remote');
  for (let i = 0; i < 200 && buffer.text !== 'base remote'; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(buffer.text, 'base remote', 'the collaborator\'s text reached the buffer');
  buffer.change([{ offset: 0, deleteCount: 0, insert: 'mine ' }]);
  b.getText('content').insert(0, '> ');
  await settle(binding, buffer);
  assert.equal(a.getText('content').toString(), '> mine base remote');
  assert.equal(buffer.text, '> mine base remote');
  binding.dispose();
});

test('a buffer that disagrees with the shared text is merged with it, never overwritten', async () => {
  const doc = new Y.Doc();
  const ytext = doc.getText('content');
  ytext.insert(0, 'hello brave world');
  const buffer = new AsyncBuffer('stale copy from disk');
  const binding = new BufferBinding(ytext, buffer, { logger: silentLogger });
  buffer.binding = binding;
  await settle(binding);
  assert.equal(buffer.text, 'hello brave world');
  // As if keystrokes ("big ") and a shared edit ("brave ") had both been missed behind our back.
  buffer.text = 'hello big world';
  (buffer as unknown as { hostText: string }).hostText = 'hello big world';
  assert.equal(binding.verify(), false);
  await settle(binding);
  assert.equal(buffer.text, ytext.toString(), 'buffer and shared text agree again');
  // Nothing removed: each side's text is still there, character by character, in order.
  const keeps = (whole: string, part: string) => [...part].every(((i) => (ch: string) => (i = whole.indexOf(ch, i) + 1) > 0)(0));
  for (const side of ['hello brave world', 'hello big world']) assert.ok(keeps(buffer.text, side), `${side} kept in ${JSON.stringify(buffer.text)}`);
  assert.equal(binding.repairs, 1);
  assert.equal(binding.verify(), true);
  binding.dispose();
});

test('a read-only guest\'s keystrokes are undone in its buffer and never reach the shared text', async () => {
  const [a, b] = linkedDocs();
  b.getText('content').insert(0, 'shared text\n');
  const buffer = new AsyncBuffer('shared text\n');
  let refused = 0;
  const binding = new BufferBinding(a.getText('content'), buffer, { logger: silentLogger, readOnly: () => true, onRefused: () => refused++ });
  buffer.binding = binding;
  buffer.change([{ offset: 0, deleteCount: 6, insert: 'hacked' }]);
  b.getText('content').insert(0, 'owner: ');
  await settle(binding, buffer);
  assert.equal(buffer.text, 'owner: shared text\n');
  assert.equal(b.getText('content').toString(), 'owner: shared text\n');
  assert.ok(refused > 0);
  binding.dispose();
});
