// `npm run package`: builds one VSIX per platform with @vscode/vsce.
//
// The bundles (dist/*.js) are platform-neutral, but the networking stack loads two native addons
// (sodium-native, udx-native) that cannot be bundled. Each VSIX carries those packages, and the
// packages they need at runtime, with only its own platform's prebuilt binary; VS Code's
// Marketplace and `code --install-extension` pick the VSIX by its target.
//
//   node scripts/package.mjs                    every target below
//   node scripts/package.mjs linux-x64 …        only these
//
// Output: dist-vsix/hyperpair-<version>-<target>.vsix, and a summary of what was built and what was
// not (a target whose prebuilt binaries are missing from the installed packages is reported, not
// faked).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NATIVE = ['sodium-native', 'udx-native'];
// VS Code's platform targets that the prebuilds can serve (alpine needs musl builds, which the
// packages do not ship; web has no native code at all).
export const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];
const UNSUPPORTED = {
  'alpine-x64': 'no musl prebuilds in sodium-native/udx-native',
  'alpine-arm64': 'no musl prebuilds in sodium-native/udx-native',
  'linux-armhf': 'no 32-bit ARM prebuilds in sodium-native/udx-native',
  web: 'the networking stack needs Node.js (UDP, native crypto)',
};

const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const requested = process.argv.slice(2);
const targets = requested.length ? requested : TARGETS;
for (const t of targets) {
  if (!TARGETS.includes(t)) {
    console.error(`package: unknown or unsupported target "${t}"${UNSUPPORTED[t] ? ` (${UNSUPPORTED[t]})` : ''}; known: ${TARGETS.join(', ')}`);
    process.exit(2);
  }
}

/** The runtime dependency closure of the native packages, as installed. */
function closure(names) {
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name)) return;
    const dir = path.join(root, 'node_modules', name);
    if (!fs.existsSync(dir)) throw new Error(`${name} is not installed (run npm ci)`);
    seen.add(name);
    const deps = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).dependencies ?? {};
    for (const d of Object.keys(deps)) visit(d);
  };
  names.forEach(visit);
  return [...seen].sort();
}

function installedVersion(name) {
  return JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
}

function run(cmd, args, cwd) {
  execFileSync(cmd, args, { cwd, stdio: 'inherit' });
}

run(process.execPath, [path.join(root, 'esbuild.mjs'), '--production'], root);

const outDir = path.join(root, 'dist-vsix');
fs.mkdirSync(outDir, { recursive: true });
const modules = closure(NATIVE);
const built = [];
const failed = [];
for (const target of targets) {
  const stage = path.join(root, '.cache', 'vsix-stage', target);
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(path.join(stage, 'dist'), { recursive: true });
  for (const f of ['extension.js', 'runtime.js', 'cli.js', 'cli-main.js']) fs.copyFileSync(path.join(root, 'dist', f), path.join(stage, 'dist', f));
  for (const f of ['README.md', 'LICENSE']) fs.copyFileSync(path.join(root, f), path.join(stage, f));
  // README's screenshots, which the walkthrough shows too, and the walkthrough's pages.
  for (const dir of [['docs', 'screenshots'], ['media']]) {
    if (fs.existsSync(path.join(root, ...dir))) fs.cpSync(path.join(root, ...dir), path.join(stage, ...dir), { recursive: true });
  }
  // The manifest as published: no scripts or dev tooling; the only dependencies are the native
  // packages (everything else is in the bundles), so that vsce ships exactly their closure.
  const dependencies = Object.fromEntries(NATIVE.map((n) => [n, pkg.dependencies[n] ?? `^${installedVersion(n)}`]));
  const manifest = { ...pkg, scripts: {}, devDependencies: {}, dependencies };
  delete manifest.overrides;
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(manifest, null, 2));
  fs.writeFileSync(path.join(stage, '.vscodeignore'), ['**/*.map', '**/*.ts', '**/CMakeLists.txt', '**/binding.cc', '**/test/**', '**/prebuilds/*/*.pdb'].join('\n'));
  let missing = '';
  for (const name of modules) {
    const from = path.join(root, 'node_modules', name);
    const to = path.join(stage, 'node_modules', name);
    fs.cpSync(from, to, { recursive: true });
    const prebuilds = path.join(to, 'prebuilds');
    if (NATIVE.includes(name)) {
      if (!fs.existsSync(path.join(prebuilds, target))) missing += `${name} has no prebuild for ${target}; `;
      for (const p of fs.readdirSync(prebuilds)) if (p !== target) fs.rmSync(path.join(prebuilds, p), { recursive: true, force: true });
    }
  }
  if (missing) {
    failed.push(`${target}: ${missing.trim()}`);
    continue;
  }
  const file = path.join(outDir, `hyperpair-${pkg.version}-${target}.vsix`);
  try {
    run(
      process.execPath,
      [path.join(root, 'node_modules/@vscode/vsce/vsce'), 'package', '--target', target, '--allow-missing-repository', '--baseImagesUrl', 'https://hyperpair.invalid/', '-o', file],
      stage,
    );
    built.push(`${target}: ${path.relative(root, file)} (${(fs.statSync(file).size / 1024).toFixed(0)} KiB)`);
  } catch (err) {
    failed.push(`${target}: vsce failed (${err.message.split('\n')[0]})`);
  }
}

// Leave dist/ as the development build (with source maps) that F5 and the tests use.
run(process.execPath, [path.join(root, 'esbuild.mjs')], root);

console.log('\npackage: built');
for (const b of built) console.log(`  ${b}`);
console.log('package: not built here');
for (const f of failed) console.log(`  ${f}`);
for (const [t, why] of Object.entries(UNSUPPORTED)) if (!requested.length) console.log(`  ${t}: ${why}`);
process.exit(failed.length && !built.length ? 1 : 0);
