/** Test folders: generate a tree of files, and read one back for byte-for-byte comparison. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function tempDir(prefix = 'hyperpair-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
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
