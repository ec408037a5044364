/**
 * Binds every open VS Code text document of the shared folder to its shared Y.Text. The decisions
 * (offset mapping, echo suppression, repair, local undo) live in the core's BufferBinding; this file
 * only adapts VS Code's documents and events to it.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Logger } from '../session/log';
import type { Workspace } from '../sync/api';
import type { Awareness } from 'y-protocols/awareness';
import { BufferBinding, isBound, type EditorBuffer } from '../sync/buffer-binding';
import { DivergenceDetector, type DigestSource } from '../sync/divergence';
import type { TextEdit } from '../sync/textdiff';
import { widenInsertions } from '../sync/keep-carets';
import { DisposableStore, toDisposable } from '../session/disposable';

/** Past the end of any document: `offsetAt` clamps it to the document's length. */
const END = new vscode.Position(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);

/** What the document layer needs from a running session. */
export interface DocumentHost {
  readonly root: string;
  readonly workspace: Workspace;
  /** Tells the disk mirror that the editor owns (writes) this file while it is open. */
  setEditorOwned?(relPath: string, owned: boolean): void;
  /**
   * The editor saved this text into the file (a copy of the shared text at some moment): when the
   * editor lets go of the file, the mirror knows what it holds, and finds nothing new there.
   */
  editorSaved?(relPath: string, text: string): void;
  /** The disk mirror lets go of this file's text, which it follows while no editor has it (an editor binds it now). */
  handToEditor?(relPath: string): void;
  /** This peer is a read-only guest: its editors are read-only and its edits are not shared. */
  readOnly?(): boolean;
  /** Whether the disk mirror wrote this text to this file lately (see onChange: a reload of it). */
  mirrorWrote?(relPath: string, text: string): boolean;
}

class VsCodeBuffer implements EditorBuffer {
  constructor(
    readonly document: vscode.TextDocument,
    private readonly afterRemoteEdit: () => void,
    private readonly held: () => boolean = () => false,
    private readonly readOnly: () => boolean = () => false,
  ) {}
  getText(): string {
    return this.document.getText();
  }
  version(): number {
    return this.document.version;
  }
  textAt(offset: number, length: number): string {
    return this.document.getText(new vscode.Range(this.document.positionAt(offset), this.document.positionAt(offset + length)));
  }

  /**
   * In a visible editor, every insertion widened so that VS Code keeps a caret at it before it, even
   * one this extension host has not heard of yet (see keep-carets.ts).
   */
  prepareEdits(edits: TextEdit[]): TextEdit[] {
    return this.editors().length ? widenInsertions(edits, this.document.offsetAt(END), (o, n) => this.textAt(o, n)) : [...edits];
  }

  async applyEdits(edits: TextEdit[], baseVersion: number): Promise<boolean> {
    // Held: the file is being moved; an edit to the old name now would bring that file back.
    if (this.document.isClosed || this.document.version !== baseVersion || this.held()) return false;
    const range = (e: TextEdit) => new vscode.Range(this.document.positionAt(e.offset), this.document.positionAt(e.offset + e.deleteCount));
    // A read-only editor ignores edits made through it (and says it applied them).
    const editor = this.readOnly() ? undefined : this.editors()[0];
    let applied: boolean;
    if (editor) {
      // Through the editor, as replacements: VS Code then moves no caret at the start of a replacement
      // (workspace.applyEdit would force every marker along). It applies the edit only if the
      // document is still at the version it was made for, and reports it as sent.
      applied = await editor
        .edit((b) => edits.forEach((e) => b.replace(range(e), e.insert)), { undoStopBefore: false, undoStopAfter: false })
        .then((ok) => ok, () => false);
    } else {
      const edit = new vscode.WorkspaceEdit();
      for (const e of edits) edit.replace(this.document.uri, range(e), e.insert, REMOTE_EDIT);
      // VS Code stamps the edit with the document version and refuses it if the user typed meanwhile
      // (the binding relies on that: see REMOTE_EDIT).
      applied = await vscode.workspace.applyEdit(edit).then((ok) => ok, () => false);
    }
    if (applied) this.afterRemoteEdit();
    return applied;
  }

  carets(): number[] {
    return this.editors().flatMap((editor) => editor.selections.flatMap((s) => [this.document.offsetAt(s.anchor), this.document.offsetAt(s.active)]));
  }

