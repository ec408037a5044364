/**
 * Shared servers in VS Code (issue 17): "Hyperpair: Share Server…" offers the ports listening on this
 * machine (or a typed one), and the "Shared Servers" view lists what this person shares and what
 * others share with them, with Open in Browser and Copy Address, and Stop Sharing for one's own.
 * The tunnels are the core's (session/tunnel.ts); leaving the session ends them. Labels and names
 * come from peers already sanitised (untrusted.ts) and are shown as plain tree labels.
 */
import * as vscode from 'vscode';
import { Disposable } from '../session/disposable';
import type { Logger } from '../session/log';
import type { RemoteServer } from '../session/tunnel';
import type { SessionController } from './controller';
import { SessionFollower } from './session-follower';
import { listeningPorts } from './listening-ports';
import { registerGuarded } from './guard';
import type { RunningSession } from './runtime';

/** A row of the view: a server this person shares, or one shared with them. */
export type ServerRow =
  | { kind: 'own'; port: number; label: string }
  | { kind: 'remote'; port: number | undefined; remotePort: number; label: string; owner: string; problem?: string };

export function serverAddress(port: number): string {
  return `http://127.0.0.1:${port}`;
}

export class ServersView extends Disposable implements vscode.TreeDataProvider<ServerRow> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(
    private readonly controller: SessionController,
    private readonly logger: Logger,
  ) {
    super();
    const reg = (id: string, fn: (...args: never[]) => Promise<unknown>) => this.register(registerGuarded(this.logger, id, fn));
    reg('hyperpair.shareServer', (port?: number) => this.share(port));
    reg('hyperpair.stopSharingServer', (row?: ServerRow) => this.stop(row));
    reg('hyperpair.openServer', (row?: ServerRow) => this.open(row));
    reg('hyperpair.copyServerAddress', (row?: ServerRow) => this.copy(row));
    this.registerAll(
      this.changed,
      vscode.window.registerTreeDataProvider('hyperpair.servers', this),
      new SessionFollower(controller, (running) => this.watch(running)),
    );
  }

  /** The view's rows: this person's shares first, then the servers others share. */
  rows(): ServerRow[] {
    const servers = this.controller.session?.servers;
    if (!servers) return [];
    const own: ServerRow[] = servers.shared().map((s) => ({ kind: 'own', port: s.port, label: s.label }));
    const remote: ServerRow[] = servers.remote().map((r: RemoteServer) => ({
      kind: 'remote',
      port: r.localPort,
      remotePort: r.remotePort,
      label: r.label,
      owner: r.peer.name,
      problem: r.problem,
    }));
    return [...own, ...remote];
  }

  getChildren(element?: ServerRow): ServerRow[] {
    return element ? [] : this.rows();
  }

  getTreeItem(row: ServerRow): vscode.TreeItem {
    if (row.kind === 'own') {
      const item = new vscode.TreeItem(row.label || `Port ${row.port}`);
      item.description = `yours · port ${row.port}`;
      item.tooltip = `You share ${serverAddress(row.port)} with everyone in the session.`;
      item.iconPath = new vscode.ThemeIcon('radio-tower');
      item.contextValue = 'server.own';
      return item;
    }
    const item = new vscode.TreeItem(row.label || `Port ${row.remotePort}`);
    item.description = row.port ? `${row.owner} · 127.0.0.1:${row.port}` : row.problem ? `${row.owner} · not reachable` : `${row.owner} · starting…`;
    item.tooltip = row.port
      ? `${row.owner}'s server on their port ${row.remotePort}, reachable here at ${serverAddress(row.port)}`
      : (row.problem ?? 'Listening on a local port…');
    item.iconPath = new vscode.ThemeIcon(row.port ? 'globe' : 'warning');
    item.contextValue = row.port ? 'server.remote' : 'server.pending';
    if (row.port) item.command = { command: 'hyperpair.openServer', title: 'Open in Browser', arguments: [row] };
    return item;
  }

  private watch(running: RunningSession | undefined): (() => void) | void {
    this.changed.fire();
    if (!running) return;
    const onChanged = () => this.changed.fire();
    const onNotice = (message: string) => void vscode.window.showWarningMessage(`Hyperpair: ${message}`);
    running.servers.on('changed', onChanged);
    running.servers.on('notice', onNotice);
    return () => {
      running.servers.off('changed', onChanged);
      running.servers.off('notice', onNotice);
    };
  }


  private running(): RunningSession {
    const running = this.controller.session;
    if (!running) throw new Error('No session is running. Start or join one first.');
    return running;
  }

  /** Shares `port`, or asks which: the listening ports of this machine, or one typed. */
  private async share(port?: number): Promise<void> {
    const running = this.running();
    const chosen = typeof port === 'number' ? port : await this.pickPort(running);
    if (chosen === undefined) return;
    running.servers.share(chosen);
    this.logger.info(`sharing the server on port ${chosen}`);
    void vscode.window.setStatusBarMessage(`Hyperpair: sharing port ${chosen} with everyone in the session`, 5000);
  }

  private async pickPort(running: RunningSession): Promise<number | undefined> {
    // Ports that are ours already (tunnels to others' servers, our shares) are not offered.
    const skip = new Set([...running.servers.remote().map((r) => r.localPort), ...running.servers.shared().map((s) => s.port)]);
    const listening = (await listeningPorts()).filter((p) => !skip.has(p));
    type Item = vscode.QuickPickItem & { port?: number };
    const pick = vscode.window.createQuickPick<Item>();
    const base: Item[] = listening.map((p) => ({ label: `Port ${p}`, description: serverAddress(p), port: p }));
    pick.title = 'Share which server with everyone in the session?';
    pick.placeholder = listening.length ? 'Pick a listening port, or type a port number' : 'Type a port number (nothing is listening that Hyperpair can see)';
    pick.items = base;
    const typed = (value: string): Item[] => {
      const n = Number(value.trim());
      return /^\d{1,5}$/.test(value.trim()) && n >= 1 && n <= 65535 && !listening.includes(n) ? [{ label: `Port ${n}`, description: 'typed', port: n }] : [];
    };
    const changed = pick.onDidChangeValue((value) => (pick.items = [...typed(value), ...base]));
    try {
      return await new Promise<number | undefined>((resolve) => {
        pick.onDidAccept(() => {
          const chosen = pick.selectedItems[0]?.port ?? typed(pick.value)[0]?.port;
          if (chosen !== undefined) resolve(chosen);
        });
        pick.onDidHide(() => resolve(undefined));
        pick.show();
      });
    } finally {
      changed.dispose();
      pick.dispose();
    }
  }

  private async stop(row?: ServerRow): Promise<void> {
    const servers = this.running().servers;
    let port = row?.kind === 'own' ? row.port : undefined;
    if (port === undefined) {
      const shared = servers.shared();
      if (!shared.length) throw new Error('You share no server.');
      port = (await vscode.window.showQuickPick(shared.map((s) => ({ label: `Port ${s.port}`, port: s.port })), { title: 'Stop sharing which server?' }))?.port;
      if (port === undefined) return;
    }
    servers.unshare(port);
    this.logger.info(`stopped sharing port ${port}`);
  }

  private async open(row?: ServerRow): Promise<void> {
    const port = await this.address(row, 'Open which server?');
    if (port !== undefined) await vscode.env.openExternal(vscode.Uri.parse(serverAddress(port)));
  }

  private async copy(row?: ServerRow): Promise<void> {
    const port = await this.address(row, 'Copy the address of which server?');
    if (port === undefined) return;
    await vscode.env.clipboard.writeText(serverAddress(port));
    void vscode.window.setStatusBarMessage(`Copied ${serverAddress(port)}`, 3000);
  }

  /** The local port of the row passed, or of one picked. */
  private async address(row: ServerRow | undefined, title: string): Promise<number | undefined> {
    if (row?.port) return row.port;
    const rows = this.rows().filter((r) => r.port);
    if (!rows.length) throw new Error('No shared server is reachable yet.');
    const pick = await vscode.window.showQuickPick(
      rows.map((r) => ({ label: r.label || `Port ${r.port}`, description: r.kind === 'own' ? 'yours' : r.owner, port: r.port })),
      { title },
    );
    return pick?.port;
  }
}
