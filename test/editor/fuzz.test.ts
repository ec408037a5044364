/**
 * The no-lost-keystroke fuzz (issue 11) in two real VS Code instances: both people type at the same
 * time through the real keyboard, human-like and adversarial — at the same spot and nearby spots,
 * with auto-closing brackets and quotes, accepting a completion, filling a snippet's placeholders,
 * with several cursors, pasting over a selection, pressing Enter on an indented line, and in bursts
 * of undo and redo; and in a TypeScript file with format on type (the built-in formatter rewrites
 * each statement ended by `;` and each line left by Enter while the other types there).
 *
 * Every token a typist types is unique (A's `A123x`, B's `B123y`), so the oracle is exact: at the end
 * both buffers and both disks are identical, and every token is there exactly as often as its typist
 * left it (once; twice with two cursors; not at all if that typist deleted it itself — measured in
 * its own editor around each of its own deletions, since only its own deletions can remove its tokens).
 * Nothing was repaired on the way (the binding logs each repair).
 *
 * Seeded: `HYPERPAIR_FUZZ_SEED=<n>` replays a run (a failure prints its seed), `HYPERPAIR_FUZZ_OPS=<n>`
 * sets the operations per typist (default 12, about 2.5 min on a loaded 2-core machine; 3000 for a long run),
 * `HYPERPAIR_FUZZ_RUNS=<n>` runs n seeds in a row (SEED, SEED+1, …) on one pair of editors.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { rng } from '../chaos/writers';
import { editorTest as fixtureTest, sessionPairSuite, settledText, until, type Editor } from './fixture';

const INITIAL = '# Fuzz notes\nline one\nline two\n    indented line\ncompletionword here\nlast line\n';
const SEED = Number(process.env.HYPERPAIR_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const OPS = Number(process.env.HYPERPAIR_FUZZ_OPS ?? 12);
/** How many fuzz runs (seeds SEED, SEED+1, …) share one pair of editors, each in a file of its own. */
const RUNS = Number(process.env.HYPERPAIR_FUZZ_RUNS ?? 1);
const fuzzFile = (run: number): string => (run === 0 ? 'fuzz.md' : `fuzz-${run + 1}.md`);

const SPOT = 'same-spot.md';
/** The format-on-type fuzz's file: TypeScript, whose built-in support formats a statement on `;` and a line on Enter. */
const TS_FILE = 'fuzz.ts';
const TS_INITIAL = 'function first() {\n    let one = 1;\n    let two = 2;\n}\nlet three = 3;\n';
const suite = sessionPairSuite(
  { ...Object.fromEntries(Array.from({ length: RUNS }, (_, k) => [fuzzFile(k), INITIAL])), [SPOT]: '# Same spot\nThe line\nWords here\n', [TS_FILE]: TS_INITIAL },
  // Suggestions off in TypeScript: one accepted by a commit character (`(`, `;`) would rightly change
  // the typed text, and the oracle counts tokens exactly.
  { '[typescript]': { 'editor.formatOnType': true, 'editor.quickSuggestions': { other: false, comments: false, strings: false }, 'editor.suggestOnTriggerCharacters': false } },
);

function count(text: string, token: string): number {
  return text.split(token).length - 1;
}

type Op = (t: Typist) => Promise<void>;

class Typist {
  /** How often each token this typist typed should be in the final text. */
  readonly expected = new Map<string, number>();
  readonly log: string[] = [];
  private next = 0;

  constructor(
    readonly editor: Editor,
    readonly file: string,
    readonly letter: 'A' | 'B',
    readonly random: () => number,
  ) {}

