/**
 * Presence in VS Code: publishes this editor's active file and selections into the session's
 * awareness, and draws every collaborator's cursor and selections in their colour, with their name.
 * Positions travel as Yjs relative positions, so a cursor stays on the right character while text
 * changes around it. Others' states are read only through PresenceIdentity (sanitised, and bound to
 * the connection that delivered them); names are drawn as plain text, never as Markdown.
 */
import * as vscode from 'vscode';
import { Disposable } from '../session/disposable';
import * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import type { PresenceState } from '../sync/awareness';
import type { PresenceIdentity } from '../sync/presence-identity';
import type { Workspace } from '../sync/api';
import type { DocumentBindings } from './documents';
import { labelColours, labelLine } from './presence-labels';

export type { PresenceState } from '../sync/awareness';

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
  private renderQueued = false;
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when anyone's presence (file, selections, membership) changes. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly awareness: Awareness,
    private readonly identity: PresenceIdentity,
    private readonly workspace: Workspace,
    private readonly documents: DocumentBindings,
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

  /** The cursors drawn in a document, by workspace-relative path (for tests and the participants view). */
  cursorsIn(relPath: string): DrawnCursor[] {
    return this.drawn.get(relPath) ?? [];
  }

  /** What was last handed to VS Code to draw in a file, by workspace-relative path (for tests). */
  appliedIn(relPath: string): AppliedDecoration[] {
    return this.applied.get(relPath) ?? [];
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
    const binding = editor && this.documents.bindingOf(editor.document);
    const rel = editor && this.documents.relativePath(editor.document.uri);
    const entry = rel ? this.workspace.byPath(rel) : undefined;
    if (!editor || !binding || !entry) {
      this.awareness.setLocalStateField('file', null);
      this.awareness.setLocalStateField('selections', []);
      return;
    }
    const ytext = binding.ytext;
    const doc = editor.document;
    if (ytext.length !== doc.offsetAt(doc.lineAt(doc.lineCount - 1).range.end) && retries < MAX_PUBLISH_RETRIES) {
      // The binding has not shared the buffer's latest change yet: a position taken now would point
      // into text the others do not have. Publish once it has.
      this.publishRetry = setTimeout(() => this.publish(retries + 1), 16);
      return;
    }
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
      if (!state.file || !state.user || !state.selections) return;
      const ytext = this.workspace.loadedText(state.file.id);
      if (!ytext?.doc) return;
      // The path this peer knows for the file id, never the one the other peer wrote.
      const entry = this.workspace.byId(state.file.id);
      if (!entry) return;
      for (const sel of state.selections) {
        const anchor = toIndex(sel.anchor, ytext.doc);
        const head = toIndex(sel.head, ytext.doc);
        if (anchor === undefined || head === undefined) continue;
        const list = byFile.get(entry.path) ?? [];
        list.push({ clientId, name: state.user.name, colour: state.user.colour, anchor, head });
        byFile.set(entry.path, list);
      }
    });
    this.drawn.clear();
    byFile.forEach((v, k) => this.drawn.set(k, v));
    this.applied.clear();
    for (const editor of vscode.window.visibleTextEditors) this.paint(editor);
  }

  private paint(editor: vscode.TextEditor): void {
    const rel = this.documents.relativePath(editor.document.uri);
    const cursors = (rel && this.drawn.get(rel)) || [];
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
    if (rel && applied.length) this.applied.set(rel, [...(this.applied.get(rel) ?? []), ...applied]);
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

function toIndex(json: unknown, doc: Y.Doc): number | undefined {
  try {
    const abs = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(json), doc);
    return abs ? abs.index : undefined;
  } catch {
    return undefined; // a peer's malformed position draws nothing
  }
}

