#!/bin/sh
# Installs the Vite dev server from npm into DIR (outside the project: a program the e2e tests
# migrate, not a dependency of the product), and prints its CLI's path.
#   sh scripts/install-vite.sh DIR
# Vite 7 rather than 8: it runs esbuild as a child process (its transform service), which the
# migration must carry along. Idempotent: nothing is fetched when DIR already holds that version.
set -eu

VITE_VERSION=7.3.8
DIR=${1:?usage: install-vite.sh DIR}
VITE="$DIR/node_modules/vite/bin/vite.js"

installed=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$DIR/node_modules/vite/package.json" 2>/dev/null || true)
if [ ! -f "$VITE" ] || [ "$installed" != "$VITE_VERSION" ]; then
  printf 'install-vite: npm: vite@%s into %s\n' "$VITE_VERSION" "$DIR" >&2
  mkdir -p "$DIR"
  [ -f "$DIR/package.json" ] || printf '{"private":true}\n' >"$DIR/package.json"
  out=$(mktemp)
  # Under `npm test` the outer npm's variables (npm_config_*) would steer this npm: drop them.
  # shellcheck disable=SC2046 # one `-u NAME` per inherited npm variable
  if ! (cd "$DIR" && env $(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/-u \1/p') \
    npm install --no-save --no-package-lock --no-audit --no-fund "vite@$VITE_VERSION") >"$out" 2>&1; then
    cat "$out" >&2; rm -f "$out"; exit 1
  fi
  rm -f "$out"
fi
printf '%s\n' "$VITE"