  get page() {
    return this.editor.page;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.random() * (hi - lo + 1));
  }

  token(): string {
    return `${this.letter}${String(this.next++).padStart(3, '0')}${this.letter === 'A' ? 'x' : 'y'}`;
  }

  /** Human-like: a few to a few tens of milliseconds between keys. */
  async type(text: string): Promise<void> {
    await this.page.keyboard.type(text, { delay: this.int(2, 30) });
  }

  async typeToken(before = ' ', after = '', times = 1): Promise<string> {
    const t = this.token();
    this.expected.set(t, times);
    await this.type(`${before}${t}${after}`);
    return t;
  }

  /** The caret to the start or end of a line near the top, where the other typist also goes. */
  async caretTo(line: number, where: 'Home' | 'End'): Promise<void> {
    await this.page.keyboard.press('Escape');
    await this.page.keyboard.press('Control+Home');
    for (let i = 0; i < line; i++) await this.page.keyboard.press('ArrowDown');
    await this.page.keyboard.press(where);
  }

  /** This typist's own tokens as its own editor has them now, once it has stopped changing. */
  async ownCounts(): Promise<Map<string, number>> {
    let last = '';
    let stable = 0;
    let counts = new Map<string, number>();
    await until(async () => {
      const text = await this.editor.text(this.file);
      const now = new Map([...this.expected.keys()].map((t) => [t, count(text, t)]));
      const key = JSON.stringify([...now]);
      // Unchanged for a second: keystrokes and undo steps reach the extension host with a delay.
      stable = key === last ? stable + 1 : 0;
      last = key;
      counts = now;
      if (stable < 4) await new Promise((r) => setTimeout(r, 250));
      return stable >= 4;
    }, `${this.letter}'s own tokens to settle`, 20_000);
    return counts;
  }

  /**
   * Selects the token just typed (the caret is right after it), as a person does who looks at what
   * they selected: Ctrl+Shift+Left takes the word, and when a collaborator's word arrived glued to it
   * (both typed at one spot: "B010yA012x") the person narrows the selection to their own letters.
   * False, and nothing selected, when the selection is still not the token (a collaborator's text
   * inside it): a person would not paste over that.
   */
  async selectOwn(token: string): Promise<boolean> {
    await this.page.keyboard.press('Control+Shift+ArrowLeft');
    if ((await this.selected()) === token) return true;
    await this.page.keyboard.press('ArrowRight'); // back to the right end of the word: the token's end
    for (let i = 0; i < token.length; i++) await this.page.keyboard.press('Shift+ArrowLeft');
    const selected = await this.selected();
    this.log.push(`selected ${JSON.stringify(selected)} for ${token}`);
    if (selected === token) return true;
    await this.page.keyboard.press('ArrowRight');
    return false;
  }

  /** The text of the first selection, once the extension host's view of it has stopped changing. */
  private async selected(): Promise<string> {
    let last = '';
    let stable = 0;
    await until(async () => {
      const [[anchor, active] = [0, 0]] = await this.editor.agent<number[][]>('selections');
      const text = await this.editor.text(this.file);
      const now = text.slice(Math.min(anchor, active), Math.max(anchor, active));
      stable = now === last && now !== '' ? stable + 1 : 0;
      last = now;
      if (stable < 2) await new Promise((r) => setTimeout(r, 150));
      return stable >= 2;
    }, `${this.letter}'s selection`, 10_000).catch(() => undefined);
    return last;
  }

  /** Runs a deletion of this typist's own: what it removed of its own tokens is no longer expected. */
  async deleting(what: string, fn: () => Promise<void>): Promise<void> {
    const before = await this.ownCounts();
    await fn();
    const after = await this.ownCounts();
    const changed = [...after].filter(([t, n]) => n !== (before.get(t) ?? this.expected.get(t)));
    for (const [t, n] of changed) this.expected.set(t, n);
    this.log.push(`${what}: ${changed.map(([t, n]) => `${t}→${n}`).join(' ') || 'no change'}`);
  }
}

const LINES = 4; // the first lines of the file: both typists keep meeting there

