/**
 * The no-lost-keystroke fuzz, in plain Node: two or three peers, each an editor bound to its own
 * Y.Doc, the docs linked by a network that delivers late. Each typist inserts tokens nobody else
 * types (so the oracle is exact), with auto-closing brackets, deletes some, pastes a new one over one
 * of its own, edits at several places in one change, and (undo test) undoes and redoes in bursts;
 * often at the same spot as the others. At the end every buffer and every Y.Text are identical, every token a typist kept is there
 * exactly once and every token it deleted is gone, and no binding needed a repair.
 *
 * Seeded: a failure prints its seed; HYPERPAIR_FUZZ_SEED=<n> replays it, HYPERPAIR_FUZZ_OPS=<n>
 * sets the operations per typist (a long run), HYPERPAIR_FUZZ_SEEDS=<n> how many seeds, and
 * HYPERPAIR_FUZZ_EXTRA the operations still known to fail (below).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { BufferBinding } from '../../src/sync/buffer-binding';
import { createStreamLogger, silentLogger } from '../../src/session/log';
import { SimEditor, seededRandom, simTrace, ticks, trace, type Rand } from '../helpers/sim-editor';
import { applyRemoteUpdate } from '../../src/sync/remote-deletions';

const OPS = Number(process.env.HYPERPAIR_FUZZ_OPS ?? 40);
const SEEDS = process.env.HYPERPAIR_FUZZ_SEED ? [Number(process.env.HYPERPAIR_FUZZ_SEED)] : seedsFrom(Number(process.env.HYPERPAIR_FUZZ_SEEDS ?? 12));

function seedsFrom(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 1000 + i);
}

/**
 * Operations beyond typing, deleting, pasting over a selection (`paste`) and multi-cursor edits:
 * undo/redo bursts (`undo`, run by the undo test), and one still known to fail, run only when named in
 * HYPERPAIR_FUZZ_EXTRA: editors that apply a stale edit on top of a keystroke (`ontop`: characters
 * doubled or lost). Such an editor breaks the version-stamp promise (EditorBuffer.applyEdits; the VS
 * Code adapter keeps it). Of seeds 1000–1199, 49 draw `ontop`: 46 fail, 10 of them losing a
 * character, and in 2 a flight's echo is never recognised and the binding stalls (2026-12-04, a loop
 * over HYPERPAIR_FUZZ_SEED). One mechanism is a known-failing test in binding-core.test.ts.
 *
 * `paste` was known to fail until 2026-12-04: 3 of seeds 1000–1199 split a word, none lost or doubled
 * a character. Each was a gap in word-mend.ts: a collaborator pasting over their own text inserts
 * right before its first character, where a mend had just put the person's letters, and Yjs ordered
 * the two by client id (1108: "<" "(C3)" "A1>"; the letters put again had new clocks, so the second
 * split was not recognised); the letters counted for a mend ran past a deletion pending in the buffer,
 * and the mend was refused (1165: "<B" "[A6]" "9>"); the person deleted something elsewhere before
 * the racing text arrived in their word, and only the place they last typed was looked at (1058).
 * Seeds 1000–1199 with paste: every token whole in 200 of 200, no character lost or doubled in 200 of
 * 200, with undo/redo bursts in 200 of 200. The fixed-seed replays below predate it and run without it.
 */
const EXTRA = (process.env.HYPERPAIR_FUZZ_EXTRA ?? '').split(',').filter(Boolean);
const MODES = ['paste', ...EXTRA];

const PAIRS = ['<>', '()', '[]', '{}'];
const TOKEN = /[<([{][A-C]\d+[>)\]}]/g;

interface Peer {
  doc: Y.Doc;
  editor: SimEditor;
  binding: BufferBinding;
}