  /**
   * VS Code moves a caret along when text is inserted at it, which shreds the words of two people
   * typing at one spot: the binding puts each caret back where its anchor in the shared text says.
   */
  setCarets(offsets: number[], version: number): void {
    if (this.document.isClosed || this.document.version !== version) return;
    let i = 0;
    for (const editor of this.editors()) {
      const now = editor.selections;
      const mine = offsets.slice(i, (i += 2 * now.length));
      if (mine.length !== 2 * now.length) return; // the editors changed meanwhile
      const at = (k: number) => this.document.positionAt(mine[k]);
      const next = now.map((_, k) => new vscode.Selection(at(2 * k), at(2 * k + 1)));
      if (next.some((sel, k) => !sel.isEqual(now[k]))) editor.selections = next;
    }
  }

  private editors(): readonly vscode.TextEditor[] {
    return vscode.window.visibleTextEditors.filter((editor) => editor.document === this.document);
  }
}

/**
 * Metadata on every edit of a collaborator's change. Without it, VS Code (1.100) passes the edits of
 * the active editor's document through `computeMoreMinimalEdits` in a worker, drops their version
 * stamp on the way, and applies them after that round trip at the lines and columns they were
 * addressed by, even if the user typed meanwhile: a peer's text lands shifted, and the change event
 * reports smaller edits than were sent. Edits with metadata skip that step, keep their version check
 * (made right before they are applied) and are reported as sent. `needsConfirmation: false` keeps
 * the refactoring preview out of it.
 */
const REMOTE_EDIT: vscode.WorkspaceEditEntryMetadata = { needsConfirmation: false, label: 'Hyperpair: a collaborator\'s edit' };

interface Bound {
  binding: BufferBinding;
  relPath: string;
  saveTimer?: NodeJS.Timeout;
  /** The user changed the buffer since its last save: never save on their behalf. */
  userEdited: boolean;
  /** Whether the latest change event was typed here rather than applied from the shared text. */
  lastLocal: boolean;
}

export class DocumentBindings implements vscode.Disposable {
  private readonly bound = new Map<vscode.TextDocument, Bound>();
  private readonly pending = new Set<vscode.TextDocument>();
  /** Listeners, the verify timer and the divergence detector, released newest first on dispose. */
  private readonly owned = new DisposableStore();
  private closed = false;
  private readonly readOnlyEditors = new WeakSet<vscode.TextDocument>();
  private readonly held = new WeakSet<vscode.TextDocument>();
  /**
   * Documents waiting for another document's binding to hand over their shared text (VS Code opens a
   * moved file's new document before it closes the old one), with their text when they began to wait.
   */
  private readonly waiting = new Map<vscode.TextDocument, string>();
  /** Whether the user had edited a document being renamed, by its new path (see noteMove). */
  private readonly moving = new Map<string, boolean>();
  private warnedReadOnly = false;

  /** Compares what open documents show with the peers' (when given the session's awareness). */
  private readonly divergence: DivergenceDetector | undefined;

