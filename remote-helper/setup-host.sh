#!/bin/sh
# Sets a host up for Process Migrator, idempotently: CRIU 4.2 or newer, tmux, and a copy of CRIU
# with the capabilities of its unprivileged mode, which the users of group `procmig` may run to
# checkpoint their own processes without root. `procmig setup HOST` (and Set Up Host… in VS Code)
# streams this file to the host and runs it as root, through `sudo -n` where needed; it ships in
# the extension. Strictly POSIX (checked under dash).
#   sh setup-host.sh [--user NAME] [STEP…]      STEP: criu, tmux, unprivileged (default: all)
# Prints `step NAME: what it found or did` per step, then `done`; a failure is one line on stderr.
# CRIU_PREFIX (default /usr/local) is where a built criu goes; it is then the criu that counts.
set -eu
umask 022

CRIU_WANT=4.2.1
CRIU_MINIMUM=4.2
CRIU_ORIG_MD5=15af4ed4460591e31fc5be6cab994ac9
PREFIX=${CRIU_PREFIX:-/usr/local}
CRIU_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/process-migrator/criu-$CRIU_WANT
# The copy for unprivileged mode: only root and the group may run it, as its capabilities let
# it ptrace and checkpoint (src/… and remote-helper/procmig-helper.sh look for it here).
UNPRIVILEGED_CRIU=/usr/local/libexec/process-migrator/criu
UNPRIVILEGED_GROUP=procmig
# cap_setpcap: restoring a process whose capability bounding set is smaller than CRIU's (any
# process under a container runtime or a trimmed init) drops capabilities from it.
UNPRIVILEGED_CAPS=cap_checkpoint_restore,cap_sys_ptrace,cap_setpcap+eip

die() { printf 'setup-host: %s\n' "$*" >&2; exit 1; }
step() { printf 'step %s: %s\n' "$1" "$2"; }

user=${SUDO_USER:-}
steps=
while [ $# -gt 0 ]; do
	case $1 in
	--user) user=$2; shift 2 ;;
	criu | tmux | unprivileged) steps="$steps $1"; shift ;;
	*) die "unknown argument $1 (steps: criu tmux unprivileged; --user NAME)" ;;
	esac
done
[ -n "$steps" ] || steps="criu tmux unprivileged"
[ "$(id -u)" -eq 0 ] || die "run as root (procmig setup runs it through sudo -n)"
[ "$user" != root ] || user=

export DEBIAN_FRONTEND=noninteractive
# Output of apt and make only on failure; other installers may hold the dpkg lock meanwhile.
quiet() {
	log=$(mktemp)
	if "$@" >"$log" 2>&1; then rm -f "$log"; return 0; fi
	tail -n 30 "$log" >&2; rm -f "$log"
	die "failed: $*"
}
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
# Installs the packages not installed yet: with nothing missing, no package index is needed.
apt_updated=
apt_install() {
	missing=
	for p in "$@"; do installed "$p" || missing="$missing $p"; done
	[ -n "$missing" ] || return 0
	command -v apt-get >/dev/null 2>&1 || die "no apt-get here: install$missing with this system's package manager"
	[ -n "$apt_updated" ] || { quiet apt-get -o DPkg::Lock::Timeout=600 update -q; apt_updated=1; }
	# shellcheck disable=SC2086 # the package list
	quiet apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing
}

# "4.2.1" at least "4.2"?
version_at_least() {
	[ -n "$1" ] || return 1
	printf '%s\n%s\n' "$2" "$1" | sort -V -C
}

criu_bin() { if [ -n "${CRIU_PREFIX:-}" ]; then echo "$PREFIX/sbin/criu"; else command -v criu || echo "$PREFIX/sbin/criu"; fi; }
criu_version() { "$(criu_bin)" --version 2>/dev/null | sed -n 's/^Version: *//p'; }

# CRIU from Debian's archive: the upstream tarball of sid's package, checked against the md5 of
# its .dsc, built here. Only a deb-src entry is added, so nothing from sid is ever installed.
build_criu() {
	if [ ! -x "$CRIU_CACHE/criu" ]; then
		apt_install build-essential pkg-config dpkg-dev xz-utils \
			libprotobuf-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler python3-protobuf \
			libnl-3-dev libnet1-dev libcap-dev libbsd-dev libgnutls28-dev libnftables-dev libaio-dev uuid-dev
		work=$(mktemp -d)
		src_list=/etc/apt/sources.list.d/process-migrator-sid-src.list
		trap 'rm -rf "$work" "$src_list"' EXIT
		echo "deb-src http://deb.debian.org/debian sid main" >"$src_list"
		quiet apt-get -o DPkg::Lock::Timeout=600 update -q
		# The .debian.tar.xz part may 404 (non-zero exit) while the orig tarball arrives.
		(cd "$work" && apt-get source -q --download-only "criu=$CRIU_WANT-1" >/dev/null 2>&1) || true
		tarball="$work/criu_$CRIU_WANT.orig.tar.xz"
		[ -f "$tarball" ] || die "could not download criu_$CRIU_WANT.orig.tar.xz from Debian's archive"
		echo "$CRIU_ORIG_MD5  $tarball" | md5sum -c --quiet - || die "checksum mismatch for $tarball"
		tar -xf "$tarball" -C "$work"
		src=$(find "$work" -maxdepth 1 -type d -name 'criu-*' | head -n 1)
		quiet make -C "$src" -j"$(nproc)" criu
		mkdir -p "$CRIU_CACHE"
		cp "$src/criu/criu" "$CRIU_CACHE/criu"
		rm -rf "$work" "$src_list"
		trap - EXIT
	fi
	# Its runtime libraries, and the tools CRIU calls (nft for the network lock).
	apt_install libprotobuf-c1 libnl-3-200 libnet1 libcap2 libbsd0 libgnutls30 libnftables1 libaio1 uuid-runtime nftables iproute2
	install -D -m 0755 "$CRIU_CACHE/criu" "$PREFIX/sbin/criu"
}

