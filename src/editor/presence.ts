/**
 * Presence in VS Code: publishes this editor's active file and selections into the session's
 * awareness, and draws every collaborator's cursor and selections in their colour, with their name.
 * Positions travel as Yjs relative positions, so a cursor stays on the right character while text
 * changes around it. In a notebook, the caret is in one cell's text: the cell's id travels beside the
 * file (PROTOCOL.md §6.1) and the cursor is drawn in that cell's editor only. Others' states are read
 * only through PresenceIdentity (sanitised, and bound to the connection that delivered them); names
 * are drawn as plain text, never as Markdown.
 */
import * as vscode from 'vscode';
import { Disposable } from '../session/disposable';
import type * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import type { PresenceFile, PresenceState } from '../sync/awareness';
import type { PresenceIdentity } from '../sync/presence-identity';
import type { Workspace } from '../sync/api';
import { placeKey, positionAt, resolveCursors, type CursorSources, type DrawnCursor } from '../sync/presence-cursors';
import type { DocumentBindings } from './documents';
import type { SharedCell } from './notebooks';
import { labelColours, labelLine } from './presence-labels';
import { OnceSoon } from '../session/once-soon';

export type { PresenceState } from '../sync/awareness';
export type { DrawnCursor } from '../sync/presence-cursors';

/** The open notebooks' cells (notebooks.ts): which shared cell a cell's text document shows. */
export interface NotebookCells {
  sharedCell(document: vscode.TextDocument): SharedCell | undefined;
  /** The bound notebooks, by path (the active notebook editor's file, with no cell's text active). */
  boundPaths(): string[];
}

interface Painter {
  cursor: vscode.TextEditorDecorationType;
  selection: vscode.TextEditorDecorationType;
  label: vscode.TextEditorDecorationType;
}

/** What this editor last handed VS Code to draw in one file (read by the editor tests). */
export interface AppliedDecoration {
  kind: 'cursor' | 'selection' | 'label';
  colour: string;
  /** Zero-based [line, character] of the range's start and end. */
  start: [number, number];
  end: [number, number];
  /** The label's text, drawn after the range. */
  text?: string;
}

/** A publish waits for the binding to catch up with the buffer at most this many times (frames). */
const MAX_PUBLISH_RETRIES = 20;

