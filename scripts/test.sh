#!/usr/bin/env bash
# The one command that runs every test: `npm test`. Installs what it needs, builds, runs the unit
# suites (plain Node, real hyperswarm on a loopback testnet), then the two-editor suite (real
# VS Code via code-server), and ends with one line: `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund || { echo "npm ci failed"; echo "0 passed, 1 failed"; exit 1; }
fi

mkdir -p .test-artifacts
rm -f .test-artifacts/*.tap

fail_setup() { echo "$1"; echo "0 passed, 1 failed"; exit 1; }
npm run --silent build || fail_setup "build failed"
npx tsc -p . || fail_setup "type check failed"

run_suite() { # name, paths...
  local name=$1; shift
  echo "== $name tests"
  node --test --test-concurrency=1 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination=".test-artifacts/$name.tap" "$@"
}

run_suite unit out/test/unit/
status=$?

if [ "${HYPERPAIR_SKIP_EDITOR_TESTS:-}" = "1" ]; then
  echo "== editor tests skipped (HYPERPAIR_SKIP_EDITOR_TESTS=1)"
elif [ -d out/test/editor ]; then
  bash scripts/setup-editor.sh || fail_setup "editor test setup failed (see above)"
  run_suite editor out/test/editor/ || status=1
fi

pass=0; fail=0
for f in .test-artifacts/*.tap; do
  [ -f "$f" ] || continue
  p=$(grep -E '^# pass ' "$f" | tail -1 | awk '{print $3}')
  x=$(grep -E '^# fail ' "$f" | tail -1 | awk '{print $3}')
  pass=$((pass + ${p:-0})); fail=$((fail + ${x:-0}))
done
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