  constructor(
    private readonly host: DocumentHost,
    private readonly logger: Logger,
    awareness?: Awareness,
  ) {
    [
      vscode.workspace.onDidOpenTextDocument((d) => void this.bind(d)),
      vscode.workspace.onDidCloseTextDocument((d) => this.unbind(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.onChange(e)),
      vscode.window.onDidChangeActiveTextEditor(() => this.applyReadOnly()),
      vscode.workspace.onDidSaveTextDocument((d) => {
        const b = this.bound.get(d);
        if (!b) return;
        b.userEdited = false;
        this.host.editorSaved?.(b.relPath, d.getText());
      }),
    ].forEach((d) => this.owned.add(d));
    const onAdded = () => this.bindAll();
    host.workspace.on('file-added', onAdded);
    host.workspace.on('file-renamed', onAdded);
    this.owned.add(toDisposable(() => (host.workspace.off('file-added', onAdded), host.workspace.off('file-renamed', onAdded))));
    // A cheap periodic consistency check: if a buffer ever disagrees, it is logged and repaired.
    const verifyTimer = setInterval(() => this.bound.forEach((b) => b.binding.verify()), 5000);
    this.owned.add(toDisposable(() => clearInterval(verifyTimer)));
    this.divergence = awareness && this.owned.add(new DivergenceDetector(awareness, () => this.digestSources(), { logger, repair: (id) => this.verifyDoc(id) }));
    this.bindAll();
  }

  /**
   * A read-only guest's shared editors are read-only (VS Code says so when one types); the binding
   * also undoes any edit that gets through. Applies to the active editor, as it becomes active.
   */
  applyReadOnly(): void {
    const editor = vscode.window.activeTextEditor;
    if (!editor || !this.relativePath(editor.document.uri)) return;
    const readOnly = this.host.readOnly?.() ?? false;
    if (readOnly === this.readOnlyEditors.has(editor.document)) return;
    if (readOnly) this.readOnlyEditors.add(editor.document);
    else this.readOnlyEditors.delete(editor.document);
    void vscode.commands.executeCommand(
      readOnly ? 'workbench.action.files.setActiveEditorReadonlyInSession' : 'workbench.action.files.setActiveEditorWriteableInSession',
    );
  }

  private warnReadOnly(): void {
    if (this.warnedReadOnly) return;
    this.warnedReadOnly = true;
    void vscode.window.showWarningMessage('Hyperpair: you are read-only in this session. Your changes are not shared, and were undone.');
  }

  /** The binding of a document, if it is shared and bound. */
  bindingOf(document: vscode.TextDocument): BufferBinding | undefined {
    return this.bound.get(document)?.binding;
  }

  relativePath(uri: vscode.Uri): string | undefined {
    if (uri.scheme !== 'file') return undefined;
    const rel = path.relative(this.host.root, uri.fsPath);
    if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
    return rel.split(path.sep).join('/');
  }

  /** The bound document of a shared file, by the path it was bound under. */
  documentAt(relPath: string): vscode.TextDocument | undefined {
    for (const [doc, b] of this.bound) if (b.relPath === relPath) return doc;
    return undefined;
  }

  /** Stops sharing a document's buffer (its file left the session); the buffer keeps its text. */
  release(document: vscode.TextDocument): void {
    this.unbind(document);
    this.held.delete(document);
  }

  /**
   * Holds back collaborators' edits from a document whose file is being moved (its typing is still
   * shared); `release` ends it.
   */
  hold(document: vscode.TextDocument): void {
    this.held.add(document);
  }

  /** Binds a document if its file is shared (a file that came back, or moved to it). */
  rebind(document: vscode.TextDocument): Promise<void> {
    return this.bind(document);
  }

  /**
   * A bound document is about to move to `newRel` (a rename in VS Code): the document VS Code opens
   * there keeps whether the user edited it since its last save, so that a collaborator's edit still
   * unsaved at the move is saved, and the user's own unsaved text is not.
   */
  noteMove(oldRel: string, newRel: string): void {
    const doc = this.documentAt(oldRel);
    const b = doc && this.bound.get(doc);
    if (b) this.moving.set(newRel, b.userEdited);
  }

  lastChangeWasLocal(document: vscode.TextDocument): boolean {
    return this.bound.get(document)?.lastLocal ?? false;
  }

  undo(document: vscode.TextDocument): Promise<boolean> {
    return this.bound.get(document)?.binding.undo() ?? Promise.resolve(false);
  }

  redo(document: vscode.TextDocument): Promise<boolean> {
    return this.bound.get(document)?.binding.redo() ?? Promise.resolve(false);
  }

  /**
   * What the consistency checks found: buffers merged with their shared text, and documents shown
   * differently by a peer at the same state. Both should stay 0 (Diagnose Connection shows them).
   */
  consistency(): { repairs: number; divergences: number } {
    let repairs = this.pastRepairs;
    for (const b of this.bound.values()) repairs += b.binding.repairs;
    return { repairs, divergences: this.divergence?.divergences ?? 0 };
  }

  private pastRepairs = 0;

  private digestSources(): DigestSource[] {
    const out: DigestSource[] = [];
    for (const [document, b] of this.bound) {
      const id = this.host.workspace.byPath(b.relPath)?.id;
      if (id) out.push({ id, ytext: b.binding.ytext, shown: () => (b.binding.settled ? document.getText() : undefined) });
    }
    return out;
  }

  private verifyDoc(id: string): void {
    for (const b of this.bound.values()) if (this.host.workspace.byPath(b.relPath)?.id === id) b.binding.verify();
  }

  dispose(): void {
    this.closed = true;
    this.waiting.clear(); // nothing takes over a text as the bindings go
    for (const d of [...this.bound.keys()]) this.unbind(d);
    this.owned.dispose();
  }

  private bindAll(): void {
    for (const d of vscode.workspace.textDocuments) void this.bind(d);
  }

  private async bind(document: vscode.TextDocument): Promise<void> {
    if (this.closed || this.bound.has(document) || this.pending.has(document) || document.isClosed) return;
    const relPath = this.relativePath(document.uri);
    if (!relPath) return;
    // VS Code opened this document for a file it is moving (noteMove), from a snapshot of the old
    // one: what it holds now is what it was handed, even if the session learns of the move later.
    if (this.moving.has(relPath) && !this.waiting.has(document)) this.waiting.set(document, document.getText());
    const entry = this.host.workspace.byPath(relPath);
    if (!entry || entry.kind !== 'text') return;
    this.pending.add(document);
    try {
      const loaded = this.host.workspace.loadedText(entry.id);
      const ytext =
        loaded ??
        (await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Window, title: `Hyperpair: loading ${relPath}` },
          () => this.host.workspace.text(entry.id),
        ));
      if (this.closed || document.isClosed || this.bound.has(document)) return;
      this.host.handToEditor?.(relPath);
      if (isBound(ytext)) {
        // One binding per shared text: this document takes it over when the other lets go (unbind).
        if (!this.waiting.has(document)) this.waiting.set(document, document.getText());
        this.logger.debug(`${relPath} waits for the document it replaces to hand over its shared text`);
        return;
      }
      const base = this.waiting.get(document);
      this.waiting.delete(document);
      const carried = this.moving.get(relPath);
      this.moving.delete(relPath);
      const bound: Bound = { relPath, binding: undefined as unknown as BufferBinding, userEdited: carried ?? document.isDirty, lastLocal: false };
      const buffer = new VsCodeBuffer(
        document,
        () => this.scheduleSave(bound, document),
        () => this.held.has(document),
        () => this.host.readOnly?.() ?? false,
      );
      bound.binding = new BufferBinding(ytext, buffer, {
        logger: this.logger,
        name: relPath,
        onLocalEdit: () => {
          bound.lastLocal = true;
          bound.userEdited = true;
        },
        readOnly: () => this.host.readOnly?.() ?? false,
        onRefused: () => this.warnReadOnly(),
        base,
      });
      this.bound.set(document, bound);
      this.host.setEditorOwned?.(relPath, true);
      this.logger.debug(`bound ${relPath}`);
      if (document.isDirty && !bound.userEdited) this.scheduleSave(bound, document); // moved before its save
      this.applyReadOnly();
    } catch (err) {
      this.logger.warn(`could not bind ${relPath}: ${(err as Error).message}`);
    } finally {
      this.pending.delete(document);
    }
  }

  private unbind(document: vscode.TextDocument): void {
    this.waiting.delete(document);
    const b = this.bound.get(document);
    if (!b) return;
    clearTimeout(b.saveTimer);
    this.pastRepairs += b.binding.repairs;
    b.binding.dispose();
    this.bound.delete(document);
    this.host.setEditorOwned?.(b.relPath, false);
    for (const d of [...this.waiting.keys()]) void this.bind(d); // the hand-over
  }

  private onChange(e: vscode.TextDocumentChangeEvent): void {
    const b = this.bound.get(e.document);
    if (!b) return;
    const changes: TextEdit[] = e.contentChanges.map((c) => ({ offset: c.rangeOffset, deleteCount: c.rangeLength, insert: c.text }));
    // Also an event without changes: the binding follows the document's version.
    if (changes.length) b.lastLocal = false;
    this.divergence?.noteActivity();
    // A clean document changed, not by undo or redo: VS Code reloaded it from disk (or applied an edit
    // of ours, which the binding tells apart). If the mirror wrote that text (as the document was
    // opening), it is an older copy of the shared text, not an edit; another tool's write is an edit.
    const reloaded = changes.length > 0 && !e.document.isDirty && e.reason === undefined && (this.host.mirrorWrote?.(b.relPath, e.document.getText()) ?? false);
    b.binding.onBufferChange(changes, e.document.version, reloaded);
  }

  /**
   * A peer's edit should not leave a clean document dirty: the shared content is already on every
   * other disk, so write it here too. A document with the user's own unsaved edits stays dirty.
   */
  private scheduleSave(b: Bound, document: vscode.TextDocument): void {
    if (b.userEdited) return;
    clearTimeout(b.saveTimer);
    b.saveTimer = setTimeout(() => {
      if (document.isClosed || b.userEdited || !document.isDirty) return;
      if (!b.binding.settled) return this.scheduleSave(b, document); // more is arriving
      void document.save();
    }, 300);
  }
}
