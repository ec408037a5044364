/**
 * A simulated editor for fuzzing the buffer binding in plain Node, shaped like VS Code: the window
 * holds the true text and the caret and applies keystrokes at once; the extension host (what the
 * binding sees through `getText()`/`version()`) learns of each change later, in order; an edit sent
 * by the binding is applied later still, and refused if the window has moved past its version (or,
 * in `onTop` mode, applied anyway at the lines and columns it was addressed by, as VS Code can when a
 * keystroke slips in while it prepares the edit). A peer's insertion at the caret pushes the caret
 * along, as VS Code does; `keepCarets` puts it back through the binding's anchors, as the VS Code
 * adapter does.
 */
import type { BufferBinding, EditorBuffer } from '../../src/sync/buffer-binding';
import { applyEdits, mapOffset, offsetOf, positionsOf, type TextEdit } from '../../src/sync/textdiff';
import { widenAtCarets, widenInsertions } from '../../src/sync/keep-carets';

/**
 * Where VS Code leaves a caret after an edit it did not type (its cursor is a marker that grows at
 * its edges, then collapses to its end): pushed past text inserted at it, but kept at the start of an
 * edit that deletes something there.
 */
function caretAfterEdit(edits: readonly TextEdit[], caret: number): number {
  const at = edits.find((e) => e.offset === caret && e.deleteCount > 0);
  return at ? mapOffset(edits, caret) : mapOffset(edits, caret, true);
}

/** With HYPERPAIR_SIM_TRACE=1, every change and caret put back, kept in memory (printing them changed the timing). */
const lines: Array<() => string> | undefined = process.env.HYPERPAIR_SIM_TRACE ? [] : undefined;
export const simTrace = lines && {
  print: () => console.log(lines.map((l) => l()).join('\n')),
  clear: () => void lines.splice(0),
};
/** Keeps a line, built only if printed (building each at once changed the timing enough to hide a fault). */
export const trace = lines ? (line: () => string) => void lines.push(line) : () => {};

export type Rand = (n: number) => number;