/** Links docs so that each update reaches every other doc a few event-loop turns later, in order. */
function network(docs: Y.Doc[], rand: Rand): { quiet(): boolean } {
  let inTransit = 0;
  docs.forEach((from, i) => {
    const queues = docs.map(() => [] as Uint8Array[]);
    from.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === 'net') return;
      docs.forEach((to, j) => {
        if (j === i) return;
        queues[j].push(update);
        inTransit++;
        void ticks(rand, 4).then(() => {
          applyRemoteUpdate(to, queues[j].shift()!, 'net');
          inTransit--;
        });
      });
    });
  });
  return { quiet: () => inTransit === 0 };
}

/**
 * Between two keystrokes of one person, the editor has told the extension host of the first (a
 * person types far slower than that round trip). Collaborators' edits still arrive at any moment.
 */
async function humanPause(editor: SimEditor, rand: Rand): Promise<void> {
  await ticks(rand, 2);
  while (!editor.caughtUp) await ticks(rand, 1);
}

class Typist {
  readonly kept = new Set<string>();
  readonly deleted = new Set<string>();
  private count = 0;
  /** The rest of the token being typed, character by character. */
  private typing?: { rest: string[]; close: string; autoClose: boolean };
  constructor(
    private readonly name: string,
    private readonly peer: Peer,
    private readonly rand: Rand,
    private readonly extra: ReadonlySet<string>,
  ) {
    // `react`: the person types the moment the window applied a collaborator's edit, before the
    // extension host heard of that edit or of the editor's answer (session 14's lost letters).
    if (extra.has('react')) {
      peer.editor.afterApply = () => {
        if (this.typing?.rest.length && this.rand(2) === 0) this.typeNext();
      };
    }
  }

  private newToken(): string {
    const [open, close] = PAIRS[this.rand(PAIRS.length)];
    return `${open}${this.name}${this.count++}${close}`;
  }

  /** Where a token may go without splitting another: the start, or the end of a complete token. */
  private spots(): number[] {
    return [0, ...[...this.peer.editor.text.matchAll(TOKEN)].map((m) => m.index! + m[0].length)];
  }

  private spot(): number {
    const spots = this.spots();
    // Half the time at the last spot, where the others are likely typing too.
    return this.rand(2) === 0 ? spots[spots.length - 1] : spots[this.rand(spots.length)];
  }

  async run(ops: number): Promise<void> {
    for (let i = 0; i < ops; i++) {
      const action = this.rand(10);
      if (action === 5) this.deleteOwn();
      else if (action === 6 && this.extra.has('paste')) this.pasteOver();
      else if (action === 7) this.multiEdit();
      else if (action >= 8 && this.extra.has('undo')) await this.undoBurst();
      else await this.typeToken();
      // One undo step per action: close it once the binding has seen the action's last change.
      while (!this.peer.editor.caughtUp) await ticks(this.rand, 1);
      this.peer.binding.undoManager.stopCapturing();
      await ticks(this.rand, 3);
    }
  }

  /** Character by character, with auto-closing pairs half the time (the closer typed over). */
  private async typeToken(): Promise<void> {
    const { editor } = this.peer;
    const token = this.newToken();
    const open = token[0];
    const close = token[token.length - 1];
    editor.moveTo(this.spot());
    const autoClose = this.rand(2) === 0;
    if (autoClose) {
      editor.typePair(open, close);
    } else editor.type(open);
    this.typing = { rest: [...token.slice(1)], close, autoClose };
    while (this.typing.rest.length) {
      await humanPause(editor, this.rand);
      if (this.typing.rest.length) this.typeNext();
    }
    this.typing = undefined;
    this.kept.add(token);
  }

  /** The next character of the token being typed; its closer typed over an auto-closed one. */
  private typeNext(): void {
    const { editor } = this.peer;
    const typing = this.typing!;
    const ch = typing.rest.shift()!;
    if (!typing.rest.length && typing.autoClose && editor.text[editor.caret] === typing.close) editor.type(ch, 1);
    else editor.type(ch);
  }

