/**
 * The editor-test agent. VS Code loads it as the extension-tests module (`extensionTestsPath`) inside
 * the real extension host; its `run()` serves requests from the test runner (plain Node, outside the
 * editor) over HTTP on 127.0.0.1 until the runner says `done`. Everything a test reads from or does to
 * an editor that is not done through the UI with Playwright goes through here.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
import vscode = require('vscode');
import { notebookHandlers } from './notebooks';

type Handler = (...args: never[]) => unknown;

function root(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('no workspace folder is open');
  return folder.uri.fsPath;
}

function uriOf(rel: string): vscode.Uri {
  return vscode.Uri.file(path.join(root(), ...rel.split('/')));
}

async function documentOf(rel: string): Promise<vscode.TextDocument> {
  return vscode.workspace.openTextDocument(uriOf(rel));
}

function extensionExports(): Record<string, unknown> | undefined {
  const ext = vscode.extensions.getExtension('hyperpair.hyperpair');
  return ext?.isActive ? (ext.exports as Record<string, unknown>) : undefined;
}

function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...walk(path.join(dir, d.name), r));
    else if (d.isFile()) out.push(r);
  }
  return out.sort();
}

let finish: (() => void) | undefined;

/** Changes to one document as this extension host saw them, with wall-clock times (for benchmarks). */
let recording: { log: Array<{ t: number; text: string; rangeLength: number }>; stop: vscode.Disposable } | undefined;

const handlers: Record<string, Handler> = {
  ping: () => ({ version: vscode.version, folder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath, host: process.pid }),
  extensionActive: () => vscode.extensions.getExtension('hyperpair.hyperpair')?.isActive ?? false,
  extensionPath: () => vscode.extensions.getExtension('hyperpair.hyperpair')?.extensionPath ?? null,
  activateExtension: async () => {
    await vscode.extensions.getExtension('hyperpair.hyperpair')?.activate();
    return true;
  },
  executeCommand: async (id: string, ...args: unknown[]) => {
    const result = await vscode.commands.executeCommand(id, ...args);
    return result === undefined ? null : JSON.parse(JSON.stringify(result)) as unknown;
  },
  commands: async () => (await vscode.commands.getCommands(true)).filter((c) => c.startsWith('hyperpair.')),
  openFile: async (rel: string) => {
    const doc = await documentOf(rel);
    await vscode.window.showTextDocument(doc, { preview: false });
    return doc.getText().length;
  },
  text: async (rel: string) => (await documentOf(rel)).getText(),
  diskText: (rel: string) => {
    try {
      return fs.readFileSync(path.join(root(), ...rel.split('/')), 'utf8');
    } catch {
      return null;
    }
  },
  files: () => walk(root()),
  insert: async (rel: string, offset: number, text: string) => {
    // VS Code refuses an edit made against a version that changed meanwhile (a collaborator's edit
    // landed): like a person, try again on the current text.
    const doc = await documentOf(rel);
    for (let attempt = 0; attempt < 100; attempt++) {
      const edit = new vscode.WorkspaceEdit();
      edit.insert(doc.uri, doc.positionAt(offset), text);
      if (await vscode.workspace.applyEdit(edit)) return true;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`could not insert into ${rel}: every attempt was refused`);
  },
  save: async (rel: string) => (await documentOf(rel)).save(),
  /** Renames or moves a file or folder as the Explorer does (F2): through VS Code's file operations. */
  renameFile: async (from: string, to: string) => {
    const edit = new vscode.WorkspaceEdit();
    edit.renameFile(uriOf(from), uriOf(to), { overwrite: false });
    return vscode.workspace.applyEdit(edit);
  },
  /** Deletes a file as the Explorer does (without the trash, which code-server may not have). */
  deleteFile: async (rel: string) => {
    const edit = new vscode.WorkspaceEdit();
    edit.deleteFile(uriOf(rel), { recursive: true, ignoreIfNotExists: false });
    return vscode.workspace.applyEdit(edit);
  },
  /** The open text tabs: workspace-relative path, view column, active in its group, unsaved. */
  tabs: () =>
    vscode.window.tabGroups.all.flatMap((g) =>
      g.tabs
        .filter((t) => t.input instanceof vscode.TabInputText)
        .map((t) => ({
          path: path.relative(root(), (t.input as vscode.TabInputText).uri.fsPath).split(path.sep).join('/'),
          viewColumn: g.viewColumn,
          active: t.isActive,
          dirty: t.isDirty,
        })),
    ),
  /** Opens a file in a given view column (1-based), as a person splitting the editor would. */
  openFileIn: async (rel: string, viewColumn: number) => {
    const doc = await documentOf(rel);
    await vscode.window.showTextDocument(doc, { preview: false, viewColumn });
    return true;
  },
  isDirty: async (rel: string) => (await documentOf(rel)).isDirty,
  setSelection: async (rel: string, anchor: number, active: number) => {
    const doc = await documentOf(rel);
    const editor = await vscode.window.showTextDocument(doc, { preview: false });
    editor.selection = new vscode.Selection(doc.positionAt(anchor), doc.positionAt(active));
    return true;
  },
  selections: () => {
    const e = vscode.window.activeTextEditor;
    return e ? e.selections.map((s) => [e.document.offsetAt(s.anchor), e.document.offsetAt(s.active)]) : [];
  },
  /** The active editor's document, whatever its scheme: a virtual report has no file on disk. */
  activeDocument: () => {
    const d = vscode.window.activeTextEditor?.document;
    return d ? { scheme: d.uri.scheme, path: d.uri.path, dirty: d.isDirty, untitled: d.isUntitled, text: d.getText() } : null;
  },
  activeFile: () => {
    const e = vscode.window.activeTextEditor;
    return e ? path.relative(root(), e.document.uri.fsPath).split(path.sep).join('/') : null;
  },
  testApi: async (method: string, ...args: unknown[]) => {
    const api = extensionExports()?.testApi as Record<string, (...a: unknown[]) => unknown> | undefined;
    if (!api) throw new Error('the Hyperpair extension is not active or exports no testApi');
    const fn = api[method];
    if (typeof fn !== 'function') throw new Error(`testApi has no method ${method}`);
    const result = await fn(...args);
    return result === undefined ? null : JSON.parse(JSON.stringify(result)) as unknown;
  },
  /**
   * Starts recording every change to `rel` in this extension host: the time it arrived here
   * (performance.timeOrigin + now(), comparable with any process on this machine) and what changed.
   */
  recordChanges: (rel: string) => {
    recording?.stop.dispose();
    const file = uriOf(rel).fsPath;
    const log: Array<{ t: number; text: string; rangeLength: number }> = [];
    const stop = vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.uri.fsPath !== file) return;
      const t = performance.timeOrigin + performance.now();
      for (const c of e.contentChanges) log.push({ t, text: c.text, rangeLength: c.rangeLength });
    });
    recording = { log, stop };
    return true;
  },
  /** Stops recording and returns what was recorded. */
  recordedChanges: () => {
    const log = recording?.log ?? [];
    recording?.stop.dispose();
    recording = undefined;
    return log;
  },
  done: () => {
    setTimeout(() => finish?.(), 50);
    return true;
  },
  ...notebookHandlers(uriOf),
};

