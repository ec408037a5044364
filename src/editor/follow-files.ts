/**
 * Open editors follow the files (issue 11, item 2). When a collaborator renames or moves a file
 * this editor has open, the editor moves it with VS Code's own file move (WorkspaceEdit.renameFile),
 * so the tab stays in its view column and keeps its unsaved text; the disk mirror leaves that file's
 * move to the editor (Mirror.handOverMove). When a collaborator deletes an open file, its buffer is
 * released from the shared text and keeps its text: typing in it or saving it brings the file back,
 * once, as a new file with that text (never a second copy beside a dead one, see PROTOCOL.md §6.4).
 * Each time the person is told who did it.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Disposable, toDisposable } from '../session/disposable';
import type { Logger } from '../session/log';
import type { ChangeOrigin, FileEntry, Workspace, WorkspaceEvents } from '../sync/api';
import type { DocumentBindings } from './documents';

/** How long both paths of a move stay the editor's (the move is seen on disk and bound well before). */
const CLAIM_MS = 15_000;

/** How long VS Code may take to close the old document of a move it made (it normally does at once). */
const OLD_DOCUMENT_CLOSE_MS = 3000;

/** Resolves when the document is closed, or after `ms`. */
function closed(doc: vscode.TextDocument, ms: number): Promise<void> {
  if (doc.isClosed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      sub.dispose();
      resolve();
    };
    const sub = vscode.workspace.onDidCloseTextDocument((d) => d === doc && done());
    const timer = setTimeout(done, ms);
  });
}

/**
 * VS Code replaces a moved file's editor without focus (its editor service reopens it with
 * `preserveFocus`), and the focus falls to the page: what the person types then goes nowhere and is
 * lost (issue 11, item 2). Gives the focus back to the moved file's editor the moment it is shown
 * in its column, rather than when the move is done, to keep that gap as short as the editor allows.
 */
function refocusWhenShown(to: vscode.Uri, column: vscode.ViewColumn | undefined): vscode.Disposable {
  let focused: vscode.TextEditor | undefined;
  const check = () => {
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === to.toString() && (column === undefined || e.viewColumn === column));
    if (!editor || editor === focused) return;
    focused = editor;
    void vscode.window.showTextDocument(editor.document, { viewColumn: editor.viewColumn, preserveFocus: false, preview: false }).then(undefined, () => undefined);
  };
  const subs = [vscode.window.onDidChangeVisibleTextEditors(check), vscode.window.onDidChangeActiveTextEditor(check)];
  return { dispose: () => subs.forEach((s) => s.dispose()) };
}

export interface FollowHost {
  readonly root: string;
  readonly workspace: Workspace;
  /** Whether the disk mirror left moving this open file to the editor. */
  isEditorMove(oldPath: string, newPath: string): boolean;
  /** The editor moved the file, or could not (then the mirror does). */
  editorMoveDone(oldPath: string, newPath: string, moved: boolean): void;
  /** The name of who last renamed ('path') or deleted ('deleted') a file, if known. */
  whoChanged(fileId: string, field: 'path' | 'deleted'): string | undefined;
  /** The editor is about to write this new file itself (the mirror must not write it first). */
  expectEditorWrite(relPath: string, text: string): void;
  /**
   * VS Code is moving an open document from or to this path: the mirror leaves the file to the editor
   * while claimed (owned), as while a binding has it open.
   */
  claim(relPath: string, owned: boolean): void;
  /** Tells the person (a short, non-modal note). */
  tell(message: string): void;
}