  /**
   * One of its tokens, where the buffer shows it (after an undo burst, a redone token may not have
   * reached the buffer yet; the final check finds any that never does).
   */
  private ownToken(): { token: string; at: number } | undefined {
    const mine = [...this.kept];
    if (!mine.length) return undefined;
    const token = mine[this.rand(mine.length)];
    const at = this.peer.editor.text.indexOf(token);
    return at < 0 ? undefined : { token, at };
  }

  private deleteOwn(): void {
    const own = this.ownToken();
    if (!own) return;
    this.peer.editor.change([{ offset: own.at, deleteCount: own.token.length, insert: '' }]);
    this.peer.editor.moveTo(own.at);
    this.kept.delete(own.token);
    this.deleted.add(own.token);
  }

  /** Select one of its tokens and paste a new one over it. */
  private pasteOver(): void {
    const own = this.ownToken();
    if (!own) return;
    const token = this.newToken();
    this.peer.editor.moveTo(own.at);
    this.peer.editor.type(token, own.token.length);
    this.kept.delete(own.token);
    this.deleted.add(own.token);
    this.kept.add(token);
  }

  /** Several changes in one event, as multi-cursor typing or a snippet makes them. */
  private multiEdit(): void {
    const spots = [...new Set(Array.from({ length: 2 + this.rand(2) }, () => this.spot()))].sort((a, b) => a - b);
    const edits = spots.map((offset) => {
      const token = this.newToken();
      this.kept.add(token);
      return { offset, deleteCount: 0, insert: token };
    });
    this.peer.editor.change(edits);
  }

  /** Undo a few of its steps, one by one while the others type, then redo them all. */
  private async undoBurst(): Promise<void> {
    const { binding, editor } = this.peer;
    // The undo command reaches the extension host after the change events typed before it.
    while (!editor.caughtUp) await ticks(this.rand, 1);
    let undone = 0;
    for (let n = 1 + this.rand(3); n > 0 && (await binding.undo()); n--) {
      undone++;
      await ticks(this.rand, 3);
    }
    for (; undone > 0; undone--) {
      assert.ok(await binding.redo(), `${this.name}: redo after undo did nothing`);
      await ticks(this.rand, 3);
    }
  }
}

async function settle(peers: Peer[], net: { quiet(): boolean }): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    const done = net.quiet() && peers.every((p) => p.binding.settled && p.editor.caughtUp && p.editor.text === p.doc.getText('content').toString());
    if (done) return;
    await Promise.all(peers.map((p) => p.binding.whenSettled()));
    await new Promise((r) => setImmediate(r));
  }
}