const OPERATIONS: Array<[weight: number, name: string, op: Op]> = [
  [6, 'type at a line end', async (t) => {
    await t.caretTo(t.int(0, LINES - 1), 'End');
    await t.typeToken();
  }],
  [3, 'type at a line start', async (t) => {
    await t.caretTo(t.int(1, LINES - 1), 'Home');
    await t.typeToken('', ' ');
  }],
  [4, 'auto-closing pair', async (t) => {
    await t.caretTo(t.int(0, LINES - 1), 'End');
    const [open, close] = t.pick([['(', ')'], ['[', ']'], ['{', '}'], ['"', '"'], ['`', '`']] as const);
    // Typed as a person does, closing included: the editor inserts the closing one and types over it.
    await t.typeToken(` ${open}`, close);
  }],
  [2, 'accept a completion', async (t) => {
    await t.caretTo(t.int(0, LINES - 1), 'End');
    await t.type(' complet');
    await t.page.keyboard.press('Control+Space');
    const widget = t.page.locator('.suggest-widget.visible');
    const shown = await widget.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false);
    await t.page.keyboard.press(shown ? 'Enter' : 'Escape');
    await t.typeToken();
  }],
  [2, 'type with two cursors', async (t) => {
    await t.caretTo(t.int(1, LINES - 1), 'End');
    await t.editor.command('editor.action.insertCursorBelow');
    // The extension host hears of the second cursor a moment after the window has it.
    await until(async () => (await t.editor.agent<number[][]>('selections')).length === 2, 'a second cursor', 3000).catch(() => undefined);
    // The cursor below keeps the column, which may be inside a token on a longer line: typing there
    // would split that token (the typist's own doing, not a loss). Both cursors go to their line ends.
    await t.page.keyboard.press('End');
    const cursors = (await t.editor.agent<number[][]>('selections')).length;
    await t.typeToken(' ', '', cursors);
    await t.page.keyboard.press('Escape');
  }],
  [2, 'paste over a selection', async (t) => {
    await t.caretTo(t.int(1, LINES - 1), 'End');
    const own = await t.typeToken();
    await t.deleting('paste over own token', async () => {
      if (!(await t.selectOwn(own))) return;
      const a = t.token();
      const b = t.token();
      t.expected.set(a, 1);
      t.expected.set(b, 1);
      await t.page.keyboard.insertText(`${a} ${b}`); // one input, as a paste arrives
      await until(async () => {
        const text = await t.editor.text(t.file);
        return text.includes(a) && text.includes(b);
      }, 'the paste in the own editor', 10_000).catch(() => undefined);
    });
  }],
  [2, 'Enter on an indented line', async (t) => {
    await t.caretTo(3, 'End');
    await t.page.keyboard.press('Enter');
    await t.typeToken('');
  }],
  [2, 'fill a snippet', async (t) => {
    // A snippet with two tab stops, inserted as VS Code does for one accepted from the suggestions:
    // the typist types its tokens over the placeholders, Tab between, while the other types nearby.
    await t.caretTo(t.int(0, LINES - 1), 'End');
    await t.editor.command('editor.action.insertSnippet', { snippet: ' (${1:first}, ${2:second})$0' });
    const first = t.token();
    const second = t.token();
    await t.type(first);
    await t.page.keyboard.press('Tab');
    await t.type(second);
    await t.page.keyboard.press('Tab');
    // A collaborator's edit nearby may end the snippet session: Tab is then a tab, and the second
    // token lands after it, or a placeholder's word stays. Each token is still typed once.
    t.expected.set(first, 1);
    t.expected.set(second, 1);
  }],
  [2, 'undo and redo burst', async (t) => {
    await t.caretTo(t.int(0, LINES - 1), 'End');
    await t.typeToken();
    await t.deleting('undo/redo', async () => {
      const undos = t.int(1, 3);
      for (let i = 0; i < undos; i++) await t.page.keyboard.press('Control+z');
      const redos = t.int(0, undos);
      for (let i = 0; i < redos; i++) await t.page.keyboard.press(t.pick(['Control+Shift+z', 'Control+y']));
    });
  }],
];