export class Presence extends Disposable {
  private readonly painters = new Map<string, Painter>();
  private readonly drawn = new Map<string, DrawnCursor[]>();
  private readonly applied = new Map<string, AppliedDecoration[]>();
  private publishRetry: NodeJS.Timeout | undefined;
  private readonly renderSoon = new OnceSoon(() => this.render());
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when anyone's presence (file, selections, membership) changes. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly awareness: Awareness,
    private readonly identity: PresenceIdentity,
    private readonly workspace: Workspace & CursorSources,
    private readonly documents: DocumentBindings,
    private readonly notebooks: NotebookCells,
    self: { id: string; name: string; colour: string },
  ) {
    super();
    awareness.setLocalStateField('user', self);
    const onChange = () => {
      this.queueRender();
      this.changed.fire();
    };
    awareness.on('change', onChange);
    this.registerAll(
      { dispose: () => awareness.off('change', onChange) },
      vscode.window.onDidChangeActiveTextEditor(() => this.publish()),
      vscode.window.onDidChangeActiveNotebookEditor(() => this.publish()),
      vscode.window.onDidChangeTextEditorSelection(() => this.publish()),
      vscode.window.onDidChangeVisibleTextEditors(() => this.queueRender()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        // Typing moves this caret too: publish now, not at the next selection event, so that the
        // others see it where it is (listeners run after the binding's, which shared the text).
        if (e.document === vscode.window.activeTextEditor?.document && e.contentChanges.length) this.publish();
        this.queueRender();
      }),
    );
    this.publish();
  }

  /** The cursors drawn in a file (or a notebook's cell), by workspace-relative path (for tests). */
  cursorsIn(relPath: string, cell?: string): DrawnCursor[] {
    return this.drawn.get(placeKey(relPath, cell)) ?? [];
  }

  /** What was last handed to VS Code to draw in a file (or a notebook's cell), by path (for tests). */
  appliedIn(relPath: string, cell?: string): AppliedDecoration[] {
    return this.applied.get(placeKey(relPath, cell)) ?? [];
  }

  /** The others' presence: sanitised, bound to the connection that delivered it, by client id. */
  others(): Map<number, PresenceState> {
    return this.identity.others();
  }

  /** Asks every member to follow this person: a new, larger `summon` in this peer's awareness. */
  summonEveryone(): void {
    const last = (this.awareness.getLocalState() as { summon?: number } | null)?.summon ?? 0;
    this.awareness.setLocalStateField('summon', Math.max(Date.now(), last + 1));
  }

  /** Whether the latest change of this document was typed here (not a collaborator's edit). */
  isLocalEdit(document: vscode.TextDocument): boolean {
    return this.documents.lastChangeWasLocal(document);
  }

  override dispose(): void {
    clearTimeout(this.publishRetry);
    this.changed.dispose();
    super.dispose();
    this.painters.forEach((p) => (p.cursor.dispose(), p.selection.dispose(), p.label.dispose()));
    this.painters.clear();
    this.awareness.setLocalState(null);
  }

  private publish(retries = 0): void {
    clearTimeout(this.publishRetry);
    this.publishRetry = undefined;
    const editor = vscode.window.activeTextEditor;
    const place = editor && this.placeOf(editor.document);
    if (!editor || !place) {
      // A notebook with no cell's text active (its cells selected, not edited) is still the file.
      const rel = this.activeNotebook();
      const entry = rel === undefined ? undefined : this.workspace.byPath(rel);
      this.awareness.setLocalStateField('file', entry ? { id: entry.id, path: entry.path } : null);
      this.awareness.setLocalStateField('selections', []);
      return;
    }
    const ytext = place.text;
    const doc = editor.document;
    if (ytext.length !== doc.offsetAt(doc.lineAt(doc.lineCount - 1).range.end) && retries < MAX_PUBLISH_RETRIES) {
      // The binding has not shared the buffer's latest change yet: a position taken now would point
      // into text the others do not have. Publish once it has.
      this.publishRetry = setTimeout(() => this.publish(retries + 1), 16);
      return;
    }
    const rp = (pos: vscode.Position) => positionAt(ytext, doc.offsetAt(pos));
    this.awareness.setLocalStateField('file', place.file);
    this.awareness.setLocalStateField(
      'selections',
      editor.selections.map((s) => ({ anchor: rp(s.anchor), head: rp(s.active) })),
    );
  }

  /** The shared text a document shows (a file's, or a notebook cell's) and the `file` to publish for it. */
  private placeOf(document: vscode.TextDocument): { text: Y.Text; file: PresenceFile } | undefined {
    const binding = this.documents.bindingOf(document);
    const rel = binding && this.documents.relativePath(document.uri);
    const entry = rel ? this.workspace.byPath(rel) : undefined;
    if (binding && entry) return { text: binding.ytext, file: { id: entry.id, path: entry.path } };
    const cell = this.notebooks.sharedCell(document);
    const notebook = cell && this.workspace.byPath(cell.relPath);
    if (!cell || notebook?.kind !== 'notebook') return undefined;
    return { text: cell.text, file: { id: notebook.id, path: notebook.path, cell: cell.cellId } };
  }

  /** Where a document's collaborators' cursors are kept (placeKey): its file, or its notebook cell. */
  private keyOf(document: vscode.TextDocument): string | undefined {
    const rel = this.documents.relativePath(document.uri);
    if (rel !== undefined) return placeKey(rel);
    const cell = this.notebooks.sharedCell(document);
    return cell && placeKey(cell.relPath, cell.cellId);
  }

  /** The path of the shared notebook in the active notebook editor, if any. */
  private activeNotebook(): string | undefined {
    const uri = vscode.window.activeNotebookEditor?.notebook.uri;
    const rel = uri && this.documents.relativePath(uri);
    return rel !== undefined && this.notebooks.boundPaths().includes(rel) ? rel : undefined;
  }

  private queueRender(): void {
    this.renderSoon.request();
  }

  private render(): void {
    this.drawn.clear();
    resolveCursors(this.others(), this.workspace).forEach((v, k) => this.drawn.set(k, v));
    this.applied.clear();
    // Visible notebooks' cell editors are among these (each cell's text is a document of its own).
    for (const editor of vscode.window.visibleTextEditors) this.paint(editor);
  }

  private paint(editor: vscode.TextEditor): void {
    const key = this.keyOf(editor.document);
    const cursors = (key !== undefined && this.drawn.get(key)) || [];
    const byColour = new Map<string, DrawnCursor[]>();
    for (const c of cursors) byColour.set(c.colour, [...(byColour.get(c.colour) ?? []), c]);
    const applied: AppliedDecoration[] = [];
    const set = (kind: AppliedDecoration['kind'], colour: string, type: vscode.TextEditorDecorationType, options: vscode.DecorationOptions[]) => {
      editor.setDecorations(type, options);
      for (const o of options) {
        const text = o.renderOptions?.after?.contentText;
        applied.push({ kind, colour, start: [o.range.start.line, o.range.start.character], end: [o.range.end.line, o.range.end.character], ...(text ? { text } : {}) });
      }
    };
    // Clear colours no longer present in this editor, draw the rest.
    for (const [colour, painter] of this.painters) {
      if (byColour.has(colour)) continue;
      editor.setDecorations(painter.cursor, []);
      editor.setDecorations(painter.selection, []);
      editor.setDecorations(painter.label, []);
    }
    const doc = editor.document;
    const at = (o: number) => doc.positionAt(o); // positionAt clamps to the document
    const hover = (name: string) => new vscode.MarkdownString().appendText(name); // plain text, escaped
    for (const [colour, list] of byColour) {
      const painter = this.painter(colour);
      set('cursor', colour, painter.cursor, list.map((c) => ({ range: new vscode.Range(at(c.head), at(c.head)), hoverMessage: hover(c.name) })));
      set(
        'selection',
        colour,
        painter.selection,
        list.filter((c) => c.anchor !== c.head).map((c) => ({ range: new vscode.Range(at(c.anchor), at(c.head)), hoverMessage: hover(c.name) })),
      );
      const labels = labelLine(list.map((c) => ({ clientId: c.clientId, name: c.name, colour, line: at(c.head).line })));
      set(
        'label',
        colour,
        painter.label,
        labels.map((l) => {
          const end = doc.lineAt(l.line).range.end;
          return { range: new vscode.Range(end, end), renderOptions: { after: { contentText: l.text } } };
        }),
      );
    }
    if (key !== undefined && applied.length) this.applied.set(key, [...(this.applied.get(key) ?? []), ...applied]);
  }

  private painter(colour: string): Painter {
    let p = this.painters.get(colour);
    if (!p) {
      p = {
        cursor: vscode.window.createTextEditorDecorationType({
          rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
          before: {
            contentText: '',
            border: `solid ${colour}`,
            // A 2px caret that takes no space in the line.
            textDecoration: `none; border-width: 0 0 0 2px; margin-left: -1px; position: absolute; height: 1.2em;`,
          },
        }),
        selection: vscode.window.createTextEditorDecorationType({
          backgroundColor: `${colour}40`,
          rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
        }),
        // After the end of the caret's line, where it moves no character; its own background and a
        // contrasting text colour keep it readable in light and dark themes.
        label: vscode.window.createTextEditorDecorationType({
          after: {
            backgroundColor: labelColours(colour).background,
            color: labelColours(colour).foreground,
            fontWeight: 'normal',
            margin: '0 0 0 1.5em',
            textDecoration: 'none; font-size: 0.85em; border-radius: 3px; padding: 0 4px;',
          },
        }),
      };
      this.painters.set(colour, p);
    }
    return p;
  }
}
