/**
 * One binding per shared text, handed from one buffer to the next (issue 11, item 2). VS Code moves a
 * file someone has open by opening a new document from a snapshot of the old one and closing the old
 * one later: keystrokes typed meanwhile land in the old document, and the new one may be typed in
 * before the old one is gone. A second binding on the text is refused; the new buffer is bound when
 * the old binding is disposed, with the snapshot as its base, and nothing either buffer had is lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { BufferBinding, isBound } from '../../src/sync/buffer-binding';
import { silentLogger } from '../../src/session/log';
import { SimEditor, seededRandom, ticks, type Rand } from '../helpers/sim-editor';

const SEEDS = process.env.HYPERPAIR_FUZZ_SEED ? [Number(process.env.HYPERPAIR_FUZZ_SEED)] : Array.from({ length: 60 }, (_, i) => 5000 + i);

function bind(ytext: Y.Text, editor: SimEditor, base?: string): BufferBinding {
  const binding = new BufferBinding(ytext, editor, { logger: silentLogger, base });
  editor.binding = binding;
  return binding;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 20_000; i++) {
    if (check()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what}`);
}

async function caughtUp(editor: SimEditor): Promise<void> {
  await until(() => editor.caughtUp, 'the editor reported every change');
}

test('a second binding on one shared text is refused until the first is disposed', () => {
  const ytext = new Y.Doc().getText('content');
  const rand = seededRandom(1);
  const first = bind(ytext, new SimEditor('', { rand }));
  assert.equal(isBound(ytext), true);
  assert.throws(() => bind(ytext, new SimEditor('', { rand })), /bound to another buffer/);
  first.dispose();
  assert.equal(isBound(ytext), false);
  bind(ytext, new SimEditor('', { rand })).dispose();
});

test('a moved document takes over the text: what the old one got after the snapshot comes first, then what the new one got', async () => {
  const doc = new Y.Doc();
  const ytext = doc.getText('content');
  ytext.insert(0, 'race\n');
  const rand = seededRandom(7);
  const old = new SimEditor('race\n', { rand });
  const oldBinding = bind(ytext, old);
  old.moveTo(4);
  old.type(' w0');
  await caughtUp(old);
  const snapshot = old.text; // VS Code opens the new document from this
  const moved = new SimEditor(snapshot, { rand });
  old.type(' w1'); // typed in the old document after the snapshot
  moved.moveTo(snapshot.length - 1); // the caret clamped to the line's end
  moved.type(' w2'); // typed in the new one before the old one closed
  await caughtUp(old);
  await caughtUp(moved);
  oldBinding.dispose();
  const binding = bind(ytext, moved, snapshot);
  await until(() => binding.settled && moved.caughtUp && moved.text === ytext.toString(), 'settled');
  assert.equal(ytext.toString(), 'race w0 w1 w2\n');
  assert.equal(moved.text, 'race w0 w1 w2\n');
  binding.dispose();
});

/**
 * VS Code can report a moved file's new document before it fills it with the old one's text: the base
 * read then is older than what the document holds when it takes over. The changes it then has in
 * common with the shared text are taken once (the two-editor folder rename had '// B ' twice).
 */
test('a moved document whose base was read before VS Code filled it takes each change once', async () => {
  const before = 'console.log("main");\n';
  const typed = '// B console.log("main");\n';
  const cases: Array<{ base: string; moved: string; more?: string; expected: string }> = [
    { base: before, moved: typed, expected: typed }, // read from disk, then filled
    { base: '', moved: typed, expected: typed }, // read empty, then filled
    { base: before, moved: typed, more: 'x', expected: '// B console.log("main");\nx' }, // and typed in after
  ];
  for (const c of cases) {
    const doc = new Y.Doc();
    const ytext = doc.getText('content');
    ytext.insert(0, typed);
    const rand = seededRandom(11);
    const moved = new SimEditor(c.moved, { rand });
    if (c.more) {
      moved.moveTo(c.moved.length);
      moved.type(c.more);
      await caughtUp(moved);
    }
    const binding = bind(ytext, moved, c.base);
    await until(() => binding.settled && moved.caughtUp && moved.text === ytext.toString(), 'settled');
    assert.equal(ytext.toString(), c.expected, JSON.stringify(c));
    assert.equal(moved.text, c.expected);
    binding.dispose();
  }
});

test('typing in the new document before the hand-over text reaches it goes after that text (the person typed it first)', async () => {
  // The two-editor stress: the old document's last words arrived in the new one after the person's
  // next words, typed there at once ("w3" then "1 w12 …" then " w4 … w11").
  for (let seed = 1; seed <= 20; seed++) {
    const doc = new Y.Doc();
    const ytext = doc.getText('content');
    ytext.insert(0, 'race w0\n');
    const snapshot = ytext.toString();
    ytext.insert(7, ' w1 w2'); // typed in the old document after the snapshot
    const moved = new SimEditor(snapshot, { rand: seededRandom(seed) });
    moved.moveTo(7);
    const binding = bind(ytext, moved, snapshot);
    moved.type(' w3'); // at once, before the hand-over's text lands
    await until(() => binding.settled && moved.caughtUp && moved.text === ytext.toString(), 'settled');
    assert.equal(ytext.toString(), 'race w0 w1 w2 w3\n', `seed ${seed}`);
    binding.dispose();
  }
});