/**
 * The agent of the extension host before this one, still listening: a remote extension host can
 * outlive its window (code-server keeps it for a reconnection grace time when a reload's shutdown
 * fails), and the test runner's calls would reach that host, whose window is gone. It is asked to
 * hand the port over; its host lives on, as it would for a user.
 */
function askToHandOver(port: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/rpc', timeout: 5000, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', () => resolve());
    req.on('timeout', () => req.destroy());
    req.end(JSON.stringify({ method: 'handOver', args: [] }));
  });
}

export function run(): Promise<void> {
  const port = Number(process.env.HYPERPAIR_TEST_AGENT_PORT);
  if (!port) return Promise.reject(new Error('HYPERPAIR_TEST_AGENT_PORT is not set'));
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        void (async () => {
          try {
            const { method, args } = JSON.parse(body) as { method: string; args: unknown[] };
            if (method === 'handOver') {
              res.end(JSON.stringify({ ok: true, result: true }));
              server.close();
              server.closeAllConnections();
              return;
            }
            const handler = handlers[method];
            if (!handler) throw new Error(`unknown agent method ${method}`);
            const result = await (handler as (...a: unknown[]) => unknown)(...(args ?? []));
            res.end(JSON.stringify({ ok: true, result: result ?? null }));
          } catch (err) {
            res.end(JSON.stringify({ ok: false, error: (err as Error).stack ?? String(err) }));
          }
        })();
      });
    });
    finish = () => server.close(() => resolve());
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') throw err;
      void askToHandOver(port).then(() => setTimeout(() => server.listen(port, '127.0.0.1'), 200));
    });
    server.listen(port, '127.0.0.1');
  });
}
