#!/usr/bin/env bash
# Sums node --test TAP files into the suite's last line: `N passed, N failed, N skipped`.
#   bash scripts/tap-summary.sh EXTRA_FAILURES file.tap...
# Each TAP file ends with the runner's own counts (`# pass N`, `# skipped N`, …), which include
# nested tests: a skip inside a passing group is still a skip, and a to-do is never a pass. A file
# without them (the runner was killed) falls back to its top-level results and counts one failure
# more, so an unfinished run can never read as a clean one.
set -uo pipefail
fail=${1:-0}; shift || true
pass=0; skipped=0
count() { grep -E "^# $1 [0-9]+$" "$2" | tail -1 | awk '{print $3}'; }
for f in "$@"; do
  [ -f "$f" ] || continue
  if grep -qE '^# pass [0-9]+$' "$f"; then
    p=$(count pass "$f"); x=$(count fail "$f"); c=$(count cancelled "$f"); s=$(count skipped "$f"); t=$(count todo "$f")
    pass=$((pass + ${p:-0})); fail=$((fail + ${x:-0} + ${c:-0})); skipped=$((skipped + ${s:-0} + ${t:-0}))
  else
    echo "$f has no summary: the test runner did not finish" >&2
    s=$(grep -cE '^(not )?ok .* # (SKIP|TODO)' "$f")
    p=$(grep -E '^ok ' "$f" | grep -cvE ' # (SKIP|TODO)')
    x=$(grep -E '^not ok ' "$f" | grep -cvE ' # (SKIP|TODO)')
    pass=$((pass + ${p:-0})); fail=$((fail + ${x:-0} + 1)); skipped=$((skipped + ${s:-0}))
  fi
done
echo "$pass passed, $fail failed, $skipped skipped"
