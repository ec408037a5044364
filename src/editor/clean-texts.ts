/**
 * The text each open document had when it was last clean (as opened, reloaded or saved): the base
 * from which its unsaved changes are the person's. Kept from activation on, before any session, so
 * that a document someone typed in before Hyperpair bound it (before they started a session, or while
 * a join was still writing the files) keeps that typing when it is bound: merged into the shared text
 * (BufferBindingOptions.base), not replaced by it. A document restored unsaved by VS Code (hot exit)
 * has no known clean text: it is bound as before, as an older copy of the shared text.
 */
import * as vscode from 'vscode';

/**
 * How long after a change its document is looked at: VS Code reports a keystroke before it marks the
 * document dirty, so a change is known to have left it clean (a reload from disk, an undo back to the
 * saved text) only a moment later.
 */
const SETTLE_MS = 200;

export class CleanTexts implements vscode.Disposable {
  private readonly texts = new WeakMap<vscode.TextDocument, string>();
  private readonly subscriptions: vscode.Disposable[];
  /** Documents changed lately, with their version then, looked at once SETTLE_MS have passed. */
  private readonly changed = new Map<vscode.TextDocument, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor() {
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
    if (document.uri.scheme === 'file' && !document.isClosed && !document.isDirty) this.texts.set(document, document.getText());
  }
}
