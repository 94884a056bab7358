#!/bin/sh
# The host helper as it is uploaded (dist/remote-helper/procmig-helper.sh, built from
# remote-helper/parts/) and remote-helper/setup-host.sh parse under dash and pass shellcheck as
# POSIX sh (dash); the bash opener the helper embeds passes it as bash. `npm test` runs it.
set -eu
cd "$(dirname "$0")/.."

command -v shellcheck >/dev/null 2>&1 || { echo "check-helper: shellcheck is missing; sh scripts/install-system-deps.sh installs it" >&2; exit 1; }
helper=dist/remote-helper/procmig-helper.sh
# Built afresh: the parts may have changed since the last build.
node remote-helper/build.mjs
for f in "$helper" remote-helper/setup-host.sh; do dash -n "$f"; done
shellcheck -s dash "$helper" remote-helper/setup-host.sh
shellcheck -s bash remote-helper/embedded/opener.bash
echo "check-helper: dash -n and shellcheck pass"