test('after a hand-over the caret is past the old document\'s last keystrokes: typing goes on in order', async () => {
  const doc = new Y.Doc();
  const ytext = doc.getText('content');
  ytext.insert(0, 'race\n');
  const rand = seededRandom(8);
  const old = new SimEditor('race\n', { rand, keepCarets: true });
  const oldBinding = bind(ytext, old);
  old.moveTo(4);
  old.type(' w0');
  await caughtUp(old);
  const snapshot = old.text;
  const moved = new SimEditor(snapshot, { rand, keepCarets: true });
  moved.moveTo(snapshot.length - 1);
  old.type(' w1');
  await caughtUp(old);
  oldBinding.dispose();
  const binding = bind(ytext, moved, snapshot);
  await until(() => binding.settled && moved.caughtUp && moved.text === ytext.toString(), 'the hand-over');
  moved.type(' w2');
  await until(() => binding.settled && moved.caughtUp && moved.text === ytext.toString(), 'settled');
  assert.equal(ytext.toString(), 'race w0 w1 w2\n');
  binding.dispose();
});

/**
 * Seeded: keystrokes in the old document, a collaborator's edits arriving from another doc, a
 * snapshot taken at a random moment, keystrokes in both documents after it, then the hand-over.
 * Every token typed anywhere is in the result exactly once, and buffer and shared text agree.
 */
async function handover(seed: number): Promise<void> {
  const rand: Rand = seededRandom(seed);
  // An offset outside every token, so that no token is split by another.
  const spot = (text: string): number => {
    const outside = [...Array(text.length + 1).keys()].filter((i) => text.lastIndexOf('<', i - 1) <= text.lastIndexOf('>', i - 1));
    return outside[rand(outside.length)];
  };
  const here = new Y.Doc();
  const there = new Y.Doc();
  here.on('update', (u: Uint8Array, origin: unknown) => origin !== 'net' && void ticks(rand, 3).then(() => Y.applyUpdate(there, u, 'net')));
  there.on('update', (u: Uint8Array, origin: unknown) => origin !== 'net' && void ticks(rand, 3).then(() => Y.applyUpdate(here, u, 'net')));
  const ytext = here.getText('content');
  ytext.insert(0, 'start\n');
  await until(() => there.getText('content').toString() === 'start\n', 'the start at the collaborator');
  const tokens: string[] = [];
  let n = 0;
  const token = (who: string) => {
    const t = `<${who}${n++}>`;
    tokens.push(t);
    return t;
  };
  const remote = () => {
    const t = there.getText('content');
    t.insert(spot(t.toString()), token('R'));
  };
  const typeIn = async (editor: SimEditor, who: string) => {
    if (rand(3) === 0) editor.moveTo(spot(editor.text));
    editor.type(token(who));
    await ticks(rand, 2);
    await caughtUp(editor); // a person types slower than the round trip
  };

  const old = new SimEditor('start\n', { rand, keepCarets: true });
  const oldBinding = bind(ytext, old);
  old.moveTo(5);
  for (let i = rand(5); i > 0; i--) {
    await typeIn(old, 'O');
    if (rand(2)) remote();
  }
  const snapshot = old.text;
  const moved = new SimEditor(snapshot, { rand, keepCarets: true });
  moved.moveTo(spot(snapshot));
  for (let i = rand(6); i > 0; i--) {
    await typeIn(rand(2) ? old : moved, rand(2) ? 'O' : 'N');
    if (rand(2)) remote();
  }
  await caughtUp(old);
  oldBinding.dispose();
  const binding = bind(ytext, moved, snapshot);
  for (let i = rand(4); i > 0; i--) {
    await typeIn(moved, 'N');
    if (rand(2)) remote();
  }
  const shared = there.getText('content');
  await until(() => binding.settled && moved.caughtUp && moved.text === ytext.toString() && shared.toString() === ytext.toString(), 'settled');
  // The old editor is gone: its tokens count only if it reported them (it did: caughtUp above).
  for (const t of tokens) {
    const count = moved.text.split(t).length - 1;
    assert.equal(count, 1, `seed ${seed}: ${t} appears ${count} times in ${JSON.stringify(moved.text)}`);
  }
  assert.equal(binding.repairs, 0, `seed ${seed}: no repair`);
  binding.dispose();
}

test('hand-over fuzz: every keystroke in either document and every collaborator edit, exactly once', async () => {
  for (const seed of SEEDS) await handover(seed);
});
