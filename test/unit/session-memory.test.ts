/**
 * The note a window keeps of its session, for a reload (editor/rejoin.ts), names its window. Two
 * windows can have run a session in one folder one after the other (a remote extension host that
 * outlived its window, a second tab): the earlier one never writes over nor deletes the later one's
 * note, so that a reload of the later window still rejoins. (Which of them mirrors the folder is the
 * folder claim's job: folder-claim.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SessionMemory, supersedes, type Note } from '../../src/editor/rejoin';
import type { SessionController } from '../../src/editor/controller';
import { silentLogger } from '../../src/session/log';
import { tempDir } from '../helpers/tree';
import { waitFor } from '../helpers/testnet';

/** The part of a window's session controller the memory reads: its session, and when it changes. */
class Window {
  session: { root: string; code: string } | undefined;
  state = 'idle';
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
  end(): void {
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

test('an earlier window neither writes over nor deletes the note of a window whose session in the folder began later', async () => {
  const storage = tempDir();
  const folder = tempDir();
  const first = new Window();
  const second = new Window();
  const firstMemory = new SessionMemory(storage, first as unknown as SessionController, silentLogger);
  const secondMemory = new SessionMemory(storage, second as unknown as SessionController, silentLogger);
  try {
    first.run(folder, 'code-1');
    await waitFor(() => noteFiles(storage).length === 1, 'the first window\'s note');
    const firstWindow = readNote(storage).window;
    // The second window (after a reload whose old extension host lives on) rejoins from the note.
    assert.equal((await secondMemory.recall(folder))?.code, 'code-1');
    await new Promise((r) => setTimeout(r, 5)); // a later start, to the millisecond
    second.run(folder, 'code-1');
    await waitFor(() => readNote(storage).window !== firstWindow, 'the second window\'s note');
    const secondNote = readNote(storage);

    // The first window's refresh leaves it alone...
    await (firstMemory as unknown as { touch(): Promise<void> }).touch();
    assert.deepEqual(readNote(storage), secondNote, 'not written over');
    // ...and so do the end of its session (past the end-of-session delay) and its Leave Session.
    first.end();
    await new Promise((r) => setTimeout(r, 2500));
    await firstMemory.forget(folder);
    assert.deepEqual(readNote(storage), secondNote, 'not deleted');
    // The second window's own leave deletes it.
    await secondMemory.forget(folder);
    assert.deepEqual(noteFiles(storage), []);
  } finally {
    firstMemory.dispose();
    secondMemory.dispose();
  }
});

test('which of two windows\' notes is the later one', () => {
  const mine: Note = { folder: '/w', code: 'c', role: 'joined', at: 10, window: 'bbbb', since: 10 };
  assert.equal(supersedes(undefined, mine), false, 'no note');
  assert.equal(supersedes({ ...mine }, mine), false, 'its own');
  assert.equal(supersedes({ ...mine, window: undefined, since: undefined }, mine), false, 'a note of an older version');
  assert.equal(supersedes({ ...mine, window: 'aaaa', since: 20 }, mine), true, 'a later session elsewhere');
  assert.equal(supersedes({ ...mine, window: 'aaaa', since: 5 }, mine), false, 'an earlier session elsewhere');
  assert.equal(supersedes({ ...mine, window: 'cccc' }, mine), true, 'a tie: the greater window name');
  assert.equal(supersedes({ ...mine, window: 'aaaa' }, mine), false, 'a tie: the lesser window name');
  assert.equal(supersedes({ ...mine, folder: '/other', window: 'aaaa', since: 20 }, mine), false, 'another folder');
});
