#!/bin/sh
# Installs the Debian packages the two-host lab (scripts/lab.sh) and the product need, then CRIU.
# Idempotent and quiet: each package is checked with dpkg-query first, `apt-get update` runs at most
# once and only when something is missing, so `lab.sh up` can call this every time at almost no cost.
# Target: a fresh Debian 12 (bookworm) machine, run as root.
set -eu

here=$(cd "$(dirname "$0")" && pwd)

# What each package is for:
#   openssh-server  sshd inside each lab host (the product only ever talks to hosts over SSH)
#   openssh-client  ssh/scp from the root namespace and between hosts
#   tini            a reaping PID 1 for each host's PID namespace (orphans of restored trees get reaped)
#   socat           ProxyCommand from the root namespace into the lab network namespace
#   iproute2        ip netns / veth / bridge
#   nftables        nft, needed by `criu --network-lock nftables` (there is no iptables binary)
#   procps util-linux psmisc  ps/pgrep/sysctl, unshare/nsenter/setsid, fuser/killall for inspection
#   python3 tmux curl  workloads and terminal sessions the product migrates; curl for the e2e tests
#   strace          a tracer the VS Code test has stopped before a move (test/vscode/suite/tracer.test.ts)
#   python3-debugpy  Python programs under debugpy, which Migrate Debug Session moves (its e2e test)
#   sudo            a normal user with passwordless sudo (test/e2e/users.test.ts)
#   libcap2-bin     setcap, for CRIU's unprivileged mode (remote-helper/setup-host.sh)
#   shellcheck      checks the host helper and setup-host.sh as POSIX sh (scripts/check-helper.sh)
#   real programs that test/e2e/programs.test.ts moves between the lab hosts:
#     golang-go                 builds the Go HTTP server it moves
#     openjdk-17-jdk-headless   javac and the JVM of the Java 17 HTTP server (com.sun.net.httpserver)
#     redis-server              Redis holding keys (redis-cli comes with it, from redis-tools)
#     gunicorn                  a gunicorn master with two workers
#     python3-ipykernel python3-jupyter-client  a Jupyter kernel and the front end that uses it
PKGS="openssh-server openssh-client tini socat iproute2 nftables procps util-linux psmisc python3 python3-debugpy tmux curl strace sudo libcap2-bin shellcheck
golang-go openjdk-17-jdk-headless redis-server gunicorn python3-ipykernel python3-jupyter-client"

installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=""
for p in $PKGS; do
	installed "$p" || missing="$missing $p"
done

if [ -n "$missing" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "install-system-deps: missing:$missing; run as root to install them" >&2; exit 1; }
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# Installing openssh-server would start a system-wide sshd on 0.0.0.0:22 in the root namespace.
	# The lab runs its own sshds inside namespaces and nothing else should listen, so forbid service
	# starts for the duration of the install (policy-rc.d exit 101 = "action not allowed").
	policy=/usr/sbin/policy-rc.d
	own_policy=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 0755 "$policy"
		own_policy=1
	fi
	cleanup() { [ "$own_policy" -eq 0 ] || rm -f "$policy"; }
	trap cleanup EXIT
	# Other tools may be running apt at the same time: wait for the dpkg lock instead of failing.
	# Output goes to a log, shown only on failure, so a normal run stays quiet.
	log=$(mktemp)
	lock="-o DPkg::Lock::Timeout=600"
	# shellcheck disable=SC2086 # word splitting of $lock and the package list is intended
	if ! { apt-get $lock update -q && apt-get $lock install -y -q --no-install-recommends $missing; } >"$log" 2>&1; then
		tail -n 30 "$log" >&2; rm -f "$log"
		echo "install-system-deps: apt-get failed installing:$missing" >&2
		exit 1
	fi
	rm -f "$log"
	cleanup
	own_policy=0
	trap - EXIT
fi

# sshd refuses to start without its privilege-separation directory.
mkdir -p /run/sshd
chmod 0755 /run/sshd

# CRIU 4.2.1 (Debian 12's 3.17 cannot even `criu check` on this kernel); fast no-op when present.
sh "$here/install-criu.sh"
