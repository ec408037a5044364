#!/usr/bin/env bash
# The one command that runs every test: `npm test`. Installs what it needs, builds, runs the unit
# suites (plain Node, real hyperswarm on a loopback testnet), then the two-editor suite (real
# VS Code via code-server), and ends with one line: `N passed, N failed, N skipped` (a skipped or
# to-do test is never counted as passed).
#   bash scripts/test.sh                       everything (what CI runs)
#   bash scripts/test.sh --editor [opts…]      only the editor suite (`npm run test:editor`); options go
#                                              to `node --test`, e.g. --test-name-pattern "typed in A"
# HYPERPAIR_SKIP_EDITOR_TESTS=1 skips the editor suite; HYPERPAIR_TEST_TIMEOUT (seconds, default 1800)
# bounds each suite, so that a hung test process fails the run instead of stalling it.
set -uo pipefail
cd "$(dirname "$0")/.."

only_editor=0
if [ "${1:-}" = "--editor" ]; then only_editor=1; shift; fi
# Compiled test files named on the command line replace the suite's folder; the rest are options.
node_opts=(); files=()
for arg in "$@"; do
  if [[ "$arg" == *.test.js ]]; then files+=("$arg"); else node_opts+=("$arg"); fi
done

# A node_modules that is a symlink is another checkout's install (a git worktree's): npm ci would
# empty that install through the link and then fail here, so it is left alone.
if [ -L node_modules ]; then
  [ package-lock.json -nt node_modules/.package-lock.json ] && echo "note: node_modules is a link to a shared install; not running npm ci"
elif [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund || { echo "npm ci failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
fi

mkdir -p .test-artifacts
rm -f .test-artifacts/*.tap

fail_setup() { echo "$1"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
npm run --silent build || fail_setup "build failed"
rm -rf out # compiled tests of deleted sources must not run
npx tsc -p . || fail_setup "type check failed"

run_suite() { # name, paths...
  local name=$1; shift
  echo "== $name tests"
  # No --test-force-exit: a test that leaves a handle open hangs its file, and that is a bug to fix.
  # The hang is bounded (HYPERPAIR_TEST_TIMEOUT seconds per suite) and then counted as a failure: the
  # TAP file has no summary (see tap-summary.sh).
  timeout --kill-after=30 "${HYPERPAIR_TEST_TIMEOUT:-1800}" node --test --test-concurrency=1 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination=".test-artifacts/$name.tap" \
    ${node_opts[@]+"${node_opts[@]}"} "$@"
}

status=0
extra_failures=0
# Before the unit suite too: its terminal tests borrow code-server's node-pty (as the extension
# borrows VS Code's) and its call tests speak through Chromium's fake microphone.
editor_ready=0
if bash scripts/setup-editor.sh; then editor_ready=1; else echo "editor setup failed (see above): terminal, call and editor tests cannot run"; fi

if [ "$only_editor" = 0 ]; then
  bash scripts/setup-net.sh
  run_suite unit out/test/unit/ || status=1
fi

if [ "${HYPERPAIR_SKIP_EDITOR_TESTS:-}" = "1" ]; then
  echo "== editor tests skipped (HYPERPAIR_SKIP_EDITOR_TESTS=1)"
elif [ -d out/test/editor ]; then
  if [ "$editor_ready" = 1 ]; then
    # Failure screenshots and logs of this run only (the folder is printed with each failure).
    rm -rf .test-artifacts/editor
    if [ ${#files[@]} -gt 0 ]; then run_suite editor "${files[@]}" || status=1; else run_suite editor out/test/editor/ || status=1; fi
  else
    echo "editor test setup failed (see above): the editor suite did not run"
    extra_failures=1
  fi
fi

summary=$(bash scripts/tap-summary.sh "$extra_failures" .test-artifacts/*.tap)
# A runner that failed without a failing test in its TAP (e.g. it crashed) is still a failure.
if [ "$status" -ne 0 ] && [[ "$summary" == *" 0 failed,"* ]]; then summary=${summary/ 0 failed,/ 1 failed,}; fi
echo "$summary"
[[ "$summary" == *" 0 failed,"* ]]