async function fuzz(seed: number, ops: number, extra: ReadonlySet<string>): Promise<{ repairs: number; rejected: number; length: number }> {
  const rand = seededRandom(seed);
  const peerCount = 2 + rand(2);
  const onTop = rand(4) === 0 && extra.has('ontop');
  // Seeded client ids too: Yjs orders concurrent insertions by them, so a seed replays exactly.
  const docs = Array.from({ length: peerCount }, (_, i) => Object.assign(new Y.Doc(), { clientID: 1 + i + 10 * rand(1e6) }));
  // `newline`: the file ends with a line break, as most do, so nobody types at the very end.
  const start = extra.has('newline') ? '\n' : '';
  if (start) {
    const first = new Y.Doc();
    first.getText('content').insert(0, start);
    docs.forEach((doc) => Y.applyUpdate(doc, Y.encodeStateAsUpdate(first)));
  }
  const net = network(docs, rand);
  const peers: Peer[] = docs.map((doc) => {
    const editor = new SimEditor(start, { rand, onTop, keepCarets: true });
    editor.name = 'ABC'[docs.indexOf(doc)];
    const logger = simTrace && process.env.HYPERPAIR_SIM_TRACE !== 'editor' ? createStreamLogger('debug', (line) => trace(() => line.replace(/^\S+ /, ''))) : silentLogger;
    const binding = new BufferBinding(doc.getText('content'), editor, { logger, captureTimeout: 1e9, name: editor.name });
    editor.binding = binding;
    return { doc, editor, binding };
  });
  const typists = peers.map((p, i) => new Typist('ABC'[i], p, rand, extra));
  try {
    await Promise.all(typists.map((t) => t.run(ops)));
    await settle(peers, net);
    const text = peers[0].doc.getText('content').toString();
    peers.forEach((p, i) => {
      assert.equal(p.doc.getText('content').toString(), text, `peer ${i}'s shared text differs`);
      assert.equal(p.editor.text, text, `peer ${i}'s buffer differs from the shared text`);
      assert.equal(p.binding.verify(), true);
    });
    const count = (token: string) => text.split(token).length - 1;
    if (extra.has('undo') || extra.has('chars') || onTop) {
      // A redo puts text back around what others typed meanwhile, and a shifted edit can put a
      // peer's text inside a word for a moment: words may split, but no character is lost or doubled.
      const chars = (s: string) => [...s].sort().join('');
      const kept = start + typists.flatMap((t) => [...t.kept]).join('');
      if (chars(text) !== chars(kept)) {
        const whole = new Set(text.match(TOKEN) ?? []);
        const missing = typists.flatMap((t) => [...t.kept]).filter((k) => !whole.has(k));
        const extra = [...whole].filter((k) => !typists.some((t) => t.kept.has(k)) || count(k) > 1);
        const tally = (s: string, sign: number, into: Map<string, number>) => [...s].forEach((c) => into.set(c, (into.get(c) ?? 0) + sign));
        const diff = new Map<string, number>();
        tally(text, 1, diff);
        tally(kept, -1, diff);
        const off = [...diff].filter(([, n]) => n !== 0).map(([c, n]) => `${JSON.stringify(c)} ${n > 0 ? '+' : ''}${n}`);
        assert.fail(`characters lost or doubled (${off.join(', ')}): not whole ${missing.join(' ') || '-'}, unexpected ${extra.join(' ') || '-'} in ${JSON.stringify(text)}`);
      }
    } else {
      for (const t of typists) {
        for (const token of t.kept) assert.equal(count(token), 1, `${token} appears ${count(token)} times in ${JSON.stringify(text)}`);
        for (const token of t.deleted) assert.equal(count(token), 0, `deleted ${token} is back in ${JSON.stringify(text)}`);
      }
    }
    const repairs = peers.reduce((n, p) => n + p.binding.repairs, 0);
    assert.equal(repairs, 0, 'a binding had to repair its buffer');
    return { repairs, rejected: peers.reduce((n, p) => n + p.editor.rejected, 0), length: text.length };
  } catch (err) {
    simTrace?.print();
    const modes = [...extra].join(',');
    (err as Error).message += `\n  fuzz seed ${seed} (${peerCount} peers${onTop ? ', edits applied on top' : ''}); replay: HYPERPAIR_FUZZ_SEED=${seed} HYPERPAIR_FUZZ_OPS=${ops}${modes ? ` HYPERPAIR_FUZZ_EXTRA=${modes}` : ''}`;
    throw err;
  } finally {
    peers.forEach((p) => p.binding.dispose());
    simTrace?.clear();
  }
}

test('fuzz: concurrent typists in simulated asynchronous editors lose no character, double none, need no repair', async () => {
  let rejected = 0;
  for (const seed of SEEDS) rejected += (await fuzz(seed, OPS, new Set([...MODES, 'chars']))).rejected;
  assert.ok(rejected > 0, 'the editors refused no edit: the fuzz did not exercise the races');
});

