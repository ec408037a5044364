#!/usr/bin/env bash
# Installs what the two-editor suite (and `npm start`) needs, idempotently, into .cache/:
# code-server (a real VS Code, from npm) and Debian's Chromium to drive it. Nothing is downloaded from
# anywhere but the npm registry and Debian's archive.
set -euo pipefail
cd "$(dirname "$0")/.."
CODE_SERVER_VERSION=4.100.3
RIPGREP_NPM_VERSION=1.15.11   # @vscode/ripgrep inside code-server $CODE_SERVER_VERSION
CACHE=.cache
mkdir -p "$CACHE"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup-editor: installing ${need_apt[*]} from Debian"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x "$CACHE/code-server/node_modules/.bin/code-server" ]; then
  echo "setup-editor: installing code-server $CODE_SERVER_VERSION into $CACHE/code-server"
  # @vscode/ripgrep's postinstall downloads ripgrep from GitHub unless its cache already has it:
  # give it Debian's rg.
  tmp="${TMPDIR:-/tmp}"
  rgcache="$tmp/vscode-ripgrep-cache-$RIPGREP_NPM_VERSION"
  mkdir -p "$rgcache"
  if [ ! -f "$rgcache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" ]; then
    staging=$(mktemp -d)
    cp "$(command -v rg)" "$staging/rg"
    tar -czf "$rgcache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$staging" rg
    rm -rf "$staging"
  fi
  mkdir -p "$CACHE/code-server"
  [ -f "$CACHE/code-server/package.json" ] || echo '{"name":"hyperpair-code-server","private":true}' > "$CACHE/code-server/package.json"
  (cd "$CACHE/code-server" && npm_config_yes=true npm_config_unsafe_perm=true \
    npm install --no-audit --no-fund --no-save "code-server@$CODE_SERVER_VERSION" >install.log 2>&1) || {
      echo "setup-editor: code-server install failed; see $CACHE/code-server/install.log"; tail -30 "$CACHE/code-server/install.log"; exit 1; }
fi
echo "setup-editor: ready (code-server $CODE_SERVER_VERSION, $(chromium --version 2>/dev/null | head -1))"
