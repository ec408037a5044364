/**
 * Keeps an editor buffer and a shared Y.Text equal, for any editor whose edits are applied
 * asynchronously (VS Code's `workspace.applyEdit` is). Editor-agnostic: the VS Code glue adapts a
 * TextDocument to `EditorBuffer` and forwards its change events here.
 *
 * The binding never compares or diffs whole texts while people type. It keeps `pending`: the edits
 * that turn the buffer, as its change events have reported it, into the Y.Text. A peer's change
 * arrives as a Yjs delta and is composed onto `pending`; a keystroke is rebased over `pending` into
 * Y.Text coordinates (and `pending` over it). Pending edits go to the editor against the version
 * they were computed for; if the user typed in between, the editor refuses them and they are folded
 * back and sent again. So a keystroke costs the same in a 4 MB file as in a 4 KB one.
 *
 * The one guess the binding makes is which change event is the echo of the edit it applied: the
 * event whose edits are exactly the ones sent. Until the editor says it applied that edit, the user
 * may have typed exactly the same thing at the same place, so later changes wait (see `decide`).
 * A buffer that ever disagrees is merged, never overwritten (see `verify`).
 *
 * Undo is local: a Y.UndoManager tracks only this editor's origin, so undo never reverts a peer's work.
 */
import * as Y from 'yjs';
import type { Logger } from '../session/log';
import { compose, deltaToEdits, mapBack, rebase } from './edit-algebra';
import { diffEdits, mapOffset, unionEdits, type TextEdit } from './textdiff';

export const EDITOR_ORIGIN = 'editor';

export interface EditorBuffer {
  /** The text as the change events so far have reported it. */
  getText(): string;
  /** Increases with every change of the buffer (VS Code's `document.version`). */
  version(): number;
  /**
   * Applies edits (offsets relative to the text at `baseVersion`) as one change. Resolves false,
   * without applying, when the buffer is no longer at `baseVersion`.
   */
  applyEdits(edits: TextEdit[], baseVersion: number): Promise<boolean>;
}

export interface BufferBindingOptions {
  logger: Logger;
  /** Milliseconds within which consecutive local edits undo as one step. */
  captureTimeout?: number;
  /** How long to wait for the editor to report an applied edit before giving up on it (default 10 s). */
  echoTimeoutMs?: number;
  /**
   * True while this peer is a read-only guest: a local edit is not shared (every member would refuse
   * it) but undone in the buffer, and `onRefused` says so.
   */
  readOnly?: () => boolean;
  onRefused?: () => void;
}

/** Edits sent to the editor and not yet reported back. */
interface Flight {
  /** As they should be reported: relative to the buffer as reported so far. */
  edits: TextEdit[];
  /** As they were sent. */
  readonly sent: readonly TextEdit[];
  baseVersion: number;
  /** A keystroke was reported after sending: an editor may apply ours on top of it, shifted. */
  raced: boolean;
  echoed: boolean;
  /** How applyEdits resolved, once it has. */
  result?: boolean;
  /** A change taken for the echo before applyEdits resolved (see decide). */
  claimed?: TextEdit[];
  onEcho?: () => void;
}

const ECHO_TIMEOUT_MS = 10_000;

export class BufferBinding {
  readonly undoManager: Y.UndoManager;
  /** How often the buffer disagreed with the shared text and was merged (it should never happen). */
  repairs = 0;
  /** Buffer (as reported, plus the flight's edits while one is out) → Y.Text. */
  private pending: TextEdit[] = [];
  private flight: Flight | undefined;
  /** A refused local edit (read-only guest) left `pending` unknown: recompute it from the texts. */
  private resync = false;
  private flushAgain = false;
  private flushing = false;
  private closed = false;
  private wake: (() => void) | undefined;
  /** Changes reported while a claimed echo awaits the editor's word (see decide). */
  private held: TextEdit[][] | undefined;
  private readonly observer: (event: Y.YTextEvent, tx: Y.Transaction) => void;
  private idle: Promise<void> = Promise.resolve();

  constructor(
    readonly ytext: Y.Text,
    private readonly buffer: EditorBuffer,
    private readonly options: BufferBindingOptions,
  ) {
    this.undoManager = new Y.UndoManager(ytext, {
      trackedOrigins: new Set([EDITOR_ORIGIN]),
      captureTimeout: options.captureTimeout ?? 500,
    });
    this.observer = (event, tx) => {
      if (tx.origin === EDITOR_ORIGIN) return;
      this.pending = compose(this.pending, deltaToEdits(event.delta));
      this.scheduleFlush();
    };
    ytext.observe(this.observer);
    // The buffer may hold an older copy (opened from disk before the shared text arrived): the
    // shared text is newer, and the disk mirror owns what is on disk.
    this.pending = diffEdits(buffer.getText(), ytext.toString());
    if (this.pending.length) this.scheduleFlush();
  }

