/**
 * The file on disk as a copy bound like an editor buffer (disk-copy.ts): the one BufferBinding over
 * real files, real Yjs texts and the real compare-and-swap writes. Another "peer" edits the shared
 * text (a transaction of another origin); "tools" write the file behind the copy's back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as Y from 'yjs';
import { BufferBinding } from '../../src/sync/buffer-binding';
import { DiskCopy, type DiskCopyOptions } from '../../src/sync/disk-copy';
import type { Known } from '../../src/sync/disk-state';
import { contentHash } from '../../src/sync/hash';
import { silentLogger } from '../../src/session/log';
import { rng } from '../chaos/writers';
import { tempDir } from '../helpers/tree';
import { waitFor } from '../helpers/testnet';

const REL = 'notes.txt';

function knownOf(text: string): Known {
  const bytes = Buffer.from(text, 'utf8');
  return { hash: contentHash(bytes), size: bytes.byteLength, text };
}

interface Bound {
  root: string;
  file: string;
  ytext: Y.Text;
  copy: DiskCopy;
  binding: BufferBinding;
  /** A peer's edit: a transaction of another origin, as a remote update applies. */
  peer(f: (t: Y.Text) => void): void;
  close(): void;
}

/** A shared text holding `shared`, a file holding `onDisk` (undefined: none), bound through a DiskCopy. */
async function setUp(shared: string, onDisk: string | undefined, known: Known | undefined, extra: Partial<DiskCopyOptions> = {}, adopt = false): Promise<Bound> {
  const root = extra.root ?? tempDir('hyperpair-diskcopy-');
  const file = path.join(root, REL);
  if (onDisk !== undefined) fs.writeFileSync(file, onDisk);
  const doc = new Y.Doc();
  const ytext = doc.getText('content');
  ytext.insert(0, shared);
  const copy = new DiskCopy({ root, rel: REL, known, logger: silentLogger, ...extra });
  if (adopt) await copy.adopt();
  const binding = new BufferBinding(ytext, copy, { logger: silentLogger });
  copy.onDidChange((changes, version) => binding.onBufferChange(changes, version));
  return {
    root,
    file,
    ytext,
    copy,
    binding,
    peer: (f) => doc.transact(() => f(ytext), 'peer'),
    close: () => {
      binding.dispose();
      copy.dispose();
      doc.destroy();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Runs `body` on a bound copy (see setUp), then closes it whatever happens. */
async function withCopy(args: Parameters<typeof setUp>, body: (b: Bound) => Promise<void>): Promise<void> {
  const b = await setUp(...args);
  try {
    await body(b);
  } finally {
    b.close();
  }
}

const disk = (b: Bound) => fs.readFileSync(b.file, 'utf8');
/** Written through a rename, as editors and formatters save. */
function toolWrites(b: Bound, text: string): void {
  const tmp = `${b.file}.tool-${Math.random().toString(36).slice(2)}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, b.file);
}
const inSync = (b: Bound) => () => b.binding.settled && fs.existsSync(b.file) && disk(b) === b.ytext.toString();

test("a peer's edits reach the file, written only over what the copy last read; the write is recognised as its own", async () => {
  await withCopy(['one\n', 'one\n', knownOf('one\n')], async (b) => {
    b.peer((t) => t.insert(4, 'two\n'));
    await waitFor(inSync(b), "the file to hold the peer's line");
    assert.equal(disk(b), 'one\ntwo\n');
    assert.equal(b.copy.getText(), 'one\ntwo\n');
    assert.equal(b.copy.known?.text, 'one\ntwo\n');
    // Reading its own write again changes nothing.
    assert.equal(await b.copy.read(), 'unchanged');
    assert.equal(b.ytext.toString(), 'one\ntwo\n');
  });
});

test('a change made on disk by another tool reaches the shared text, once', async () => {
  await withCopy(['one\n', 'one\n', knownOf('one\n')], async (b) => {
    toolWrites(b, 'zero\none\nthree\n');
    assert.equal(await b.copy.read(), 'changed');
    await waitFor(inSync(b), 'the shared text to take the change');
    assert.equal(b.ytext.toString(), 'zero\none\nthree\n');
    assert.equal(await b.copy.read(), 'unchanged');
    assert.equal(b.ytext.toString(), 'zero\none\nthree\n');
  });
});

test("the file changed since the copy read it when a peer's edit arrives: the write is refused, the disk's change merged, nothing lost", async () => {
  await withCopy(['one\n', 'one\n', knownOf('one\n')], async (b) => {
    toolWrites(b, 'one\nlocal\n'); // not read yet: the watcher has not reported it
    b.peer((t) => t.insert(0, 'peer\n'));
    await waitFor(inSync(b), 'both changes on disk and in the shared text');
    assert.equal(disk(b), 'peer\none\nlocal\n');
  });
});

test('a tool writes back a version it read two writes ago: the lines that came since are not deleted', async () => {
  await withCopy(['1\n', '1\n', knownOf('1\n')], async (b) => {
    const stale = disk(b); // a formatter reads...
    b.peer((t) => t.insert(t.length, '2\n'));
    await waitFor(inSync(b), 'the first write');
    b.peer((t) => t.insert(t.length, '3\n'));
    await waitFor(inSync(b), 'the second write');
    toolWrites(b, stale + 'tool\n'); // ...and writes back its version, two writes later
    await b.copy.read();
    await waitFor(inSync(b), 'the merge on disk');
    for (const line of ['1', '2', '3', 'tool']) assert.ok(disk(b).split('\n').includes(line), `${line} kept: ${JSON.stringify(disk(b))}`);
  });
});

test("a file deleted here while a peer's edit arrives comes back with it (an edit wins over a concurrent delete)", async () => {
  await withCopy(['one\n', 'one\n', knownOf('one\n')], async (b) => {
    fs.rmSync(b.file);
    b.peer((t) => t.insert(t.length, 'two\n'));
    await waitFor(inSync(b), 'the file back with the edit');
    assert.equal(disk(b), 'one\ntwo\n');
  });
});

test('bytes this peer never saw at the path are kept before the shared text takes it', async () => {
  const kept: string[] = [];
  await withCopy(['shared\n', 'theirs\n', undefined, { keepUnknown: (bytes) => kept.push(bytes.toString('utf8')) }], async (b) => {
    await waitFor(inSync(b), 'the shared text on disk');
    assert.equal(disk(b), 'shared\n');
    assert.deepEqual(kept, ['theirs\n']);
  });
});

test('hand-over from an editor: the disk copy adopts what the editor saved and writes what it did not, without doubling a line', async () => {
  // The editor saved "two" and typed "three" without saving; the mirror's record still says "one".
  await withCopy(['one\ntwo\nthree\n', 'one\ntwo\n', knownOf('one\n'), {}, true], async (b) => {
    await waitFor(inSync(b), 'the unsaved line on disk');
    assert.equal(disk(b), 'one\ntwo\nthree\n');
  });
});

test('a write that fails is told, retried, and made once it can be; nothing is lost meanwhile', async () => {
  const failed: string[] = [];
  let recovered = 0;
  const root = tempDir('hyperpair-diskcopy-');
  fs.mkdirSync(path.join(root, REL)); // a folder in the file's place
  const told = { root, onWriteFailed: (err: Error) => failed.push(err.message), onWriteRecovered: () => recovered++ };
  await withCopy(['text\n', undefined, undefined, told], async (b) => {
    await waitFor(() => failed.length === 1, 'the failure to be told');
    b.peer((t) => t.insert(t.length, 'more\n'));
    fs.rmdirSync(path.join(root, REL));
    await waitFor(inSync(b), 'the file written once the folder is gone', 20_000);
    assert.equal(disk(b), 'text\nmore\n');
    assert.equal(recovered, 1);
    assert.equal(failed.length, 1, 'told once');
  });
});

test('a closed copy writes nothing more', async () => {
  await withCopy(['one\n', 'one\n', knownOf('one\n')], async (b) => {
    b.binding.dispose();
    b.copy.dispose();
    assert.equal(await b.copy.applyEdits([{ offset: 0, deleteCount: 0, insert: 'late\n' }], b.copy.version()), false);
    assert.equal(disk(b), 'one\n');
  });
});

for (const seed of [1, 2, 3]) {
  test(`peers, appenders and stale rewriters at once lose no line (seed ${seed})`, async () => {
    const random = rng(seed);
    const written: string[] = ['start'];
    const stale: Array<{ text: string; age: number }> = [];
    await withCopy(['start\n', 'start\n', knownOf('start\n')], async (b) => {
      for (let step = 0; step < 150; step++) {
        const r = random();
        const line = `s${seed}-${step}`;
        written.push(line);
        // One tool at a time on this disk (two tools racing each other lose a line on any disk, with
        // or without a mirror): an append or a rewrite waits for a rewriter that has read.
        if (r < 0.4 || (r < 0.8 && stale.length)) {
          // A peer inserts a line at a line boundary of the shared text.
          b.peer((t) => {
            const s = t.toString();
            const starts = [0, ...[...s.matchAll(/\n/g)].map((m) => m.index! + 1)];
            t.insert(starts[Math.floor(random() * starts.length)], `${line}\n`);
          });
        } else if (r < 0.65) {
          fs.appendFileSync(b.file, `${line}\n`); // in place, as `>>` does
        } else if (r < 0.8) {
          stale.push({ text: disk(b), age: 0 }); // a rewriter reads now and writes a few steps later
          written.pop();
        } else {
          const s = stale.shift();
          if (s) toolWrites(b, `${s.text}${line}\n`);
          else fs.appendFileSync(b.file, `${line}\n`);
        }
        for (const s of stale) s.age++;
        // A rewriter writes back within a few steps (its base stays among the copy's recent texts).
        while (stale.length && stale[0].age > 3) {
          const s = stale.shift()!;
          const late = `s${seed}-${step}-late`;
          written.push(late);
          toolWrites(b, `${s.text}${late}\n`);
        }
        if (random() < 0.5) await b.copy.read(); // the watcher reports (not after every write)
        for (let i = Math.floor(random() * 3); i > 0; i--) await new Promise((r) => setImmediate(r));
      }
      for (const s of stale.splice(0)) {
        const late = `s${seed}-end-${written.length}`;
        written.push(late);
        toolWrites(b, `${s.text}${late}\n`);
        await b.copy.read();
      }
      await waitFor(async () => (await b.copy.read()) === 'unchanged' && inSync(b)(), 'the file and the shared text to agree', 30_000);
      const lines = new Set(disk(b).split('\n'));
      const lost = written.filter((l) => !lines.has(l));
      assert.deepEqual(lost, [], `lines lost: ${lost.join(' ')}`);
      assert.equal(b.binding.repairs, 0);
    });
  });
}