/**
 * TypeScript with format on type: the formatter rewrites the statement a `;` ends and the line Enter
 * leaves, by edits of its own computed against the text as it was, while the other types there too.
 */
const TS_LINES = 5;
const FORMAT_OPERATIONS: Array<[weight: number, name: string, op: Op]> = [
  [4, 'a statement ended by ;', async (t) => {
    await t.caretTo(t.int(1, TS_LINES - 1), 'End');
    await t.typeToken(' let ', '=1;');
  }],
  [3, 'a call with arguments', async (t) => {
    await t.caretTo(t.int(1, TS_LINES - 1), 'End');
    await t.typeToken(' f(', ',2);');
  }],
  [3, 'Enter after a statement', async (t) => {
    await t.caretTo(t.int(1, 2), 'End');
    await t.page.keyboard.press('Enter');
    await t.typeToken('let ', '= 4');
  }],
];

function chooseOp(t: Typist, ops = OPERATIONS): [string, Op] {
  const total = ops.reduce((n, [w]) => n + w, 0);
  let r = t.random() * total;
  for (const [w, name, op] of ops) {
    if ((r -= w) < 0) return [name, op];
  }
  return [ops[0][1], ops[0][2]];
}

async function run(t: Typist, ops = OPERATIONS): Promise<void> {
  await t.page.locator('.monaco-editor .view-lines').first().click();
  for (let i = 0; i < OPS; i++) {
    const [name, op] = chooseOp(t, ops);
    t.log.push(`${i}: ${name}`);
    await op(t);
  }
}

/**
 * Issue 11, items 1 and 5: both type at the end of the same line at once. With auto-closing brackets
 * on (the default) one person's letters vanished; with plain words, characters interleaved. Each
 * person's words must arrive whole, once.
 */
async function sameSpot(line: number, typedA: string, typedB: string, words: string[]): Promise<void> {
  const pair = suite.pair();
  await pair.a.agent('openFile', SPOT);
  await pair.b.agent('openFile', SPOT);
  await pair.a.caretAt(line, 0);
  await pair.b.caretAt(line, 0);
  await Promise.all([pair.a.page.keyboard.press('End'), pair.b.page.keyboard.press('End')]);
  await Promise.all([pair.a.page.keyboard.type(typedA, { delay: 40 }), pair.b.page.keyboard.type(typedB, { delay: 40 })]);
  const text = await settledText(pair.a, pair.b, SPOT);
  const lineText = text.split('\n')[line];
  for (const w of words) assert.equal(count(lineText, w), 1, `${JSON.stringify(w)} once and whole in ${JSON.stringify(lineText)}`);
  assert.equal(repairsLogged(pair.a) + repairsLogged(pair.b), 0, 'no buffer needed a repair');
}

fixtureTest(suite.pair, 'both typing at the end of one Markdown line with auto-closing brackets keep every letter (issue 11, 1)', () =>
  sameSpot(1, ' <AAAAAAAAAA> (a a a)', ' <bbbbbbbbbb> [b b b]', ['<AAAAAAAAAA>', '(a a a)', '<bbbbbbbbbb>', '[b b b]']),
);

/**
 * Failed before on a keystroke typed in the round trip between a remote edit landing at the caret and
 * the binding putting the caret back. Remote edits now reach a visible editor through TextEditor.edit,
 * an insertion at a caret widened over the next character, so VS Code keeps the caret before it in its
 * own turn (see src/sync/keep-carets.ts). Passed in two runs of this file in a row.
 */
fixtureTest(
  suite.pair,
  'both typing words at one spot keep each word whole (issue 11, 5)',
  () => sameSpot(2, ' alpha1 alpha2 alpha3', ' BETA1 BETA2 BETA3', ['alpha1', 'alpha2', 'alpha3', 'BETA1', 'BETA2', 'BETA3']),
  120_000,
);