  /** True when nothing is pending: the buffer as reported equals the shared text. */
  get settled(): boolean {
    return !this.flushing && !this.flight && !this.pending.length && !this.resync;
  }

  /** Resolves once pending remote edits have reached the buffer. */
  whenSettled(): Promise<void> {
    return this.idle;
  }

  /**
   * The editor reports a change, relative to the text before it (as VS Code's contentChanges are).
   * Returns whether it was a local edit (true) or the echo of an edit the binding applied (false).
   */
  onBufferChange(changes: readonly TextEdit[]): boolean {
    if (this.closed || changes.length === 0) return false;
    if (this.held) {
      this.held.push([...changes]);
      return true;
    }
    const f = this.flight;
    const out = f && !f.echoed ? f : undefined;
    if (out && this.isEcho(out, changes)) {
      out.echoed = true;
      if (out.result === undefined) {
        // Exactly our edit, but the user may have typed exactly that just before (a pair of
        // brackets where a peer typed one): until the editor says whether it applied ours, hold on.
        out.claimed = [...changes];
        this.held = [];
      }
      out.onEcho?.();
      return false;
    }
    this.local(changes, out);
    return true;
  }

  /** A change typed here: into the shared text, rebased over what the buffer has not received. */
  private local(changes: readonly TextEdit[], out: Flight | undefined): void {
    let toShared: TextEdit[];
    if (out) {
      // Typed before our edit landed: the editor refuses ours (or applies it on top, shifted).
      const first = rebase(changes, out.edits);
      out.edits = first.pending;
      out.raced = true;
      const second = rebase(first.local, this.pending);
      this.pending = second.pending;
      toShared = second.local;
    } else {
      const r = rebase(changes, this.pending);
      this.pending = r.pending;
      toShared = r.local;
    }
    if (this.options.readOnly?.()) {
      this.options.onRefused?.();
      this.resync = true; // back to the shared text
    } else this.applyToShared(toShared);
    if (this.pending.length || this.resync) this.scheduleFlush();
  }

  /**
   * The editor said whether it applied the flight whose echo was claimed. If it refused it, the
   * claimed change was typed here; if it applied it and reported a change like ours since, that was
   * ours, shifted, and the claimed one typed here. Then the changes held meanwhile are processed.
   */
  private decide(f: Flight): void {
    const held = this.held ?? [];
    this.held = undefined;
    const claimed = f.claimed;
    f.claimed = undefined;
    const shifted = f.result === true && held.some((c) => sameInserts(c, f.sent));
    if (claimed && (f.result === false || shifted)) {
      f.echoed = false;
      this.local(claimed, f);
      this.options.logger.debug('binding: a keystroke matched the edit in flight; it was the user\'s');
      if (f.result === false) {
        this.pending = compose(f.edits, this.pending);
        this.flight = undefined;
      }
    }
    for (const changes of held) this.onBufferChange(changes);
  }

  undo(): boolean {
    return this.undoManager.undo() !== null;
  }

  redo(): boolean {
    return this.undoManager.redo() !== null;
  }

  /**
   * Buffer offsets (carets, selection ends) as positions in the shared text that a peer's insertion
   * at them does not move: the caret stays before the arriving text, so each person's words stay
   * whole. `resolve` turns them back into buffer offsets after remote edits were applied.
   */
  anchor(offsets: readonly number[]): Y.RelativePosition[] {
    const toShared = this.toShared();
    return offsets.map((o) => Y.createRelativePositionFromTypeIndex(this.ytext, mapOffset(toShared, o), -1));
  }

  resolve(anchors: readonly Y.RelativePosition[]): Array<number | undefined> {
    const toShared = this.toShared();
    return anchors.map((a) => {
      const index = this.indexOf(a);
      return index === undefined ? undefined : mapBack(toShared, index);
    });
  }

