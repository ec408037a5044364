// Bundles the extension and the headless CLI. Native addons (sodium-native, udx-native) cannot be
// bundled (they load .node files relative to their package), so they stay external and ship in
// node_modules beside the bundle; see scripts/package.mjs.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

export const NATIVE_EXTERNALS = ['sodium-native', 'udx-native'];

const common = {
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
  external: ['vscode', ...NATIVE_EXTERNALS],
};

// The session runtime (networking, Yjs, bindings) is its own bundle, required by the extension only
// when a session starts, so that activation stays cheap.
const extensionExternal = [...common.external, './runtime.js'];

const builds = [
  // The banner notes when the extension host starts evaluating the bundle, so that the extension can
  // report its own activation time (code loading + activate()) as VS Code counts it.
  {
    ...common,
    entryPoints: ['src/extension.ts'],
    outfile: 'dist/extension.js',
    external: extensionExternal,
    banner: { js: 'var __hyperpairLoadStart = performance.now();' },
  },
  { ...common, entryPoints: ['src/editor/runtime.ts'], outfile: 'dist/runtime.js' },
  // The `hyperpair` command is a small entry that loads the peer's bundle through a V8 code cache.
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli-main.js' },
  { ...common, entryPoints: ['src/cli/entry.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
];

if (watch) {
  const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
