/**
 * Open editors follow the files (issue 11, item 2). When a collaborator renames or moves a file
 * this editor has open, the mirror moves the file and the new document opens in each column the old
 * one had a tab, with the focus and the caret where they were; the old document shares every
 * keystroke until then and hands its shared text over (with its unsaved text), and its tab closes.
 * (VS Code's own move, WorkspaceEdit.renameFile, left the focus on the page for up to a second and a
 * half under load: keys typed then were lost.) When a collaborator deletes an open file, its buffer is
 * released from the shared text and keeps its text: typing in it or saving it brings the file back,
 * once, as a new file with that text (never a second copy beside a dead one, see PROTOCOL.md §6.4).
 * Each time the person is told who did it.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Disposable, toDisposable } from '../session/disposable';
import type { Logger } from '../session/log';
import type { ChangeOrigin, FileEntry, Workspace, WorkspaceEvents } from '../sync/api';
import { pruneEmptyDirs } from '../sync/fsutil';
import type { DocumentBindings } from './documents';
import { followNotebook, type BoundNotebooks } from './notebook-follow';

/** How long both paths of a move stay the editor's (the move is seen on disk and bound well before). */
const CLAIM_MS = 15_000;

/** How long the mirror may take to move a file whose open editor follows it. */
const MOVE_ARRIVES_MS = 10_000;

/** How long the old name of a moved file stays the editor's after its tab is saved and closed. */
const LEAVE_ALONE_MS = 5000;

/** The document at `uri` once VS Code can read it, undefined after `ms`. */
async function openWhenReadable(uri: vscode.Uri, ms: number): Promise<vscode.TextDocument | undefined> {
  for (const deadline = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 100))) {
    try {
      return await vscode.workspace.openTextDocument(uri);
    } catch {
      if (Date.now() >= deadline) return undefined;
    }
  }
}

/** Resolves true once a file exists at `abs`, false after `ms`. */
export async function appears(abs: string, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 25))) {
    if (await fs.stat(abs).then((st) => st.isFile(), () => false)) return true;
  }
  return false;
}

/** How long the person has not typed in a moved file's old document before its tab is switched. */
const TYPING_PAUSE_MS = 700;

/**
 * Resolves once no document `typedIn` accepts has changed for `quietMs`, or after `maxMs` whatever
 * happens.
 */
export function typingPause(typedIn: (doc: vscode.TextDocument) => boolean, quietMs: number, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    let quiet: NodeJS.Timeout;
    const done = () => {
      clearTimeout(quiet);
      clearTimeout(cap);
      sub.dispose();
      resolve();
    };
    const cap = setTimeout(done, maxMs);
    const sub = vscode.workspace.onDidChangeTextDocument((e) => {
      if (!typedIn(e.document) || !e.contentChanges.length) return;
      clearTimeout(quiet);
      quiet = setTimeout(done, quietMs);
    });
    quiet = setTimeout(done, quietMs);
  });
}

