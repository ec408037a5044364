/**
 * A VS Code text document as an EditorBuffer for the core's BufferBinding: a shared file's document
 * (documents.ts) or a notebook cell's (notebooks.ts). Collaborators' edits go through the visible
 * editor as replacements, or as a version-checked WorkspaceEdit.
 */
import * as vscode from 'vscode';
import type { EditorBuffer } from '../sync/buffer-binding';
import type { TextEdit } from '../sync/textdiff';
import { widenInsertions } from '../sync/keep-carets';

/** Past the end of any document: `offsetAt` clamps it to the document's length. */
const END = new vscode.Position(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);

export class VsCodeBuffer implements EditorBuffer {
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
   * one this extension host has not heard of yet, but for the letters of a collaborator's word in
   * progress (`pushing`, see keep-carets.ts).
   */
  prepareEdits(edits: TextEdit[], pushing?: (e: TextEdit) => boolean): TextEdit[] {
    return this.editors().length ? widenInsertions(edits, this.document.offsetAt(END), (o, n) => this.textAt(o, n), pushing) : [...edits];
  }

  /** A document's change reaches the extension host before the answer to the edit that made it (one ordered channel from the renderer). */
  readonly reportsBeforeAnswer = true;

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