/**
 * Word-level: every token whole, exactly once. Fixed: a refused flight folded back merged (seed 1000),
 * and carets pushed past text arriving at them (the editor now keeps them, see keep-carets.ts). Still
 * failed on 3 of seeds 1000–1199 (1039, 1049, 1153) before word-mend.ts.
 *
 * 1153, traced to where Y.Text.insert puts text: after the character at index − 1 it moves right past
 * every deleted item before it inserts (its attribute handling skips tombstones), so the new text's
 * origin is the end of the deleted run, not the character before it. B typed "(B", then "1"; between
 * them in the Y.Text lay A's "[A0]", deleted (it never reached B's editor). B's "1" went after that
 * tombstone, where A's concurrent "(A1)" (typed after "[A0]") was also attached: Yjs ordered A's first,
 * giving "(B(A1)1)". A keystroke that should stay attached to the character before it cannot be told
 * so through Y.Text's public API; a binding that knows (it typed that character) could insert the
 * pair again (delete it, insert it with the keystroke) to keep the run whole. Built the other way
 * round (word-mend.ts): the person whose word the collaborator's text split puts their letters after
 * it again before it, once it arrives. Seeds 1000–1199: 200 of 200 whole. 1049 was the last: a
 * third peer's "<C>" arrived between a typist's "<A" and "33", and the mend was not made because a
 * deletion was pending right after "33" (only an insertion there has to stay after the moved letters).
 */
test('fuzz: every token whole and exactly once', async () => {
  for (const seed of SEEDS) await fuzz(seed, OPS, new Set(MODES));
});

/**
 * The person types the moment the window applied a collaborator's edit, before the extension host
 * heard of it (the editor's answer, and its change event, reach the binding after the keystroke's),
 * with undo/redo bursts. No character lost or doubled; words may split: a collaborator's text that
 * arrives at the caret at the very end of the text cannot be widened (keep-carets.ts), so the window
 * pushes the caret past it, and a keystroke typed before the binding puts the caret back lands after
 * it (seeds 1000–1199 without undo: a token split in most at 40 operations; no character lost in 200
 * of 200, nor with `newline`, where the text ends with a line break, though tokens still split there).
 * Seeds 1000–1199 with undo: every character whole in 200 of 200 after three
 * fixes (2026-12-04): 1070, a redo's insertion composed with the flight's removal of the undone
 * text into one replacement (binding-races.ts); 1090, a redone "}" spared as a collaborator's arrival
 * at a line end (line-end-arrivals.ts, Redone); 1208, the redo of a paste kept as "their copy
 * replaced yours" (BufferBinding's observer). Undo alone, seeds 1200–1599: 1480 still doubles a
 * token (HYPERPAIR_FUZZ_EXTRA=undo HYPERPAIR_FUZZ_SEED=1480), not diagnosed.
 */
test('fuzz: keystrokes typed the moment a collaborator\'s edit is applied, with undo/redo: no character lost or doubled', async () => {
  for (const seed of SEEDS) await fuzz(seed, OPS, new Set([...MODES, 'react', 'undo']));
});

/** Seed 1049 (see above), beyond the default seeds. */
test('fuzz: every token whole, seed 1049', async () => {
  await fuzz(1049, OPS, new Set(EXTRA));
});

/**
 * Fixed: an undo then its redo left "their copy replaced yours" in `pending` (Yjs redoes with new
 * items), so deleting the token deleted only the old copy (seed 1001); the same across a raced flight
 * (1040), an undo taken before a held keystroke (1058), and a flight refused while the person deleted
 * exactly what it deleted (1049, BufferBinding.foldBack). 1160: Y.UndoManager redoes each deleted
 * item just before its own tombstone, so a redone token can come back in pieces with a peer's text
 * between them ("{" [A3] "B0}"); the buffer's copy is now matched to the pieces (trimNoOps), and
 * deleting it deletes them all. Seeds 1000–1199 at 40 operations: 200 of 200 (a loop over
 * HYPERPAIR_FUZZ_SEED). Words may still split around a redo (the test above checks wholeness).
 */
test('fuzz with undo/redo bursts: no character lost or doubled, no repair', async () => {
  for (const seed of SEEDS) await fuzz(seed, OPS, new Set([...MODES, 'undo']));
});