  /**
   * Checks, while nothing is pending, that the buffer equals the shared text. If not (a bug), merges:
   * what the buffer has that the shared text lacks goes into the shared text, and what the shared text
   * has stays; then the buffer receives the result. Returns whether they were equal.
   */
  verify(): boolean {
    if (this.closed || !this.settled) return true;
    const text = this.buffer.getText();
    const shared = this.ytext.toString();
    if (text === shared) return true;
    this.repairs++;
    const additions = unionEdits(shared, text);
    this.applyToShared(additions);
    const merged = this.ytext.toString();
    this.pending = diffEdits(text, merged);
    const kept = additions.reduce((n, e) => n + e.insert.length, 0);
    this.options.logger.warn(
      `binding: the buffer disagreed with the shared text; merged ${kept} characters only the buffer had into the shared text and ` +
        `${merged.length - text.length} only the shared text had into the buffer`,
    );
    this.scheduleFlush();
    return false;
  }

  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.ytext.unobserve(this.observer);
    this.undoManager.destroy();
    this.wake?.();
  }

  private toShared(): TextEdit[] {
    const f = this.flight;
    return f && !f.echoed ? compose(f.edits, this.pending) : this.pending;
  }

  private applyToShared(edits: readonly TextEdit[]): void {
    if (!edits.length) return;
    this.ytext.doc!.transact(() => {
      // From the highest offset down, so that earlier offsets stay valid. A replacement inserts
      // before it deletes: inserted after the deletion, Yjs would attach the new text to the right
      // of the deleted text, where a peer's concurrent insertion after it competes (typing over an
      // auto-closed bracket let a collaborator's word in before the bracket).
      for (const e of [...edits].sort((a, b) => b.offset - a.offset)) {
        if (e.insert) this.ytext.insert(e.offset, e.insert);
        if (e.deleteCount) this.ytext.delete(e.offset + e.insert.length, e.deleteCount);
      }
    }, EDITOR_ORIGIN);
  }

  /**
   * Whether a reported change is the edit in flight: exactly its edits. If the editor has not said
   * yet whether it applied them, the user may have typed exactly that (see decide).
   *
   * An editor addresses an edit by line and column and its check that the buffer is still at the
   * edit's version may not be atomic (VS Code's is not): after a keystroke raced it, ours can land
   * shifted, the same texts at other offsets. Once the editor said it applied ours, such a change is
   * taken for it, and what the buffer lacks is recomputed from the texts (rare, so the whole-text
   * diff is affordable). Before that, it is taken for the user's.
   */
  private isEcho(f: Flight, changes: readonly TextEdit[]): boolean {
    if (sameEdits(changes, f.edits)) return true;
    if (!f.raced || f.result !== true || !sameInserts(changes, f.sent)) return false;
    this.options.logger.debug('binding: the editor applied our edit on top of a keystroke; recomputing what the buffer lacks');
    this.pending = diffEdits(this.buffer.getText(), this.ytext.toString());
    return true;
  }

  private indexOf(at: Y.RelativePosition): number | undefined {
    const abs = Y.createAbsolutePositionFromRelativePosition(at, this.ytext.doc!);
    return abs && abs.type === this.ytext ? abs.index : undefined;
  }

  private scheduleFlush(): void {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    this.flushing = true;
    this.idle = this.flush().finally(() => {
      this.flushing = false;
      // A request that came in as the loop was finishing.
      if (this.flushAgain && !this.closed) {
        this.flushAgain = false;
        this.scheduleFlush();
      }
    });
  }

  private async flush(): Promise<void> {
    while (!this.closed) {
      this.flushAgain = false;
      if (this.resync) {
        this.resync = false;
        this.pending = diffEdits(this.buffer.getText(), this.ytext.toString());
      }
      if (!this.pending.length) return;
      const f: Flight = { edits: this.pending, sent: this.pending, baseVersion: this.buffer.version(), raced: false, echoed: false };
      this.pending = [];
      this.flight = f;
      let applied = false;
      try {
        applied = await this.buffer.applyEdits(f.edits, f.baseVersion);
      } catch (err) {
        this.options.logger.warn(`binding: applying remote edits failed: ${(err as Error).message}`);
      }
      f.result = applied;
      if (this.closed) return;
      if (f.claimed || this.held) this.decide(f);
      if (!applied) {
        if (this.flight === f) this.pending = compose(f.edits, this.pending);
        this.flight = undefined;
        // Refused because the user typed: their change events restart the loop if they are not in yet.
        if (this.buffer.version() === f.baseVersion) return;
        continue;
      }
      if (!f.echoed) await this.echoOf(f);
      this.flight = undefined;
    }
  }

  /** Waits until the editor reports the applied edit (it may do so before or after applyEdits resolves). */
  private echoOf(f: Flight): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(() => {
        this.options.logger.warn('binding: the editor did not report an applied edit; recomputing what the buffer lacks');
        f.echoed = true;
        this.resync = true;
        done();
      }, this.options.echoTimeoutMs ?? ECHO_TIMEOUT_MS);
      f.onEcho = done;
      this.wake = done;
    });
  }
}

const key = (e: TextEdit): string => `${e.offset}:${e.deleteCount}:${e.insert}`;

/** Whether a reported change is exactly the given edits (in any order). */
function sameEdits(changes: readonly TextEdit[], ours: readonly TextEdit[]): boolean {
  if (changes.length !== ours.length) return false;
  const a = changes.map(key).sort();
  const b = ours.map(key).sort();
  return a.every((k, i) => k === b[i]);
}

/**
 * Same number of edits inserting the same texts: ours, maybe shifted (a deletion addressed by lines
 * and columns may also have been clamped to a shorter line).
 */
function sameInserts(changes: readonly TextEdit[], ours: readonly TextEdit[]): boolean {
  const a = changes.map((e) => e.insert).sort();
  const b = ours.map((e) => e.insert).sort();
  return a.length === b.length && a.every((k, i) => k === b[i]);
}
