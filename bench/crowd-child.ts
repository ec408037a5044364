/**
 * One peer of the crowd benchmark in its own process: a Session and a SharedWorkspace (no disk),
 * driven by JSON lines on stdin and reporting JSON lines on stdout, each stamped with the wall clock
 * (performance.timeOrigin + now, comparable between processes of one machine).
 *
 *   node crowd-child.js <bootstrap host:port,…> <session code> <name> <share|join>
 *   stdin:  {"cmd":"edit","token":"<a.1>"} | {"cmd":"dump"} | {"cmd":"leave"}
 *   stdout: members, ready, edited, saw, dump, left
 */
import { performance } from 'node:perf_hooks';
import * as readline from 'node:readline';
import * as Y from 'yjs';
import { Session } from '../src/session';
import { createStreamLogger } from '../src/session/log';
import { parseBootstrap } from '../src/session/network';
import { publishSelections, publishUser } from '../src/sync/awareness';
import { SharedWorkspace } from '../src/sync/workspace';

export const CROWD_FILE = 'crowd.txt';
const TOKEN = /<[^<>]+>/g;

const now = () => performance.timeOrigin + performance.now();
const say = (event: Record<string, unknown>) => process.stdout.write(JSON.stringify({ ...event, at: now() }) + '\n');

async function main(): Promise<void> {
  const [spec, code, name, mode] = process.argv.slice(2);
  // HYPERPAIR_CROWD_LOG=debug: the session's log on stderr (the bench keeps its tail, or a file each).
  const level = process.env.HYPERPAIR_CROWD_LOG as 'debug' | 'info' | undefined;
  const logger = level ? createStreamLogger(level, undefined, `${name} `) : undefined;
  const session = new Session({ code, name, logger, network: { bootstrap: parseBootstrap(spec), host: '127.0.0.1', firewalled: false } });
  const ws = new SharedWorkspace({ transport: session, mode: mode === 'share' ? 'share' : 'join' });
  publishUser(ws.awareness, session.self);
  publishSelections(ws.awareness, null);
  const members = () => say({ event: 'members', n: session.peers().length });
  session.on('peer-join', members);
  session.on('peer-leave', members);
  let text: Y.Text | undefined;
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const m = JSON.parse(line) as { cmd: string; token?: string };
    if (m.cmd === 'edit' && text && m.token) {
      const t = text;
      // At an end: a token never lands inside another, so the oracle can count them.
      t.doc!.transact(() => t.insert(Math.random() < 0.5 ? 0 : t.length, m.token!), 'editor');
      say({ event: 'edited', token: m.token });
    } else if (m.cmd === 'dump') {
      say({ event: 'dump', text: text?.toString() ?? null });
    } else if (m.cmd === 'leave') {
      ws.close();
      void session.leave().then(() => {
        say({ event: 'left' });
        process.exit(0);
      });
    }
  });
  say({ event: 'started' });
  // A joiner is complete when it holds the session's files; its own announcement on the DHT (which
  // ready() waits for, slow on a loaded DHT) is not part of that, as in src/app/peer.ts.
  const announced = session.ready().then(() => say({ event: 'announced' }));
  if (mode === 'share') {
    await announced;
    ws.createText(CROWD_FILE, 'crowd\n', 'editor');
  }
  await ws.whenIndexReady();
  await waitForEntry(ws);
  text = await ws.text(ws.byPath(CROWD_FILE)!.id);
  text.observe((e) => {
    if (e.transaction.local) return;
    const tokens: string[] = [];
    for (const d of e.delta) if (typeof d.insert === 'string') tokens.push(...(d.insert.match(TOKEN) ?? []));
    if (tokens.length) say({ event: 'saw', tokens });
  });
  await ws.whenComplete();
  say({ event: 'ready', n: session.peers().length });
}

function waitForEntry(ws: SharedWorkspace): Promise<void> {
  if (ws.byPath(CROWD_FILE)) return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => ws.byPath(CROWD_FILE) && (ws.off('file-added', check), resolve());
    ws.on('file-added', check);
  });
}

void main();