export class FileFollower extends Disposable {
  /** Documents whose file a collaborator deleted while they were open: relative path by document. */
  private readonly orphans = new Map<vscode.TextDocument, string>();
  /** Paths claimed for documents VS Code moves there, until their binding takes over (see claim). */
  private readonly claims = new Map<string, NodeJS.Timeout>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: FollowHost,
    private readonly documents: DocumentBindings,
    private readonly logger: Logger,
  ) {
    super();
    this.register(
      toDisposable(() => {
        this.claims.forEach((t) => clearTimeout(t));
        this.claims.clear();
        this.orphans.clear();
      }),
    );
    this.on('file-renamed', (entry, oldPath, origin) => this.onRenamed(entry, oldPath, origin));
    this.on('file-removed', (entry, origin) => this.onRemoved(entry, origin));
    this.on('file-added', (entry) => this.onAdded(entry));
    this.register(vscode.workspace.onDidChangeTextDocument((e) => e.contentChanges.length && this.revive(e.document)));
    this.register(vscode.workspace.onWillRenameFiles((e) => e.files.forEach((f) => this.beforeMove(f.oldUri, f.newUri))));
    this.register(vscode.workspace.onDidSaveTextDocument((d) => this.orphans.delete(d))); // the mirror shares the saved file
    this.register(vscode.workspace.onDidCloseTextDocument((d) => this.orphans.delete(d)));
  }

  /** Listens to the workspace until disposed. */
  private on<K extends keyof WorkspaceEvents>(event: K, listener: (...args: WorkspaceEvents[K]) => void): void {
    this.host.workspace.on(event, listener);
    this.register(toDisposable(() => this.host.workspace.off(event, listener)));
  }

  /** Resolves when the moves begun so far are done (for tests and orderly shutdown). */
  idle(): Promise<void> {
    return this.queue;
  }

  private uri(rel: string): vscode.Uri {
    return vscode.Uri.file(path.join(this.host.root, ...rel.split('/')));
  }

  /** VS Code is about to move a file or folder: its open documents keep their unsaved-edit state. */
  private beforeMove(from: vscode.Uri, to: vscode.Uri): void {
    const oldRoot = this.documents.relativePath(from);
    const newRoot = this.documents.relativePath(to);
    if (oldRoot === undefined || newRoot === undefined) return;
    for (const doc of vscode.workspace.textDocuments) {
      const rel = this.documents.bindingOf(doc) && this.documents.relativePath(doc.uri);
      if (!rel) continue;
      const to = rel === oldRoot ? newRoot : rel.startsWith(oldRoot + '/') ? newRoot + rel.slice(oldRoot.length) : undefined;
      if (to === undefined) continue;
      this.documents.noteMove(rel, to);
      this.claim(rel);
      this.claim(to);
    }
  }

  /**
   * Until the mirror has seen the move on disk and the moved document is bound, collaborators' edits
   * must not be written by the mirror, to either path: to the old one, it would bring the old name
   * back beside the new; to the new one, VS Code holds the document (perhaps unsaved) and would refuse
   * to save over a file changed behind its back, leaving this disk behind for good.
   */
  private claim(rel: string): void {
    this.host.claim(rel, true);
    clearTimeout(this.claims.get(rel));
    this.claims.set(
      rel,
      setTimeout(() => {
        this.claims.delete(rel);
        this.host.claim(rel, false); // by now the binding owns what is open
      }, CLAIM_MS),
    );
  }

  private by(fileId: string, field: 'path' | 'deleted'): string {
    return this.host.whoChanged(fileId, field) ?? 'A collaborator';
  }

  private onRenamed(entry: FileEntry, oldPath: string, origin: ChangeOrigin): void {
    if (origin !== 'remote' || !this.host.isEditorMove(oldPath, entry.path)) {
      // Moved here (VS Code has moved its editor already) or by the mirror: the old document must
      // no longer take collaborators' edits, which would write the old name back.
      const old = this.documents.documentAt(oldPath);
      if (old) this.documents.release(old);
      const moved = vscode.workspace.textDocuments.find((d) => d.uri.toString() === this.uri(entry.path).toString());
      if (moved) void this.documents.rebind(moved);
      return;
    }
    const who = this.by(entry.id, 'path');
    // One move at a time: a folder rename is one event per file, each a file operation in VS Code.
    this.queue = this.queue.then(() => this.follow(entry, oldPath, who)).catch((err: Error) => this.logger.warn(`following a rename: ${err.message}`));
  }

  private async follow(entry: FileEntry, oldPath: string, who: string): Promise<void> {
    if (this.disposed) return this.host.editorMoveDone(oldPath, entry.path, false);
    const from = this.uri(oldPath);
    const to = this.uri(entry.path);
    const old = this.documents.documentAt(oldPath);
    const columns = vscode.window.tabGroups.all
      .filter((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputText && t.input.uri.toString() === from.toString()))
      .map((g) => g.viewColumn);
    const active = vscode.window.activeTextEditor;
    const wasActive = active?.document.uri.toString() === from.toString() ? { column: active.viewColumn, selections: active.selections } : undefined;
    if (old) this.documents.hold(old);
    const refocus = wasActive && refocusWhenShown(to, wasActive.column);
    const edit = new vscode.WorkspaceEdit();
    edit.renameFile(from, to, { overwrite: false });
    // VS Code moves the file and its open editors, keeping unsaved text; the binding follows the new
    // document when it opens (its shared text is the same file's, by id).
    const moved = await vscode.workspace.applyEdit(edit).then(
      (ok) => ok,
      () => false,
    );
    refocus?.dispose();
    // VS Code opened the new document from a snapshot of the old one taken before the move on disk;
    // keystrokes made since are in the old document only, until VS Code closes it. Its binding stays
    // until then so that they are shared (released at once, they were lost: issue 11, item 2); the new
    // document waits, and is handed the shared text when the old one lets go (DocumentBindings), with
    // whatever was typed into it meanwhile merged after those keystrokes.
    if (old) await closed(old, OLD_DOCUMENT_CLOSE_MS);
    if (old && !old.isClosed) this.documents.release(old);
    this.host.editorMoveDone(oldPath, entry.path, moved);
    if (!moved) this.logger.warn(`could not move the open ${oldPath} to ${entry.path} in the editor; the mirror moved the file`);
    else this.logger.info(`${who} renamed ${oldPath} to ${entry.path}; the open editor moved with it`);
    const doc = await vscode.workspace.openTextDocument(to);
    await this.documents.rebind(doc);
    // Where the old tab was: VS Code normally replaces it in place; if not, open it there (once).
    const hasTab = (g: vscode.TabGroup) => g.tabs.some((t) => t.input instanceof vscode.TabInputText && t.input.uri.toString() === to.toString());
    for (const column of columns) {
      const group = vscode.window.tabGroups.all.find((g) => g.viewColumn === column);
      if (group && !hasTab(group)) await vscode.window.showTextDocument(doc, { viewColumn: column, preserveFocus: true, preview: false });
    }
    if (wasActive) {
      // The person was in this file: keep them there, typing where they were (the move may have
      // taken the focus, or reset the caret).
      const editor = await vscode.window.showTextDocument(doc, { viewColumn: wasActive.column, preserveFocus: false, preview: false });
      const atStart = editor.selections.length === 1 && editor.selection.isEmpty && editor.selection.active.isEqual(new vscode.Position(0, 0));
      if (atStart) editor.selections = wasActive.selections.map((s) => new vscode.Selection(doc.validatePosition(s.anchor), doc.validatePosition(s.active)));
    }
    this.host.tell(`${who} renamed ${oldPath} to ${entry.path}; your editor follows it.`);
  }

  private onRemoved(entry: FileEntry, origin: ChangeOrigin): void {
    const doc = this.documents.documentAt(entry.path);
    if (!doc || doc.isClosed) return;
    if (origin !== 'remote') {
      // Deleted here: the open buffer no longer feeds it (collaborators' edits would recreate it).
      // Saving it brings it back as VS Code's own file would, through the disk.
      this.documents.release(doc);
      return;
    }
    const who = this.by(entry.id, 'deleted');
    this.logger.info(`${who} deleted ${entry.path}, which is open here; its buffer keeps the text`);
    // If this buffer holds edits the deleter had not seen, the workspace brings the file back at once
    // (§6.4; 'file-added' follows). Otherwise the buffer no longer feeds a file that is gone.
    this.documents.release(doc);
    this.orphans.set(doc, entry.path);
    // After the workspace's own rules have run (a restore is queued as a microtask).
    setImmediate(() => {
      if (this.disposed || !this.orphans.has(doc)) return; // it came back already
      this.host.tell(`${who} deleted ${entry.path}, which you have open. Your text is kept: type in it or save it to bring the file back.`);
    });
  }

  private onAdded(entry: FileEntry): void {
    for (const [doc, rel] of this.orphans) {
      if (rel !== entry.path) continue;
      this.orphans.delete(doc);
      void this.documents.rebind(doc);
    }
  }

  /** The person typed in a buffer whose file was deleted: the file comes back with their text. */
  private revive(document: vscode.TextDocument): void {
    const rel = this.orphans.get(document);
    if (rel === undefined) return;
    this.orphans.delete(document);
    if (this.host.workspace.byPath(rel)) return void this.documents.rebind(document); // someone brought it back meanwhile
    try {
      const text = document.getText();
      this.host.expectEditorWrite(rel, text);
      const entry = this.host.workspace.createText(rel, text, 'editor');
      this.host.tell(`${rel} is back in the session with your text.`);
      this.logger.info(`brought back ${entry.path} (deleted by a collaborator while open here)`);
      // Shared at once (the binding follows every later keystroke); on disk with VS Code's own save.
      void this.documents.rebind(document).then(() => document.save());
    } catch (err) {
      this.logger.warn(`could not bring back ${rel}: ${(err as Error).message}`);
    }
  }
}
