/**
 * The text each open document had when it was last clean (as opened, reloaded or saved): the base
 * from which its unsaved changes are the person's. Kept from activation on, before any session, so
 * that a document someone typed in before Hyperpair bound it (before they started a session, or while
 * a join was still writing the files) keeps that typing when it is bound: merged into the shared text
 * (BufferBindingOptions.base), not replaced by it.
 *
 * A document first seen outside a session (open when the extension activated, or opened since) was
 * last clean as its file on disk, which no session writes then: that is read, once, as its base,
 * whatever its dirty flag says (a document VS Code restored unsaved, hot exit, is reported clean at
 * first: the two-editor test). Until 2026-12-04 such a document was bound as an older copy of the
 * shared text, and its unsaved typing was replaced; it still is when first seen unsaved during a
 * session (its file may hold what the session wrote since).
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';

/**
 * How long after a change its document is looked at: VS Code reports a keystroke before it marks the
 * document dirty, so a change is known to have left it clean (a reload from disk, an undo back to the
 * saved text) only a moment later.
 */
const SETTLE_MS = 200;

export class CleanTexts implements vscode.Disposable {
  private readonly texts = new WeakMap<vscode.TextDocument, string>();
  /** Documents whose file was read for want of a clean text (once each). */
  private readonly read = new WeakSet<vscode.TextDocument>();
  private readonly subscriptions: vscode.Disposable[];
  /** Documents changed lately, with their version then, looked at once SETTLE_MS have passed. */
  private readonly changed = new Map<vscode.TextDocument, number>();
  private timer: NodeJS.Timeout | undefined;

  /** @param outsideSession whether no session runs now (then no session writes the files). */
  constructor(private readonly outsideSession: () => boolean) {
    for (const document of vscode.workspace.textDocuments) this.noteIfClean(document);
    this.subscriptions = [
      vscode.workspace.onDidOpenTextDocument((document) => this.noteIfClean(document)),
      // What was saved is the clean text, whatever the dirty flag says at this moment.
      vscode.workspace.onDidSaveTextDocument((document) => document.uri.scheme === 'file' && this.texts.set(document, document.getText())),
      vscode.workspace.onDidChangeTextDocument((e) => this.lookLater(e.document)),
    ];
  }

  /** The text `document` had when it was last clean, if it has unsaved changes and that is known. */
  baseOf(document: vscode.TextDocument): string | undefined {
    return document.isDirty ? this.texts.get(document) : undefined;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.changed.clear();
    this.subscriptions.forEach((s) => s.dispose());
  }

  private lookLater(document: vscode.TextDocument): void {
    this.changed.set(document, document.version);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      const changed = [...this.changed];
      this.changed.clear();
      // Clean at the version it changed to: a reload or an undo to the saved text, not typing.
      for (const [document, version] of changed) if (document.version === version) this.noteIfClean(document);
    }, SETTLE_MS);
  }

  private noteIfClean(document: vscode.TextDocument): void {
    if (document.uri.scheme !== 'file' || document.isClosed) return;
    const first = !this.texts.has(document) && !this.read.has(document);
    if (first && this.outsideSession()) void this.readSaved(document);
    else if (!document.isDirty) this.texts.set(document, document.getText());
  }

  /** The file of a document unsaved since before it was seen here: what it was last clean as. */
  private async readSaved(document: vscode.TextDocument): Promise<void> {
    this.read.add(document);
    const saved = await fs.promises.readFile(document.uri.fsPath, 'utf8').catch(() => undefined);
    if (this.texts.has(document) || document.isClosed) return; // saved meanwhile: that is its clean text
    // Not UTF-8 (VS Code decoded it otherwise): its text if clean, as before.
    if (saved === undefined || saved.includes('\uFFFD')) {
      if (!document.isDirty) this.texts.set(document, document.getText());
    } else this.texts.set(document, saved.replace(/^\uFEFF/, ''));
  }
}
