#!/usr/bin/env bash
# `npm start`: runs the product — Hyperpair inside a real VS Code (code-server) in your browser.
#   npm start                one editor on http://127.0.0.1:8080, on the public DHT
#   npm start -- --pair      two editors (8080: a demo folder, 8081: an empty folder to join into)
#                            on a private DHT on this machine, to try a session without a network
# Installs what it needs (npm ci, code-server into .cache/). Ctrl+C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
PAIR=0; [ "${1:-}" = "--pair" ] && PAIR=1
PORT=${PORT:-8080}

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
npm run --silent build
bash scripts/setup-editor.sh

STATE=.cache/start
mkdir -p "$STATE"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -- -"$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

bootstrap=""
if [ "$PAIR" = 1 ]; then
  setsid node scripts/testnet.js > "$STATE/testnet.txt" & pids+=($!)
  for _ in $(seq 1 50); do [ -s "$STATE/testnet.txt" ] && break; sleep 0.1; done
  bootstrap=$(head -1 "$STATE/testnet.txt")
fi

launch() { # name port workspace
  local name=$1 port=$2 ws=$3 dir="$STATE/$1"
  mkdir -p "$dir/user-data/User" "$dir/extensions" "$ws"
  # The extension from this checkout, installed by link so that a rebuild is picked up on reload.
  ln -sfn "$PWD" "$dir/extensions/hyperpair.hyperpair-0.0.0-dev"
  if [ -n "$bootstrap" ]; then
    printf '{ "hyperpair.displayName": "%s", "hyperpair.bootstrap": "%s", "hyperpair.bindHost": "127.0.0.1" }\n' "$name" "$bootstrap" > "$dir/user-data/User/settings.json"
  fi
  XDG_CONFIG_HOME="$dir/xdg-config" XDG_DATA_HOME="$dir/xdg-data" setsid .cache/code-server/node_modules/.bin/code-server \
    --auth none --bind-addr "127.0.0.1:$port" --user-data-dir "$dir/user-data" --extensions-dir "$dir/extensions" \
    --disable-telemetry --disable-update-check "$ws" > "$dir/code-server.log" 2>&1 & pids+=($!)
  echo "Hyperpair ($name): open http://127.0.0.1:$port/?folder=$(realpath "$ws")"
}

if [ "$PAIR" = 1 ]; then
  demo="$STATE/alice-workspace"
  mkdir -p "$demo"; [ -f "$demo/README.md" ] || printf '# Try Hyperpair\n\nRun "Hyperpair: Start Session" here, then join from the other window.\n' > "$demo/README.md"
  launch Alice "$PORT" "$demo"
  launch Bob "$((PORT + 1))" "$STATE/bob-workspace-$(date +%s)"
else
  launch You "$PORT" "${WORKSPACE:-$PWD}"
fi
echo "Press Ctrl+C to stop."
wait