function repairsLogged(e: Editor): number {
  const logs = path.join(e.workspaceDir, '..', 'user-data', 'logs');
  let n = 0;
  const walk = (dir: string): void => {
    for (const d of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) walk(p);
      else if (d.name.endsWith('.log')) n += count(fs.readFileSync(p, 'utf8'), 'the buffer disagreed with the shared text');
    }
  };
  walk(logs);
  return n;
}

/**
 * Traced and fixed: the binding put carets back where the extension host last knew them, often
 * before the person's latest move or keystroke, and widened only insertions at those carets, so a
 * person's next keystrokes split a collaborator's word or their own (seeds 1078646258, 1164720266);
 * a completion accepted at a line end swallowed a collaborator's text that had just arrived there
 * (257761087, 257761091: LineEndArrivals); a keystroke where the rest of a collaborator's word was
 * still on its way went inside it (1004, 1009, also at the second of two cursors: TypingRuns); one
 * Ctrl+Z took back every token typed in the last seconds (undo steps now end where the typing moves).
 * Seeds 2000-2009 and 3000-3009 (HYPERPAIR_FUZZ_RUNS=10): 18 of 20 whole; 3009's completion swallowed
 * text that had arrived in several flights (now one arrival, fixed). Seeds 4000-4009 and 5000-5009:
 * 20 of 20 (4000-4009 were 7 of 10 while every caret before a collaborator's arriving word was moved
 * past it: VS Code applied those selections late, over the person's newer keystrokes; taken out).
 * 2026-12-03, after the binding's fixes for held changes and redos in pieces: seeds 6000-6005 and
 * 7000-7007, 13 of 14 whole (6001: a collaborator's word landed inside one still arriving at a second
 * cursor; every character there). 2026-12-03 evening (three other engineers' tests and benches
 * running): seeds 8000-8006, 3 of 7 whole (8004, 8005: a person pressed End right after the first
 * letters of a word the other was typing and the extension host had not heard of it, so the rest of
 * the word, widened, kept the caret before it: "A004\n    B003yx"; 1047811044, in the full run before,
 * lost a token to a word selection of "B010yA012x", glued the same way). The rest of a word in
 * progress is no longer widened (keep-carets.ts), and the typist pastes only over its own token:
 * seeds 9000-9009 10 of 10, 9100-9109 9 of 10 (9103: "`B0 A003x02y`", typed at the end of the other's
 * word while its next letter was on its way: the race below), 9200-9205 5 of 6 (9205: "A01 (B012y)0x",
 * the same race). Still failing now and then: both
 * typing at the very spot where the other's word is still growing (Yjs orders the two runs by client
 * id, one inside the other: "A00 `B009y`3x"), and a collaborator's undo and redo next to where the
 * other types (the redone text comes back beside deleted text the other typed against: the same
 * defect as the plain-Node "every token whole" to-do). 2026-12-04: the race at one growing word is
 * mended after the fact (word-mend.ts: the person whose word the other's text split puts their letters
 * again before it); a completion no longer swallows a collaborator's arrival they typed into (seed
 * 9301, LineEndArrivals). Seeds 9400-9409 10 of 10 with the completion fix alone; with both, 9500-9509
 * 10 of 10, 9600-9609 10 of 10, 9700-9719 20 of 20 (three other engineers' tests running): a real
 * test from then on. 2026-12-04 evening, this file in a loop at 20 and 24 operations (random seeds,
 * whole outputs kept): 33 runs, every Markdown and TypeScript fuzz whole; the two failures were the
 * same-spot test reading before the last key arrived (now settledText) and a join that hung on a lost
 * `step 1` (index-ask.ts, `peer-renewed`). Session 14's one failure (seed 460945536), diagnosed from
 * its logs: a completion reported before the editor's answer to the edit that brought a
 * collaborator's last letters, replayed against the buffer as it was after both, swallowed them
 * (buffer-binding.ts `afterEach`; binding-carets.test.ts).
 */

