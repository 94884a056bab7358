#!/bin/sh
# What `npm test` and `npm run demo` need before they start, on a fresh clone of a fresh machine:
# root, the locked npm packages, the system packages and CRIU, and a build.
#   sh scripts/prepare.sh "<command, for the root message>"
set -eu
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "$1 needs root (namespaces for the lab hosts, CRIU)" >&2; exit 1; }
# package-lock.json is newer than the last install, or there was none: install exactly it.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci --no-audit --no-fund --loglevel=error
fi
sh scripts/install-system-deps.sh
node esbuild.config.mjs >/dev/null
