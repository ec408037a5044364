/**
 * Files collaborators changed since this person last looked, marked in the Explorer and on tabs
 * (a dot, in the colour of whoever changed it, and their name in the tooltip); opening the file
 * clears the mark. A light touch: `hyperpair.markChangedFiles` switches it off.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type * as Y from 'yjs';
import { Disposable } from '../session/disposable';
import { PALETTE } from '../session/format';
import type { ChangeOrigin, FileEntry } from '../sync/api';
import { ChangedBy, nearestColour } from '../sync/changed-by';
import type { SharedWorkspace } from '../sync/workspace';
import type { Presence } from './presence';

export class ChangedFiles extends Disposable implements vscode.FileDecorationProvider {
  private readonly changed = new vscode.EventEmitter<vscode.Uri[]>();
  readonly onDidChangeFileDecorations = this.changed.event;
  private readonly marks = new Map<string, { names: string[]; colour: string }>();
  private readonly tracker: ChangedBy;

  constructor(
    private readonly workspace: SharedWorkspace,
    private readonly presence: Presence,
    private readonly root: string,
    private readonly enabled: () => boolean,
  ) {
    super();
    // The awareness is bound to the client id that this peer writes every document with.
    this.tracker = new ChangedBy(workspace.awareness.clientID);
    // What arrived before this editor looked (the join's first copy) is the baseline, not news.
    for (const entry of workspace.files()) {
      const doc = workspace.loadedText(entry.id)?.doc;
      if (doc) this.tracker.writers(entry.id, doc);
    }
    const onText = (entry: FileEntry, origin: ChangeOrigin, before?: Map<number, number>) => this.onText(entry, origin, before);
    workspace.on('text-changed', onText);
    this.registerAll(
      this.changed,
      { dispose: () => workspace.off('text-changed', onText) },
      vscode.window.registerFileDecorationProvider(this),
      vscode.workspace.onDidOpenTextDocument((d) => this.clear(d.uri)),
      vscode.window.onDidChangeActiveTextEditor((e) => e && this.clear(e.document.uri)),
      vscode.window.onDidChangeActiveNotebookEditor((e) => e && this.clear(e.notebook.uri)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('hyperpair.markChangedFiles') && !this.enabled()) this.clearAll();
      }),
    );
  }

  /** Workspace-relative paths marked now, with who changed them (for the editor tests). */
  marked(): Array<{ path: string; names: string[] }> {
    return [...this.marks].map(([fsPath, m]) => ({ path: path.relative(this.root, fsPath).split(path.sep).join('/'), names: m.names }));
  }

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    const mark = this.marks.get(uri.fsPath);
    if (!mark) return undefined;
    const colour = new vscode.ThemeColor(`hyperpair.changedBy${nearestColour(mark.colour, PALETTE)}`);
    return new vscode.FileDecoration('●', `Changed by ${mark.names.join(', ')} since you last opened it`, colour);
  }

  private onText(entry: FileEntry, origin: ChangeOrigin, before?: Map<number, number>): void {
    const doc = this.workspace.loadedText(entry.id)?.doc;
    if (!doc) {
      // A text held as bytes here, whose document a collaborator's edit is bringing: it is complete
      // (and readable) once that change is in.
      if (origin === 'remote' && before) void this.workspace.loadText(entry.id).then((t) => t?.doc && !this.disposed && this.mark(entry, t.doc, origin, before));
      return;
    }
    this.mark(entry, doc, origin, before);
  }

  private mark(entry: FileEntry, doc: Y.Doc, origin: ChangeOrigin, before?: Map<number, number>): void {
    const writers = this.tracker.writers(entry.id, doc, origin === 'remote' ? before : undefined);
    if (origin !== 'remote' || writers.length === 0 || !this.enabled()) return;
    const uri = vscode.Uri.file(path.join(this.root, ...entry.path.split('/')));
    // Someone looking at the file sees the change as it happens: nothing to point out.
    if (vscode.window.visibleTextEditors.some((e) => e.document.uri.fsPath === uri.fsPath)) return;
    if (vscode.window.visibleNotebookEditors.some((e) => e.notebook.uri.fsPath === uri.fsPath)) return; // a notebook (issue 18)
    const others = this.presence.others();
    const people = writers.map((c) => others.get(c)?.user).filter((u): u is NonNullable<typeof u> => !!u);
    if (people.length === 0) return;
    const mark = this.marks.get(uri.fsPath) ?? { names: [], colour: people[0].colour };
    for (const p of people) if (!mark.names.includes(p.name)) mark.names.push(p.name);
    mark.colour = people[people.length - 1].colour;
    this.marks.set(uri.fsPath, mark);
    this.changed.fire([uri]);
  }

  private clear(uri: vscode.Uri): void {
    if (this.marks.delete(uri.fsPath)) this.changed.fire([uri]);
  }

  private clearAll(): void {
    const uris = [...this.marks.keys()].map((p) => vscode.Uri.file(p));
    this.marks.clear();
    this.changed.fire(uris);
  }

  override dispose(): void {
    super.dispose();
  }
}
