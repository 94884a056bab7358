#!/bin/sh
# Installs CRIU 4.2.1 from Debian's upstream tarball when `criu` is missing or older than 4.2.
# Why build: Debian 12's criu 3.17 fails on kernels with a [vvar_vclock] mapping and 4.1.1 cannot
# dump TCP sockets on 6.x kernels; 4.2.1 is the first that works (see README, "Requirements").
set -eu

WANT=4.2.1
ORIG_MD5=15af4ed4460591e31fc5be6cab994ac9
PREFIX=${CRIU_PREFIX:-/usr/local}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/process-migrator/criu-$WANT

# With CRIU_PREFIX given, the criu of that prefix counts (CI builds into a scratch prefix);
# otherwise any criu on PATH, such as a distribution's new enough package.
CRIU_BIN=${CRIU_PREFIX:+$CRIU_PREFIX/sbin/}criu

have_version() {
	v=$("$CRIU_BIN" --version 2>/dev/null | sed -n 's/^Version: *//p')
	[ -n "$v" ] || return 1
	major=${v%%.*}; rest=${v#*.}; minor=${rest%%.*}
	[ "$major" -gt 4 ] || { [ "$major" -eq 4 ] && [ "$minor" -ge 2 ]; }
}

if have_version; then
	echo "criu $("$CRIU_BIN" --version | sed -n 's/^Version: *//p') is already installed"
	exit 0
fi

[ "$(id -u)" -eq 0 ] || { echo "install-criu: run as root (it installs build packages and $PREFIX/sbin/criu)" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
apt_install() { apt-get install -y -q --no-install-recommends "$@" >/dev/null; }

if [ ! -x "$CACHE/criu" ]; then
	echo "building criu $WANT (about a minute)"
	apt-get update -q >/dev/null
	apt_install build-essential pkg-config dpkg-dev xz-utils \
		libprotobuf-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler python3-protobuf \
		libnl-3-dev libnet1-dev libcap-dev libbsd-dev libgnutls28-dev libnftables-dev libaio-dev uuid-dev
	work=$(mktemp -d)
	trap 'rm -rf "$work" /etc/apt/sources.list.d/process-migrator-sid-src.list' EXIT
	# Only a deb-src entry: nothing from sid is ever installed, we only fetch the upstream tarball.
	echo "deb-src http://deb.debian.org/debian sid main" >/etc/apt/sources.list.d/process-migrator-sid-src.list
	apt-get update -q >/dev/null
	# The .debian.tar.xz part may 404 (exit non-zero) while the orig tarball arrives: check the tarball.
	(cd "$work" && apt-get source -q --download-only "criu=$WANT-1" >/dev/null 2>&1) || true
	tarball="$work/criu_$WANT.orig.tar.xz"
	[ -f "$tarball" ] || { echo "install-criu: could not download criu_$WANT.orig.tar.xz from Debian's archive" >&2; exit 1; }
	echo "$ORIG_MD5  $tarball" | md5sum -c --quiet - || { echo "install-criu: checksum mismatch for $tarball" >&2; exit 1; }
	tar -xf "$tarball" -C "$work"
	src=$(find "$work" -maxdepth 1 -type d -name 'criu-*' | head -n 1)
	make -C "$src" -j"$(nproc)" criu >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; exit 1; }
	mkdir -p "$CACHE"
	cp "$src/criu/criu" "$CACHE/criu"
fi

# Runtime libraries and the tools CRIU calls (nft for the network lock, iproute2 for netns).
apt_install libprotobuf-c1 libnl-3-200 libnet1 libcap2 libbsd0 libgnutls30 libnftables1 libaio1 uuid-runtime nftables iproute2 2>/dev/null || true
install -D -m 0755 "$CACHE/criu" "$PREFIX/sbin/criu"
echo "installed $("$PREFIX/sbin/criu" --version | sed -n 's/^Version: *//p') at $PREFIX/sbin/criu"
