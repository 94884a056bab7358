#!/bin/sh
# Installs one npm package into DIR, outside the project (a program the tests run, not a
# dependency of the product), quietly: npm's output only when it fails.
#   sh scripts/npm-install-into.sh DIR NAME@VERSION
set -eu
DIR=${1:?usage: npm-install-into.sh DIR NAME@VERSION}
SPEC=${2:?usage: npm-install-into.sh DIR NAME@VERSION}

printf 'npm: %s into %s\n' "$SPEC" "$DIR" >&2
mkdir -p "$DIR"
[ -f "$DIR/package.json" ] || printf '{"private":true}\n' >"$DIR/package.json"
out=$(mktemp)
# Under `npm test` the outer npm's variables (npm_config_*) would steer this npm: drop them.
# shellcheck disable=SC2046 # one `-u NAME` per inherited npm variable
if ! (cd "$DIR" && env $(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/-u \1/p') \
  npm install --no-save --no-package-lock --no-audit --no-fund "$SPEC") >"$out" 2>&1; then
  cat "$out" >&2; rm -f "$out"; exit 1
fi
rm -f "$out"