/**
 * Seed 1480, beyond the default seeds (undo alone; it fails from 21 operations on): the flight held
 * the undo's removal of "<B13>", the redo's "<B13>" was pending beside a collaborator's "[A9]" that
 * replaced the "{A2}" before it, and composed they made one replacement of "{A2}<B13>" by
 * "[A9]<B13>", which trimNoOps leaves whole; the person's deletion of "<B13>" then deleted only the
 * old copy and the redone one came back. A removal that the pending edits put back exactly is now
 * dropped from both before they are composed (binding-races.ts, `withoutPutBack`). Seeds 1200–1599
 * (undo alone, 40 operations): 400 of 400.
 */
test('fuzz with undo/redo bursts, seed 1480: a redone token next to a collaborator\'s replacement stays deleted', async () => {
  await fuzz(1480, Math.max(OPS, 22), new Set([...MODES, 'undo']));
});

/**
 * Undo/redo seeds that replay two fixed losses exactly (client ids and timing come from the seed):
 * 1040, a token deleted while the redo of its undo was on its way came back (the raced flight's
 * removal and the redo's re-insertion now cancel out, BufferBinding.race); 1058, a keystroke held
 * for the editor's answer was taken after the undo, which skipped it and cleared the redo stack (undo
 * now waits for it). 2 of seeds 1000–1199 still fail (1049, 1160; 10 before these fixes).
 */
test('undo/redo: a deletion racing a redo stays deleted, and an undo waits for the keystrokes before it', async () => {
  for (const seed of [1040, 1058]) await fuzz(seed, 40, new Set(['undo']));
});

/**
 * Issue 11, scenario 1 and 5: two people type at the end of the same Markdown line at once, with
 * auto-closing brackets (typing `<` inserts `<>` with the caret between; typing `>` there types over
 * it). Seen in two real editors: one person's ten letters vanished, or the two texts interleaved.
 */
async function sameSpot(seed: number): Promise<string> {
  const rand = seededRandom(seed);
  const line = '# Notes: ';
  const [da, db] = [new Y.Doc(), new Y.Doc()];
  da.getText('content').insert(0, line);
  Y.applyUpdate(db, Y.encodeStateAsUpdate(da));
  const net = network([da, db], rand);
  const peers = [da, db].map((doc) => {
    const editor = new SimEditor(line, { rand, keepCarets: true });
    const binding = new BufferBinding(doc.getText('content'), editor, { logger: silentLogger });
    editor.binding = binding;
    editor.moveTo(line.length);
    return { doc, editor, binding };
  });
  const closers: Record<string, string> = { '<': '>', '(': ')', '[': ']' };
  const typeLikeAnEditor = async (editor: SimEditor, text: string): Promise<void> => {
    for (const ch of text) {
      await humanPause(editor, rand);
      if (closers[ch]) {
        editor.typePair(ch, closers[ch]);
      } else if (Object.values(closers).includes(ch) && editor.text[editor.caret] === ch) editor.type(ch, 1);
      else editor.type(ch);
    }
  };
  const a = ' <AAAAAAAAAA> (a a a)';
  const b = ' <bbbbbbbbbb> [b b b]';
  try {
    await Promise.all([typeLikeAnEditor(peers[0].editor, a), typeLikeAnEditor(peers[1].editor, b)]);
    await settle(peers, net);
    const text = da.getText('content').toString();
    for (const p of peers) assert.equal(p.editor.text, text);
    assert.equal(db.getText('content').toString(), text);
    assert.ok(text === line + a + b || text === line + b + a, `seed ${seed}: ${JSON.stringify(text)}`);
    assert.equal(peers[0].binding.repairs + peers[1].binding.repairs, 0);
    return text;
  } finally {
    peers.forEach((p) => p.binding.dispose());
  }
}

test('two people typing at the end of one line with auto-closing brackets keep every letter, each text whole', async () => {
  for (let seed = 1; seed <= 40; seed++) await sameSpot(seed);
});
