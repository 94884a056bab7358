#!/bin/sh
# `npm test` on a fresh clone of a fresh machine: installs what it needs (npm packages, CRIU,
# sshd and the lab's tools, code-server and Chromium), builds, checks the host helper (with dash -n
# and ShellCheck), brings up the lab of three hosts, then runs the unit tests, the end-to-end
# tests against real hosts, and the tests in a real VS Code.
# Root is needed: the lab creates namespaces and CRIU dumps processes.
set -eu
cd "$(dirname "$0")/.."

sh scripts/prepare.sh "npm test"
# A root shell killed while pyenv rehashes (a machine whose ~/.bashrc runs `pyenv init`, as every
# root login of the tests' throwaway sshds does) leaves pyenv's lock behind: every later root
# shell then waits 60 s for it and prints an error, which the transport tests read. Remove a lock
# that no rehash holds.
lock=${PYENV_ROOT:-$HOME/.pyenv}/shims/.pyenv-shim
if [ -f "$lock" ] && ! pgrep -f pyenv-rehash >/dev/null 2>&1; then
	rm -f "$lock" && echo "test: removed $lock, a lock pyenv rehash left behind"
fi
# The host helper as uploaded, and setup-host.sh: dash -n and shellcheck.
sh scripts/check-helper.sh

lab_was_up=0
sh scripts/lab.sh status >/dev/null 2>&1 && lab_was_up=1
sh scripts/lab.sh up
# Leave a lab the developer had up; take down the one this run made.
[ $lab_was_up -eq 1 ] || trap 'sh scripts/lab.sh down >/dev/null 2>&1 || true' EXIT

# One run of node's test runner, so its closing summary counts every test. The e2e tests share
# the lab, so files run one at a time.
node --import tsx --test --test-concurrency=1 test/unit/*.test.ts test/e2e/*.test.ts