/** The text tabs showing `uri`, in every group. */
function tabsOf(uri: vscode.Uri): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((g) => g.tabs.filter((t) => t.input instanceof vscode.TabInputText && t.input.uri.toString() === uri.toString()));
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
  /** VS Code is about to move this file or folder: what vanishes there and appears here is that move. */
  announceMove(oldPath: string, newPath: string): void;
  /** The editor writes and removes a file at this unshared path (a moved file's old tab): not a change. */
  leaveAlone(relPath: string, on: boolean): void;
  /** Resolves when the disk mirror has done what it was asked so far (moved a file, written it). */
  mirrorIdle(): Promise<void>;
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
  /** Old names of moved files, left to the editor a while after their tabs closed (see closeOld). */
  private readonly leftAlone = new Map<string, NodeJS.Timeout>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: FollowHost,
    private readonly documents: DocumentBindings,
    private readonly logger: Logger,
    /** Open notebooks, which follow renames too (notebook-follow.ts). */
    private readonly notebooks?: BoundNotebooks,
  ) {
    super();
    this.register(
      toDisposable(() => {
        this.claims.forEach((t) => clearTimeout(t));
        this.claims.clear();
        this.leftAlone.forEach((t) => clearTimeout(t));
        this.leftAlone.clear();
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

  /**
   * VS Code is about to move a file or folder: the mirror is told (an open file's disk copy may hold
   * neither what the mirror last saw nor the shared text, and only this says it was moved), and its
   * open documents keep their unsaved-edit state.
   */
  private beforeMove(from: vscode.Uri, to: vscode.Uri): void {
    const oldRoot = this.documents.relativePath(from);
    const newRoot = this.documents.relativePath(to);
    if (oldRoot === undefined || newRoot === undefined) return;
    this.host.announceMove(oldRoot, newRoot);
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
      // A notebook VS Code moved here may keep its old document open a while: it lets go of the
      // cells' texts, which the moved one binds (notebooks.ts).
      const oldNotebook = this.notebooks?.boundAt(oldPath);
      if (oldNotebook) this.notebooks?.release(oldNotebook);
      const moved = vscode.workspace.textDocuments.find((d) => d.uri.toString() === this.uri(entry.path).toString());
      if (moved) void this.documents.rebind(moved);
      return;
    }
    const who = this.by(entry.id, 'path');
    // One move at a time: a folder rename is one event per file, each a file operation in VS Code.
    this.queue = this.queue.then(() => this.follow(entry, oldPath, who)).catch((err: Error) => this.logger.warn(`following a rename: ${err.message}`));
  }

  /**
   * A collaborator renamed a file open here. The mirror moves the file; the new document opens beside
   * the old tab, in each column it had one, and takes the focus if the old one had it; the old
   * document, which took every keystroke until then, hands its shared text over and its tab closes.
   * VS Code's own move of an open editor (WorkspaceEdit.renameFile) reopens it without focus, and for
   * up to a second and a half on a loaded machine the keys typed went nowhere (issue 11, item 2).
   */
  private async follow(entry: FileEntry, oldPath: string, who: string): Promise<void> {
    if (entry.kind === 'notebook' && this.notebooks) {
      const parts = { host: this.host, notebooks: this.notebooks, logger: this.logger, appears, uri: (rel: string) => this.uri(rel) };
      return followNotebook({ ...parts, claim: (rel) => this.claim(rel), leaveAloneAWhile: (rel) => this.leaveAloneAWhile(rel) }, entry, oldPath, who);
    }
    const from = this.uri(oldPath);
    const to = this.uri(entry.path);
    const old = this.documents.documentAt(oldPath);
    const oldTabs = tabsOf(from);
    if (this.disposed || !old || !oldTabs.length) {
      // Nothing shows it: the mirror moves the file, and whoever opens it next gets the new name.
      if (old) this.documents.release(old);
      return this.host.editorMoveDone(oldPath, entry.path, false);
    }
    // Collaborators' edits wait for the new document (a save of the old one would bring the old name
    // back); what the person types in the old one is shared until the new one has the focus.
    this.documents.hold(old);
    this.documents.noteMove(oldPath, entry.path);
    this.host.leaveAlone(oldPath, true);
    this.host.editorMoveDone(oldPath, entry.path, false);
    // Moved, and written with the shared text: the new document opens with the text the caret's
    // place refers to (only keystrokes typed since are added at the hand-over, before the caret).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.host.mirrorIdle(), new Promise((r) => (timer = setTimeout(r, MOVE_ARRIVES_MS)))]);
    clearTimeout(timer);
    // VS Code may not read the new file at once although it is on disk (a fresh-clone run: "Unable to
    // resolve nonexistent file" just after it appeared): asked again until it can, within the same bound.
    const appeared = await appears(to.fsPath, MOVE_ARRIVES_MS);
    if (appeared) this.claim(entry.path); // the new document's until its binding has it
    const doc = appeared ? await openWhenReadable(to, MOVE_ARRIVES_MS) : undefined;
    if (!doc) {
      this.logger.warn(`${oldPath} was renamed to ${entry.path}, which could not be opened here; the editor keeps the old tab`);
      this.documents.release(old);
      this.host.leaveAlone(oldPath, false);
      this.host.tell(`${who} renamed ${oldPath} to ${entry.path}; your open tab of it no longer saves to the session.`);
      return;
    }
    // The switch of tabs takes the focus away for some milliseconds, and a key typed then reaches no
    // editor: it waits for a pause in the person's typing (the old document shares it meanwhile).
    await typingPause((d) => d === old, TYPING_PAUSE_MS, MOVE_ARRIVES_MS);
    const columns = [...new Set(oldTabs.map((t) => t.group.viewColumn))];
    const activeColumn = vscode.window.activeTextEditor?.document === old ? vscode.window.activeTextEditor.viewColumn : undefined;
    for (const column of columns) {
      if (column !== activeColumn) await vscode.window.showTextDocument(doc, { viewColumn: column, preserveFocus: true, preview: false });
    }
    if (activeColumn !== undefined) {
      // Read as late as possible: the person may still be typing in the old document.
      const selections = (vscode.window.activeTextEditor?.document === old ? vscode.window.activeTextEditor.selections : []).map(
        (s) => new vscode.Selection(doc.validatePosition(s.anchor), doc.validatePosition(s.active)),
      );
      // Opened with the caret where it was (set afterwards, a key typed in between went to the start);
      // a keystroke not yet in this document is put in before it at the hand-over.
      const editor = await vscode.window.showTextDocument(doc, { viewColumn: activeColumn, preserveFocus: false, preview: false, selection: selections[0] });
      if (selections.length > 1) editor.selections = selections;
    }
    this.documents.release(old); // the hand-over: the new document takes the shared text
    await this.closeOld(old, oldPath);
    this.logger.info(`${who} renamed ${oldPath} to ${entry.path}; the open editor moved with it`);
    this.host.tell(`${who} renamed ${oldPath} to ${entry.path}; your editor follows it.`);
  }

  /**
   * Closes the old tabs of a moved file. A dirty one is saved first (under its old name, which the
   * mirror leaves alone, then removed): its text is in the new document, and closing it unsaved would
   * ask the person whether to save.
   */
  private async closeOld(old: vscode.TextDocument, oldPath: string): Promise<void> {
    const abs = this.uri(oldPath).fsPath;
    try {
      if (old.isDirty && !(await old.save().then((ok) => ok, () => false))) {
        this.logger.warn(`could not close the old tab of ${oldPath} without asking; it stays open, no longer shared`);
        return;
      }
      await vscode.window.tabGroups.close(tabsOf(old.uri), true).then(undefined, () => false);
      // Written by that save (or by nothing): the session has this text under the new name.
      const onDisk = await fs.readFile(abs, 'utf8').catch(() => undefined);
      if (onDisk !== undefined && !this.host.workspace.byPath(oldPath) && onDisk === old.getText()) {
        await fs.rm(abs, { force: true });
        await pruneEmptyDirs(this.host.root, path.dirname(abs)); // a folder renamed: the old one goes
      }
    } finally {
      this.leaveAloneAWhile(oldPath);
    }
  }

  /** The old name of a moved file stays the editor's a while (its last save there is no change). */
  private leaveAloneAWhile(oldPath: string): void {
    clearTimeout(this.leftAlone.get(oldPath));
    this.leftAlone.set(
      oldPath,
      setTimeout(() => {
        this.leftAlone.delete(oldPath);
        this.host.leaveAlone(oldPath, false);
      }, LEAVE_ALONE_MS),
    );
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