setup_criu() {
	have=$(criu_version)
	if version_at_least "$have" "$CRIU_MINIMUM"; then step criu "$have, already installed at $(criu_bin)"; return 0; fi
	# A distribution whose own package is new enough (Debian 13's is not, and 4.1 fails on TCP).
	candidate=$(apt-cache policy criu 2>/dev/null | sed -n 's/^ *Candidate: *//p')
	if [ -z "${CRIU_PREFIX:-}" ] && version_at_least "${candidate%%-*}" "$CRIU_MINIMUM"; then
		apt_install criu
		step criu "installed the distribution's criu $(criu_version)"
		return 0
	fi
	step criu "${have:-not installed}; building $CRIU_WANT from Debian's source tarball (about a minute)"
	build_criu
	step criu "installed $(criu_version) at $PREFIX/sbin/criu"
}

setup_tmux() {
	if command -v tmux >/dev/null 2>&1; then step tmux "$(tmux -V), already installed"; return 0; fi
	apt_install tmux
	step tmux "installed $(tmux -V)"
}

setup_unprivileged() {
	criu=$(criu_bin)
	[ -x "$criu" ] || die "no criu to give the capabilities of unprivileged mode (run the criu step first)"
	kernel=$(uname -r)
	version_at_least "${kernel%%-*}" 5.9 || die "Linux $kernel has no CAP_CHECKPOINT_RESTORE (5.9+), which CRIU's unprivileged mode needs"
	command -v setcap >/dev/null 2>&1 || apt_install libcap2-bin
	getent group "$UNPRIVILEGED_GROUP" >/dev/null 2>&1 || groupadd --system "$UNPRIVILEGED_GROUP"
	# shellcheck disable=SC2020 # both characters become newlines
	if cmp -s "$criu" "$UNPRIVILEGED_CRIU" && [ "$(stat -c %U:%G:%a "$UNPRIVILEGED_CRIU")" = "root:$UNPRIVILEGED_GROUP:750" ] &&
		[ "$(getcap "$UNPRIVILEGED_CRIU" 2>/dev/null | sed 's/.* //' | tr ',=' '\n\n' | sort | paste -sd,)" = "$(echo "$UNPRIVILEGED_CAPS" | tr ',+' '\n\n' | sort | paste -sd,)" ]; then
		step unprivileged "$UNPRIVILEGED_CRIU is already a copy of $criu with its capabilities"
	else
		install -D -o root -g "$UNPRIVILEGED_GROUP" -m 0750 "$criu" "$UNPRIVILEGED_CRIU.new"
		setcap "$UNPRIVILEGED_CAPS" "$UNPRIVILEGED_CRIU.new"
		mv -f "$UNPRIVILEGED_CRIU.new" "$UNPRIVILEGED_CRIU"
		step unprivileged "copied $criu to $UNPRIVILEGED_CRIU (group $UNPRIVILEGED_GROUP only) with $UNPRIVILEGED_CAPS"
	fi
	[ -n "$user" ] || { step unprivileged "no user given: add users to group $UNPRIVILEGED_GROUP to let them use it"; return 0; }
	id "$user" >/dev/null 2>&1 || die "no user $user here"
	if id -nG "$user" | tr ' ' '\n' | grep -qx "$UNPRIVILEGED_GROUP"; then
		step unprivileged "$user is in group $UNPRIVILEGED_GROUP"
	else
		usermod -aG "$UNPRIVILEGED_GROUP" "$user"
		step unprivileged "added $user to group $UNPRIVILEGED_GROUP (new logins have it)"
	fi
	# From /, which the user can read (CRIU opens its working directory as its image directory).
	out=$(cd / && setpriv --reuid "$user" --regid "$(id -g "$user")" --init-groups --reset-env \
		"$UNPRIVILEGED_CRIU" check --unprivileged 2>&1) || die "as $user, \`criu check --unprivileged\` fails: $(printf '%s\n' "$out" | grep -v 'XDG_RUNTIME_DIR' | tail -n 1)"
	step unprivileged "as $user, \`criu check --unprivileged\`: $(printf '%s\n' "$out" | tail -n 1)"
}

for s in $steps; do "setup_$s"; done
echo 'done'
