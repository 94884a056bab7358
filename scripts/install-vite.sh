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
  sh "$(dirname "$0")/npm-install-into.sh" "$DIR" "vite@$VITE_VERSION"
fi
printf '%s\n' "$VITE"