/** A small seeded generator (mulberry32): `rand(n)` is an integer in [0, n). */
export function seededRandom(seed: number): Rand {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** Lets the event loop turn between 0 and `max` times. */
export async function ticks(rand: Rand, max: number): Promise<void> {
  for (let n = rand(max + 1); n > 0; n--) await new Promise((r) => setImmediate(r));
}

export interface SimEditorOptions {
  rand: Rand;
  /** Most event-loop turns before a change event or an edit's result arrives. */
  maxDelay?: number;
  onTop?: boolean;
  keepCarets?: boolean;
  /**
   * The extension host hears of the caret's move after the change that moved it, in a message of its
   * own (VS Code's order: the content change, then the selection change).
   */
  caretLate?: boolean;
  /** As the VS Code adapter does: every insertion widened, not only those at a caret the host knows. */
  widenAll?: boolean;
  /** The editor's answer to an applied edit arrives before its change event (not VS Code's order). */
  echoAfterAnswer?: boolean;
}

export class SimEditor implements EditorBuffer {
  /** The window: what the user sees and types into. */
  text: string;
  ver = 1;
  caret = 0;
  binding?: BufferBinding;
  rejected = 0;
  /** Names this editor in the trace HYPERPAIR_SIM_TRACE=1 prints (every change and caret put back). */
  name = '?';
  /**
   * Called once the window applied an edit from the binding, before its change event and its answer
   * reach the extension host: what the person does then is reported before the answer.
   */
  afterApply?: () => void;
  private hostText: string;
  private hostVer = 1;
  /** The caret as the extension host knows it: with each change event (VS Code sends both in order). */
  private hostCaret = 0;
  private readonly events: Array<() => void> = [];
  private draining = false;

  constructor(
    text: string,
    private readonly options: SimEditorOptions,
  ) {
    this.text = text;
    this.hostText = text;
  }

  getText(): string {
    return this.hostText;
  }
  version(): number {
    return this.hostVer;
  }
  /** Every change event was delivered. */
  get caughtUp(): boolean {
    return this.hostVer === this.ver;
  }

  applyEdits(edits: TextEdit[], baseVersion: number): Promise<boolean> {
    const at = positionsOf(this.hostText, edits.flatMap((e) => [e.offset, e.offset + e.deleteCount]));
    return new Promise((resolve) => {
      // Later, the window takes the edit, or refuses it; the answer reaches the extension host after
      // every change event the window sent before it (one ordered channel, as VS Code's is).
      void ticks(this.options.rand, this.options.maxDelay ?? 3).then(() => {
        let applied = true;
        if (this.ver === baseVersion) {
          this.change(edits, true);
          this.afterApply?.();
        } else if (this.options.onTop) {
          this.change(
            edits.map((e, i) => {
              const offset = offsetOf(this.text, at[2 * i]);
              return { offset, deleteCount: Math.max(0, offsetOf(this.text, at[2 * i + 1]) - offset), insert: e.insert };
            }),
            true,
          );
        } else {
          applied = false;
          this.rejected++;
        }
        if (this.options.echoAfterAnswer) setImmediate(() => resolve(applied));
        else {
          this.deliverAll();
          resolve(applied);
        }
      });
    });
  }

  /** As the VS Code adapter does: an insertion at the caret widened so that the caret stays before it. */
  prepareEdits(edits: TextEdit[], pushing: (e: TextEdit) => boolean = () => false): TextEdit[] {
    const read = (o: number, n: number): string => this.hostText.slice(o, o + n);
    if (this.options.widenAll) return widenInsertions(edits, this.hostText.length, read, pushing);
    const at = edits.some((e) => e.offset === this.hostCaret && pushing(e)) ? [] : [this.hostCaret];
    return this.options.keepCarets ? widenAtCarets(edits, at, this.hostText.length, read) : edits;
  }

  carets(): number[] {
    return this.options.keepCarets ? [this.hostCaret] : [];
  }

  /**
   * As the VS Code adapter does: only if the extension host is at `version`. (VS Code's window may
   * have moved on already; this simulation is kinder there: it checks the window's own version.)
   * The extension host knows the carets it set at once (VS Code's `TextEditor.selections` setter).
   */
  setCarets(offsets: number[], version: number): void {
    const { name, ver, caret } = this;
    trace(() => `${name} carets put at ${offsets.join(',')} for v${version} (window v${ver}, caret ${caret})`);
    if (this.options.keepCarets && this.ver === version && offsets.length === 1) this.caret = this.hostCaret = offsets[0];
  }

  /** A change in the window: a keystroke (`remote` false) or an applied edit (carets move along). */
  change(edits: readonly TextEdit[], remote = false, caretAfter?: number): void {
    const before = this.caret;
    this.text = applyEdits(this.text, edits);
    if (remote) this.caret = caretAfterEdit(edits, before);
    if (caretAfter !== undefined) this.caret = caretAfter;
    const ver = ++this.ver;
    const { name, text: now, caret: moved } = this;
    trace(() => `${name} v${ver} ${remote ? 'applied' : 'typed  '} ${JSON.stringify(edits.map((e) => [e.offset, e.deleteCount, e.insert]))} caret ${before}->${moved} ${JSON.stringify(now)}`);
    const after = this.text;
    const caret = this.caret;
    const list = [...edits];
    this.events.push(() => {
      this.hostText = after;
      this.hostVer = ver;
      if (!this.options.caretLate) this.hostCaret = caret;
      this.binding?.onBufferChange(list, ver);
    });
    if (this.options.caretLate) this.events.push(() => (this.hostCaret = caret));
    if (!this.draining) void this.drain();
  }

  /**
   * The window reloads its text from disk (VS Code reloads a clean document whose file changed),
   * reported as one replacement of everything; `asReload` says the adapter recognised it as a copy
   * of the shared text the disk mirror wrote (DocumentBindings), else it is reported as a change.
   */
  reload(text: string, asReload: boolean): void {
    const edits = [{ offset: 0, deleteCount: this.text.length, insert: text }];
    this.text = text;
    this.caret = Math.min(this.caret, text.length);
    const ver = ++this.ver;
    this.events.push(() => {
      this.hostText = text;
      this.hostVer = ver;
      this.binding?.onBufferChange(edits, ver, asReload);
    });
    if (!this.draining) void this.drain();
  }

  /** Moves the caret (a click); the extension host learns of it with the next event, or now if idle. */
  moveTo(offset: number): void {
    this.caret = offset;
    if (this.caughtUp) this.hostCaret = offset;
  }

  /** Types an opening bracket that the editor closes at once, the caret between the two. */
  typePair(open: string, close: string): void {
    const at = this.caret;
    this.change([{ offset: at, deleteCount: 0, insert: open + close }], false, at + open.length);
  }

  /** Types at the caret: replaces `deleteCount` characters after it with `text`, caret after `text`. */
  type(text: string, deleteCount = 0): void {
    const at = this.caret;
    this.change([{ offset: at, deleteCount, insert: text }], false, at + text.length);
  }

  private deliverAll(): void {
    while (this.events.length) this.events.shift()!();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.events.length) {
      await ticks(this.options.rand, this.options.maxDelay ?? 3);
      this.events.shift()?.();
    }
    this.draining = false;
  }
}