for (let k = 0; k < RUNS; k++) keyboardFuzz(SEED + k, fuzzFile(k));
keyboardFuzz(SEED, TS_FILE, FORMAT_OPERATIONS);

function keyboardFuzz(seed: number, file: string, ops = OPERATIONS): void {
  const what = ops === FORMAT_OPERATIONS ? ' in TypeScript with format on type' : '';
  fixtureTest(suite.pair, `two people typing at once through the keyboard${what} lose nothing (seed ${seed}, ${OPS} operations each)`, async () => {
    const pair = suite.pair();
    console.log(`# fuzz seed ${seed} (replay: HYPERPAIR_FUZZ_SEED=${seed} HYPERPAIR_FUZZ_OPS=${OPS})`);
    await pair.a.agent('openFile', file);
    await pair.b.agent('openFile', file);
    const a = new Typist(pair.a, file, 'A', rng(seed));
    const b = new Typist(pair.b, file, 'B', rng(seed ^ 0x5bd1e995));
    const fail = (message: string): never => {
      throw new Error(`${message}\nreplay: HYPERPAIR_FUZZ_SEED=${seed} HYPERPAIR_FUZZ_OPS=${OPS}\nA: ${a.log.join('; ')}\nB: ${b.log.join('; ')}`);
    };
    if (ops === FORMAT_OPERATIONS) {
      // Each editor's formatter at work before the typing (its TypeScript server takes a while to
      // start): a statement typed at the end is formatted.
      for (const [e, name] of [[pair.a, 'probeA'], [pair.b, 'probeB']] as const) {
        await e.page.locator('.monaco-editor .view-lines').first().click();
        await e.page.keyboard.press('Control+End');
        await e.page.keyboard.type(`let ${name}=0;`, { delay: 20 });
        await until(async () => (await e.text(file)).includes(`let ${name} = 0;`), `${e.options.name}'s formatter to format a statement`, 90_000);
        // In both before the next probe: A's formatting arriving while B typed its probe made VS Code
        // drop B's formatting, computed for the text before it (a loop run waited 90 s on it).
        await until(async () => (await pair.a.text(file)).includes(`let ${name} = 0;`) && (await pair.b.text(file)).includes(`let ${name} = 0;`), `both editors to hold the formatted ${name}`, 30_000);
      }
    }
    await Promise.all([run(a, ops), run(b, ops)]);

    const text = await settledText(pair.a, pair.b, file).catch(async (err: Error) =>
      fail(`${err.message}\nA: ${JSON.stringify(await pair.a.text(file))}\nB: ${JSON.stringify(await pair.b.text(file))}`),
    );
    await pair.a.agent('save', file);
    await pair.b.agent('save', file);
    await until(async () => (await pair.a.diskText(file)) === text && (await pair.b.diskText(file)) === text, 'both disks to hold the text', 30_000).catch(
      async (err: Error) => fail(`${err.message}\nbuffers: ${JSON.stringify(text)}\nA's buffer now: ${JSON.stringify(await pair.a.text(file))}\nB's buffer now: ${JSON.stringify(await pair.b.text(file))}\nA's disk: ${JSON.stringify(await pair.a.diskText(file))}\nB's disk: ${JSON.stringify(await pair.b.diskText(file))}`),
    );

    const wrong: string[] = [];
    for (const t of [a, b]) {
      for (const [token, n] of t.expected) if (count(text, token) !== n) wrong.push(`${token} ${count(text, token)}× (expected ${n}×)`);
    }
    if (wrong.length) fail(`tokens lost or doubled: ${wrong.join(', ')}\ntext: ${JSON.stringify(text)}`);
    const repairs = repairsLogged(pair.a) + repairsLogged(pair.b);
    if (repairs) fail(`the binding repaired a buffer that disagreed with the shared text ${repairs} times`);
    assert.ok(a.expected.size > 0 && b.expected.size > 0);
  }, 120_000 + OPS * 15_000);
}
