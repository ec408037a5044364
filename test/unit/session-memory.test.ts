/**
 * A folder's session note is also its claim: of two windows running a session in one folder (a remote
 * extension host that outlived its window, or a second tab), the one whose session began later keeps
 * it; the other leaves and is told, and never deletes the note of the window that took over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { SessionMemory, supersedes, type Note } from '../../src/editor/rejoin';
import type { SessionController } from '../../src/editor/controller';
import { silentLogger } from '../../src/session/log';
import { tempDir } from '../helpers/tree';
import { waitFor } from '../helpers/testnet';

/** The part of a window's session controller the memory reads: its session, and leaving it. */
class Window {
  session: { root: string; code: string } | undefined;
  state = 'idle';
  left = 0;
  private readonly listeners = new Set<() => void>();
  onDidChange = (listener: () => void) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };
  run(root: string, code: string): void {
    this.session = { root, code };
    this.state = 'connected';
    for (const l of this.listeners) l();
  }
  async leave(): Promise<void> {
    this.left++;
    this.session = undefined;
    this.state = 'idle';
    for (const l of this.listeners) l();
  }
}

function noteFiles(storage: string): string[] {
  const dir = path.join(storage, 'rejoin');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
}

function readNote(storage: string): Note {
  const [file] = noteFiles(storage);
  assert.ok(file, 'a note on disk');
  return JSON.parse(fs.readFileSync(path.join(storage, 'rejoin', file), 'utf8')) as Note;
}

const logger = silentLogger;

test('the window whose session in a folder began later keeps it; the earlier one leaves, is told, and leaves its note alone', async () => {
  const storage = tempDir();
  const folder = tempDir();
  const first = new Window();
  const second = new Window();
  const superseded: string[] = [];
  const firstMemory = new SessionMemory(storage, first as unknown as SessionController, logger, (f) => superseded.push(f));
  const secondMemory = new SessionMemory(storage, second as unknown as SessionController, logger, () => assert.fail('the later window keeps its session'));
  try {
    first.run(folder, 'code-1');
    await waitFor(() => noteFiles(storage).length === 1, 'the first window\'s note');
    const firstWindow = readNote(storage).window;

    // The second window (after a reload, the old extension host still running) finds the note,
    // and before it opens its session the first window has left it.
    const recalled = await secondMemory.recall(folder);
    assert.equal(recalled?.code, 'code-1');
    assert.equal(await secondMemory.takeOver(folder), true, 'it waited for the first window');
    assert.equal(first.left, 1, 'the first window left before the second opened its session');
    await waitFor(() => superseded.length === 1, 'the first window was told');
    assert.deepEqual(superseded, [folder]);
    second.run(folder, 'code-1');
    await waitFor(() => readNote(storage).window !== firstWindow, 'the second window\'s note');
    // Past the first window's end-of-session delay, and after an explicit forget: the note is the second's.
    await new Promise((r) => setTimeout(r, 2500));
    await firstMemory.forget(folder);
    assert.equal(second.left, 0, 'the second window is still in its session');
    const kept = readNote(storage);
    assert.notEqual(kept.window, firstWindow, 'the second window\'s note is kept');
    assert.equal(kept.code, 'code-1');
    // The second window's own leave deletes it.
    await secondMemory.forget(folder);
    assert.deepEqual(noteFiles(storage), []);
  } finally {
    firstMemory.dispose();
    secondMemory.dispose();
  }
});

test('which of two windows\' notes wins a folder', () => {
  const mine: Note = { folder: '/w', code: 'c', role: 'joined', at: 10, window: 'bbbb', since: 10 };
  assert.equal(supersedes(undefined, mine), false, 'no note');
  assert.equal(supersedes({ ...mine }, mine), false, 'its own');
  assert.equal(supersedes({ ...mine, window: undefined, since: undefined }, mine), false, 'a note from before claims');
  assert.equal(supersedes({ ...mine, window: 'aaaa', since: 20 }, mine), true, 'a later session elsewhere');
  assert.equal(supersedes({ ...mine, window: 'aaaa', since: 5 }, mine), false, 'an earlier session elsewhere');
  assert.equal(supersedes({ ...mine, window: 'cccc' }, mine), true, 'a tie: the greater window name');
  assert.equal(supersedes({ ...mine, window: 'aaaa' }, mine), false, 'a tie: the lesser window name');
  assert.equal(supersedes({ ...mine, folder: '/other', window: 'aaaa', since: 20 }, mine), false, 'another folder');
});

test('a later session in the folder makes an earlier window leave even without a takeover', async () => {
  const storage = tempDir();
  const folder = tempDir();
  const first = new Window();
  const second = new Window();
  const firstMemory = new SessionMemory(storage, first as unknown as SessionController, logger);
  const secondMemory = new SessionMemory(storage, second as unknown as SessionController, logger);
  try {
    first.run(folder, 'code-1');
    await waitFor(() => noteFiles(storage).length === 1, 'the first window\'s note');
    await new Promise((r) => setTimeout(r, 5)); // a later start, to the millisecond
    second.run(folder, 'code-2');
    await waitFor(() => first.left === 1, 'the first window left its session', 10_000);
    assert.equal(second.left, 0);
    assert.equal(readNote(storage).code, 'code-2');
  } finally {
    firstMemory.dispose();
    secondMemory.dispose();
  }
});

test('no waiting for a window whose extension host is gone, nor for a stale note', async () => {
  const storage = tempDir();
  const folder = tempDir();
  const gone = spawnSync(process.execPath, ['-e', '']).pid;
  const file = path.join(storage, 'rejoin', await noteName(folder));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const memory = new SessionMemory(storage, new Window() as unknown as SessionController, logger);
  try {
    const note: Note = { folder, code: 'c', role: 'joined', at: Date.now(), window: 'other', since: Date.now(), pid: gone };
    fs.writeFileSync(file, JSON.stringify(note));
    const started = Date.now();
    assert.equal(await memory.takeOver(folder), false, 'its host is gone');
    fs.writeFileSync(file, JSON.stringify({ ...note, pid: process.pid, at: Date.now() - 10 * 60_000 }));
    assert.equal(await memory.takeOver(folder), false, 'a stale note');
    assert.ok(Date.now() - started < 2000, 'no wait');
  } finally {
    memory.dispose();
  }
});

/** The file name a folder's note has, found by letting a window in a session write one elsewhere. */
async function noteName(folder: string): Promise<string> {
  const scratch = tempDir();
  const w = new Window();
  const memory = new SessionMemory(scratch, w as unknown as SessionController, logger);
  w.run(folder, 'probe');
  await waitFor(() => noteFiles(scratch).length === 1, 'the probe note');
  memory.dispose();
  return noteFiles(scratch)[0];
}
