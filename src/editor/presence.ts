/**
 * Presence in VS Code: publishes this editor's active file and selections into the session's
 * awareness, and draws every collaborator's cursor and selections in their colour, with their name.
 * Positions travel as Yjs relative positions, so a cursor stays on the right character while text
 * changes around it.
 */
import * as vscode from 'vscode';
import * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import type { Workspace } from '../sync/api';
import type { DocumentBindings } from './documents';

/** The awareness fields Hyperpair peers publish (documented in docs/PROTOCOL.md). */
export interface PresenceState {
  user?: { id: string; name: string; colour: string };
  /** The file this person has active, if it is shared. */
  file?: { id: string; path: string };
  /** Selections in that file: anchor and head as Y.RelativePosition JSON. */
  selections?: Array<{ anchor: unknown; head: unknown }>;
}

export interface DrawnCursor {
  clientId: number;
  name: string;
  colour: string;
  /** Offsets in the document; anchor === head for a bare cursor. */
  anchor: number;
  head: number;
}

interface Painter {
  cursor: vscode.TextEditorDecorationType;
  selection: vscode.TextEditorDecorationType;
  label: vscode.TextEditorDecorationType;
}

export class Presence implements vscode.Disposable {
  private readonly painters = new Map<string, Painter>();
  private readonly drawn = new Map<string, DrawnCursor[]>();
  private readonly disposables: vscode.Disposable[] = [];
  private renderQueued = false;
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when anyone's presence (file, selections, membership) changes. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly awareness: Awareness,
    private readonly workspace: Workspace,
    private readonly documents: DocumentBindings,
    self: { id: string; name: string; colour: string },
  ) {
    awareness.setLocalStateField('user', self);
    const onChange = () => {
      this.queueRender();
      this.changed.fire();
    };
    awareness.on('change', onChange);
    this.disposables.push(
      { dispose: () => awareness.off('change', onChange) },
      vscode.window.onDidChangeActiveTextEditor(() => this.publish()),
      vscode.window.onDidChangeTextEditorSelection(() => this.publish()),
      vscode.window.onDidChangeVisibleTextEditors(() => this.queueRender()),
      vscode.workspace.onDidChangeTextDocument(() => this.queueRender()),
    );
    this.publish();
  }

  /** The cursors drawn in a document, by workspace-relative path (for tests and the participants view). */
  cursorsIn(relPath: string): DrawnCursor[] {
    return this.drawn.get(relPath) ?? [];
  }

  /** Awareness states of the others, by client id. */
  others(): Map<number, PresenceState> {
    const states = new Map<number, PresenceState>();
    this.awareness.getStates().forEach((s, id) => id !== this.awareness.clientID && states.set(id, s as PresenceState));
    return states;
  }

  /** Whether the latest change of this document was typed here (not a collaborator's edit). */
  isLocalEdit(document: vscode.TextDocument): boolean {
    return this.documents.lastChangeWasLocal(document);
  }

  dispose(): void {
    this.changed.dispose();
    this.disposables.forEach((d) => d.dispose());
    this.painters.forEach((p) => (p.cursor.dispose(), p.selection.dispose(), p.label.dispose()));
    this.painters.clear();
    this.awareness.setLocalState(null);
  }

  private publish(): void {
    const editor = vscode.window.activeTextEditor;
    const binding = editor && this.documents.bindingOf(editor.document);
    const rel = editor && this.documents.relativePath(editor.document.uri);
    const entry = rel ? this.workspace.byPath(rel) : undefined;
    if (!editor || !binding || !entry) {
      this.awareness.setLocalStateField('file', null);
      this.awareness.setLocalStateField('selections', []);
      return;
    }
    const ytext = binding.ytext;
    const rp = (pos: vscode.Position) =>
      Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(ytext, editor.document.offsetAt(pos)));
    this.awareness.setLocalStateField('file', { id: entry.id, path: entry.path });
    this.awareness.setLocalStateField(
      'selections',
      editor.selections.map((s) => ({ anchor: rp(s.anchor), head: rp(s.active) })),
    );
  }

  private queueRender(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    setImmediate(() => {
      this.renderQueued = false;
      this.render();
    });
  }

  private render(): void {
    const byFile = new Map<string, DrawnCursor[]>();
    this.others().forEach((state, clientId) => {
      if (!state.file || !state.user || !Array.isArray(state.selections)) return;
      const ytext = this.workspace.loadedText(state.file.id);
      if (!ytext?.doc) return;
      const entry = this.workspace.byId(state.file.id);
      if (!entry) return;
      for (const sel of state.selections.slice(0, 64)) {
        const anchor = toIndex(sel.anchor, ytext.doc);
        const head = toIndex(sel.head, ytext.doc);
        if (anchor === undefined || head === undefined) continue;
        const list = byFile.get(entry.path) ?? [];
        list.push({ clientId, name: String(state.user.name).slice(0, 64), colour: safeColour(state.user.colour), anchor, head });
        byFile.set(entry.path, list);
      }
    });
    this.drawn.clear();
    byFile.forEach((v, k) => this.drawn.set(k, v));

    for (const editor of vscode.window.visibleTextEditors) {
      const rel = this.documents.relativePath(editor.document.uri);
      const cursors = (rel && this.drawn.get(rel)) || [];
      const byColour = new Map<string, DrawnCursor[]>();
      for (const c of cursors) byColour.set(c.colour, [...(byColour.get(c.colour) ?? []), c]);
      // Clear colours no longer present in this editor, draw the rest.
      for (const [colour, painter] of this.painters) {
        if (!byColour.has(colour)) {
          editor.setDecorations(painter.cursor, []);
          editor.setDecorations(painter.selection, []);
          editor.setDecorations(painter.label, []);
        }
      }
      for (const [colour, list] of byColour) {
        const painter = this.painter(colour);
        const doc = editor.document;
        const at = (o: number) => doc.positionAt(o); // positionAt clamps to the document
        editor.setDecorations(
          painter.cursor,
          list.map((c) => ({ range: new vscode.Range(at(c.head), at(c.head)), hoverMessage: c.name })),
        );
        editor.setDecorations(
          painter.selection,
          list.filter((c) => c.anchor !== c.head).map((c) => ({ range: new vscode.Range(at(c.anchor), at(c.head)), hoverMessage: c.name })),
        );
        editor.setDecorations(
          painter.label,
          list.map((c) => ({
            range: new vscode.Range(at(c.head), at(c.head)),
            renderOptions: { after: { contentText: ` ${c.name} ` } },
          })),
        );
      }
    }
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
        label: vscode.window.createTextEditorDecorationType({
          after: {
            backgroundColor: colour,
            color: '#ffffff',
            fontWeight: 'normal',
            textDecoration: 'none; font-size: 0.8em; border-radius: 2px; margin-left: 2px; opacity: 0.85;',
          },
        }),
      };
      this.painters.set(colour, p);
    }
    return p;
  }
}

function toIndex(json: unknown, doc: Y.Doc): number | undefined {
  try {
    const abs = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(json), doc);
    return abs ? abs.index : undefined;
  } catch {
    return undefined; // a peer's malformed position draws nothing
  }
}

function safeColour(value: unknown): string {
  return typeof value === 'string' && /^#[0-9a-f]{6}$/i.test(value) ? value.toLowerCase() : '#888888';
}
