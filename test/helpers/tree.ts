/** Test folders: generate a tree of files, and read one back for byte-for-byte comparison. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A fresh folder under the system's temporary folder, removed when this test process exits. */
export function tempDir(prefix = 'hyperpair-test-'): string {
  return removeAtExit(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

const toRemove: string[] = [];

/**
 * Removes `dir` when this process exits (node --test runs each test file as one): a full test run
 * left ~2 GB of folders and peers' state behind in the temporary folder, every run.
 * HYPERPAIR_KEEP_TEMP=1 keeps them, to look at after a failure.
 */
export function removeAtExit(dir: string): string {
  if (toRemove.length === 0) process.once('exit', removeAll);
  toRemove.push(dir);
  return dir;
}

function removeAll(): void {
  if (process.env.HYPERPAIR_KEEP_TEMP) return;
  for (const dir of toRemove) {
    try {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      // a folder a test left unreadable, or a process still writing: the system's cleaning takes it
    }
  }
}

/** Writes files (relative path → content) under root, creating folders. */
export function writeTree(root: string, files: Record<string, string | Uint8Array>): void {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, ...rel.split('/'));
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, content);
  }
}

/** Every regular file under root (relative POSIX path → hex of its bytes), skipping `skip` names. */
export function readTree(root: string, skip: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  // A file (or folder) gone between the listing and the read (a peer's swap file, renamed a moment
  // later) is not part of the tree as it stands.
  const gone = (err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  };
  const walk = (dir: string, rel: string) => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if (rel === '') throw err;
      gone(err);
    }
    for (const d of entries) {
      if (skip.includes(d.name)) continue;
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) walk(path.join(dir, d.name), r);
      else if (d.isFile()) {
        try {
          out[r] = fs.readFileSync(path.join(dir, d.name)).toString('hex');
        } catch (err) {
          gone(err);
        }
      }
    }
  };
  walk(root, '');
  return out;
}

/** A varied tree: nested folders, text and binary, Unicode and spaces, an empty file, a multi-chunk file. */
export function sampleTree(): Record<string, string | Uint8Array> {
  const binary = Uint8Array.from({ length: 700_000 }, (_, i) => (i * 7919) & 255);
  return {
    'README.md': '# Project\n\nHello.\n',
    'src/index.ts': 'export const answer = 42;\n',
    'src/deep/er/still/file.txt': 'deep\n',
    'docs/ünïcödé — name.md': 'naïve café 😀 \u{1F469}\u200D\u{1F4BB}\n',
    'with space/and more spaces.txt': 'spaces\n',
    'crlf.txt': 'line one\r\nline two\r\n',
    'empty.txt': '',
    'assets/big.bin': binary,
    'assets/small.png': Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]),
    'latin1.txt': Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x0a]), // not UTF-8: travels as binary
  };
}
