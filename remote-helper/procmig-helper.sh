#!/bin/sh
# Process Migrator's host helper. Uploaded over SSH on first use and cached under
# ~/.cache/process-migrator/, it is all a host needs besides sh, coreutils, procps, perl or
# python3 (for the page sockets), and CRIU: no Node.js. Strictly POSIX (checked under dash).
# Every command prints `key=value` lines or tab-separated records that
# src/checkpoint/hostHelper.ts parses; errors go to stderr as one line.
#
#   caps                      what this host can do (CRIU version and features, CPU features,
#                             load, memory, disk)
#   ps                        every process, two sections: records, then pid<TAB>comm
#   inspect PID               the tree under PID and what CRIU will meet in it (fds, maps, ttys, …)
#   check-files               stdin: path<TAB>size lines; prints those missing or of another size
#   mkimages                  a new private (0700) image directory; prints its path
#   page-server DIR --socket S [--parent NAME]
#                             receives dumped pages into DIR from the one connection made to
#                             the unix socket S (in a private image directory); prints
#                             `listening PID` once S listens. Pre-copy: DIR (made if missing) is
#                             one round's, NAME its sibling holding the round before (linked as
#                             DIR/parent); each round listens at the same S in turn
#   pre-dump PID DIR --pages S [--full] ARGS…
#                             one pre-copy round: criu pre-dump --track-mem into DIR (made if
#                             missing), its pages to the page server reached at the socket S;
#                             the process runs on. Prints `pages_written=`,
#                             `pages_scanned=`, `pages_skipped=`, `page_size=`. --full (a test
#                             mode for kernels without soft-dirty): a whole dump --leave-running
#   dump PID DIR [--pages S] ARGS…
#                             criu dump --leave-stopped into DIR (never kills the source), its
#                             pages to the page server reached at the socket S
#   dump-lazy PID DIR --pages S ARGS…
#                             post-copy dump: connects to S, prints `ready PID` once all but
#                             memory is dumped, then serves the pages over S until done
#   lazy-pages DIR --socket S post-copy restore side: prints `listening PID` once S listens,
#                             holds the one connection made to it (the source's dump-lazy), and
#                             once stdin says `go` (the images are in) starts CRIU's lazy-pages
#                             daemon on it; prints `ready PID` once that serves
#   tar-out DIR / tar-in DIR  streams the small non-page images from one host to the other
#   tmpfs-stat PID…           stdin: paths of files on tmpfs the tree (PID…) uses; prints
#                             `path<TAB>file<TAB>size<TAB>allocated<TAB>mode<TAB>uid<TAB>gid`
#                             (or `path<TAB>gone`), and `sharer<TAB>path<TAB>PID<TAB>comm` for
#                             each process outside the tree that maps it or holds it open
#   tmpfs-check               stdin: paths; prints `path<TAB>exists`, `path<TAB>no-dir`,
#                             `path<TAB>not-tmpfs<TAB>FSTYPE` (of its directory here), or
#                             `path<TAB>free<TAB>KIB<TAB>MOUNT` (room left on its filesystem)
#   tmpfs-out PATH… / tmpfs-in DIR PATH…
#                             streams files on tmpfs (POSIX shared memory, /run/user/UID) to the
#                             same paths, owner and mode on the other host; never overwrites;
#                             records what it placed in DIR (an image directory)
#   tmpfs-rm DIR | -- PATH…   removes what tmpfs-in placed per DIR, or the given tmpfs files
#   direct-client DIR ADDR    direct transfer, client side: a one-time key pair; prints `pubkey=`, `via=`
#   direct-server DIR TARGET PUBKEY [VIA]
#                             a one-time sshd that lets PUBKEY forward to the unix socket TARGET only;
#                             prints `hostkey=`, `user=`, then `ready PORT PID`; runs until TERM
#   direct-tunnel DIR ADDR PORT USER HOSTKEY ENTRY TARGET
#                             ssh -L from the unix socket ENTRY to the socket TARGET behind that
#                             sshd; prints `ready PID`, and `bytes=N` once stdin ended and the
#                             forward closed
#   free-port                 a TCP port nobody listens on here
#   restore DIR [--file N PATH]… [--mkfifo OWNER MODE PATH]… ARGS…
#                             criu restore -d from DIR; prints `pid=N`. Each --file opens PATH
#                             (created if missing, appended to) as fd N (> 3) for --inherit-fd;
#                             --read N PATH opens PATH for reading; --socket N - a socket whose
#                             peer has closed (perl). --mkfifo and --symlink OWNER TARGET PATH
#                             make what is missing (removed if the restore fails). When a PID of the dumped
#                             tree is in use here, restores into a new PID namespace instead
#                             and also prints `taken=P` and `nspid=N` (its PID inside)
#   restore-tty DIR NAME [--file N PATH]… ARGS…
#                             criu restore -j in the foreground inside a new detached tmux
#                             session (NAME, or NAME-2… if taken), so the process gets that
#                             pane's terminal; prints `terminal=MODE` (terminal_mode),
#                             then `session=S` and `pid=N` once it runs
#   places                    stdin: paths; prints `files_dir=D`, then path<TAB>same|cache:
#                             whether the path's directory exists here
#   ptys                      the numbers of the ptys in use here (/dev/pts/N)
#   tty-attach NAME           attaches the caller's pty to a session made by restore-tty; exits
#                             with the process's exit code once it ends
#   tmux-kill NAME            ends a tmux session made by restore-tty
#   state PID                 one word: running, stopped, zombie or gone
#   verify PID                `running` if PID still runs after a moment, else its state
#   signal SIG PID…           sends SIG to each PID that still exists
#   signal-tree SIG ROOT PID… sends SIG to the tree under ROOT (as it is now) and to the PIDs given
#   listener PORT             `pid=N`: the process listening on TCP PORT here (nothing if none)
#   untrace PID TRACER        stops TRACER, the ptrace tracer of PID (gdb, strace), waits until PID
#                             is detached and continues it if that left it stopped
#   guard                     undoes a migration whose orchestrator went away: stdin lines
#                             `tree ROOT PID…` (resumed), `restored PID [SESSION]` (ended),
#                             `images DIR` (removed), `lock NAME` (loopback-unlock), `tmpfs DIR`
#                             (what tmpfs-in placed per DIR, removed); `done`
#                             ends it with nothing undone
#   rmimages DIR              deletes an image directory made by mkimages
#   loopback-lock NAME PORT…  drops loopback TCP between the PORTs (nft table NAME) until
#   loopback-unlock NAME      lifts it: a batch's linked trees are restored one CRIU each
#   run-ready [--cwd DIR] [--tmux NAME] -- CMD ARG…
#                             starts CMD migration-ready (io_uring_setup fails with ENOSYS):
#                             detached in a session of its own, stdin /dev/null, output appended
#                             to a new private log file; or in a new detached tmux session
#                             NAME-N. Prints `pid=` and `log=` or `session=`; `ended=1` (with
#                             `exit_code=` and `last_line=` when known) if it ended at once
#
# The uploaded copy of this file carries remote-helper/migration-ready.pl after its last command
# (src/checkpoint/hostHelper.ts appends it): `perl -x` runs it from there.
set -u
# A program the helper starts gets its caller's umask, not the helper's.
CALLER_UMASK=$(umask)
umask 077

PROCMIG_HELPER_VERSION=1
# Root's images, or one directory per user: as a normal user CRIU may run as that user.
if [ "$(id -u)" -eq 0 ]; then IMAGES_BASE=${PROCMIG_IMAGES_DIR:-/var/tmp/process-migrator}
else IMAGES_BASE=${PROCMIG_IMAGES_DIR:-/var/tmp/process-migrator-$(id -u)}; fi
# Where `procmig setup` puts a copy of criu with the file capabilities of CRIU's unprivileged
# mode (cap_checkpoint_restore, cap_sys_ptrace): criu itself stays as the distribution made it.
UNPRIVILEGED_CRIU=${PROCMIG_UNPRIVILEGED_CRIU:-/usr/local/libexec/process-migrator/criu}

die() { printf '%s\n' "$*" >&2; exit 1; }

# How CRIU runs here, as PRIVILEGE (set by find_privilege, once per run) and CRIU_CMD:
#   root          we are root;
#   sudo          passwordless sudo (-n: a password prompt on a remote host would hang the
#                 migration), where root may read other users' limits (CAP_SYS_RESOURCE);
#   unprivileged  CRIU's --unprivileged mode as this user, with a criu that has the file
#                 capabilities for it: it checkpoints only this user's own processes, but needs
#                 no root at all;
#   sudo          as a last resort where root lacks CAP_SYS_RESOURCE: CRIU then cannot read the
#                 limits of this user's processes (caps reports sudo_rlimits=0);
#   none          neither: caps says so and the preflight names what to configure.
PRIVILEGE= CRIU_CMD= SUDO_RLIMITS=
find_privilege() {
	[ -z "$PRIVILEGE" ] || return 0
	PRIVILEGE=none CRIU_CMD=criu SUDO_RLIMITS=
	if [ "$(id -u)" -eq 0 ]; then PRIVILEGE=root; return 0; fi
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		# CAP_SYS_RESOURCE is bit 24 of root's effective capabilities.
		eff=$(sudo -n sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status 2>/dev/null)
		SUDO_RLIMITS=$(( (0x${eff:-0} >> 24) & 1 ))
		if [ "$SUDO_RLIMITS" -eq 1 ]; then PRIVILEGE=sudo CRIU_CMD='sudo -n criu'; return 0; fi
	fi
	for c in "$UNPRIVILEGED_CRIU" "$(command -v criu)"; do
		[ -n "$c" ] && [ -x "$c" ] || continue
		if "$c" check --unprivileged >/dev/null 2>&1; then PRIVILEGE=unprivileged CRIU_CMD="$c --unprivileged"; return 0; fi
	done
	if [ -n "$SUDO_RLIMITS" ]; then PRIVILEGE=sudo CRIU_CMD='sudo -n criu'; fi
}

# Sets CRIU_CMD to CRIU with the privilege it needs (words for a simple command: sudo relays
# signals to it), or fails.
need_criu() {
	find_privilege
	[ "$PRIVILEGE" != none ] || die "CRIU cannot run on $(hostname) as $(id -un): it needs root, passwordless sudo, or a criu with the capabilities of its unprivileged mode (procmig setup $(hostname))"
}

run_criu() {
	need_criu
	# shellcheck disable=SC2086 # the command's words
	$CRIU_CMD "$@"
}

# What runs as root for CRIU's sake (nft, removing root's images): through sudo when CRIU does.
as_criu_user() {
	find_privilege
	case $PRIVILEGE in sudo) sudo -n "$@" ;; *) "$@" ;; esac
}


# The last error lines of a CRIU log, for the caller to turn into one sentence.
log_errors() {
	[ -f "$1" ] || return 0
	grep -E 'Error|error|Warn.*(fail|Can.t)' "$1" | grep -v 'RLIMIT_NOFILE' | tail -n 12 | sed 's/^/criu-log: /' >&2
}

# The base of this user's image directories, made private. A user's base lies in the shared
# /var/tmp, where someone else could have made it first: use it only if it is ours.
images_base() {
	mkdir -p "$IMAGES_BASE" && chmod 700 "$IMAGES_BASE" || die "cannot create $IMAGES_BASE on $(hostname)"
	[ "$(stat -c %u "$IMAGES_BASE")" = "$(id -u)" ] || die "$IMAGES_BASE on $(hostname) belongs to another user; remove it, or set PROCMIG_IMAGES_DIR"
}

in_images_base() {
	case $1 in "$IMAGES_BASE"/img.*) ;; *) die "refusing to touch $1: not an image directory" ;; esac
	case $1 in *..*) die "refusing to touch $1" ;; esac
}

cmd_caps() {
	echo "helper_version=$PROCMIG_HELPER_VERSION"
	echo "hostname=$(hostname)"
	echo "kernel=$(uname -r)"
	echo "arch=$(uname -m)"
	echo "cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)"
	echo "load1=$(cut -d' ' -f1 /proc/loadavg)"
	echo "mem_available_kib=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)"
	images_base
	echo "images_dir=$IMAGES_BASE"
	echo "disk_available_kib=$(df -Pk "$IMAGES_BASE" | awk 'NR==2 {print $4}')"
	echo "pipe_max_size=$(cat /proc/sys/fs/pipe-max-size 2>/dev/null || echo 0)"
	find_privilege
	echo "privilege=$PRIVILEGE"
	echo "user=$(id -un)"
	[ -z "$SUDO_RLIMITS" ] || echo "sudo_rlimits=$SUDO_RLIMITS"
	# Processes on a terminal are restored inside a tmux session on the destination.
	if command -v tmux >/dev/null 2>&1; then echo "tmux=$(tmux -V 2>/dev/null | sed 's/^tmux //')"; else echo "tmux="; fi
	echo "inherit_fds_max=$(inherit_fds_max)"
	# The CPU's features (x86 `flags`, arm64 `Features`): a process restored on a CPU without an
	# instruction set it picked at start dies of SIGILL later. PROCMIG_TEST_CPUINFO is a TEST
	# ONLY switch: a file read instead of /proc/cpuinfo, to give a host another CPU.
	echo "cpu_flags=$(awk -F': *' '/^(flags|Features)[ \t]*:/ { print $2; exit }' "${PROCMIG_TEST_CPUINFO:-/proc/cpuinfo}" 2>/dev/null)"
	echo "page_socket=$(socket_tool)"
	criu_bin=${CRIU_CMD%% *}
	[ "$criu_bin" != sudo ] || criu_bin=criu
	if ! command -v "$criu_bin" >/dev/null 2>&1; then echo "criu_version="; return 0; fi
	echo "criu_path=$(command -v "$criu_bin")"
	echo "criu_version=$("$criu_bin" --version 2>/dev/null | sed -n 's/^Version: *//p')"
	[ "$PRIVILEGE" = none ] && return 0
	# Each feature check is a separate CRIU run of ~20 ms: run them side by side.
	tmp=$(mktemp -d)
	for f in mem_dirty_track uffd uffd-noncoop; do
		(if run_criu check --feature "$f" >/dev/null 2>&1; then echo "feature.$f=1"; else echo "feature.$f=0"; fi >"$tmp/$f") &
	done
	(if run_criu check >"$tmp/check.out" 2>&1; then echo "criu_check=ok"; else
		echo "criu_check=$(grep -E 'Error' "$tmp/check.out" | grep -v RLIMIT_NOFILE | tail -n 1)"; fi >"$tmp/check") &
	# CRIU's record of the CPU (cpuinfo.img, protobuf) carries the xsave sizes of CPUID leaf 0xD,
	# which sh cannot read; as hex for the client to decode. umask 022: CRIU (root through sudo)
	# writes it readable for us; it holds no secret.
	(mkdir "$tmp/cpu" && (umask 022 && run_criu cpuinfo dump -D "$tmp/cpu" >/dev/null 2>&1) &&
		echo "cpuinfo_image=$(od -An -tx1 -v "$tmp/cpu/cpuinfo.img" | tr -d ' \n')" >"$tmp/cpuinfo") &
	wait
	cat "$tmp"/mem_dirty_track "$tmp"/uffd "$tmp"/uffd-noncoop "$tmp"/check
	if [ -f "$tmp/cpuinfo" ]; then cat "$tmp/cpuinfo"; fi
	rm -rf "$tmp"
}

cmd_ps() {
	# comm may contain spaces, so it comes in a second section keyed by pid.
	ps -eo pid=,ppid=,uid=,user:32=,pcpu=,rss=,stat=,tty=,args=
	echo '--'
	ps -eo pid=,comm=
}

# The tree rooted at $1, one PID a line (the root first).
descendants() {
	ps -eo pid=,ppid= | awk -v root="$1" '
		{ parent[$1] = $2; pids[NR] = $1 }
		END {
			keep[root] = 1; print root; changed = 1
			while (changed) { changed = 0
				for (i = 1; i <= NR; i++) { p = pids[i]
					if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; print p; changed = 1 } } }
		}'
}

cmd_inspect() {
	pid=$1
	if [ ! -d "/proc/$pid" ]; then echo "exists=0"; return 0; fi
	echo "exists=1"
	echo "self_uid=$(id -u)"
	# CRIU reads rlimits of another user's process only with CAP_SYS_RESOURCE (bit 24).
	echo "self_cap_eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)"
	for ns in pid mnt net ipc uts user; do
		echo "host_ns.$ns=$(readlink /proc/self/ns/$ns 2>/dev/null)"
	done
	for p in $(descendants "$pid"); do
		[ -d "/proc/$p" ] || continue
		# stat: comm is in parentheses and may hold spaces; strip it before splitting.
		st=$(sed 's/^[0-9]* (.*) //' "/proc/$p/stat" 2>/dev/null) || continue
		set -- $st
		# state ppid pgrp session tty_nr tpgid flags
		# TracerPid of any thread: a tracer may hold one thread only (strace -p TID, a native debugger).
		tracer=$(tracer_of "$p")
		# … uid tracer rss seccomp (0 none, 2 a filter: CRIU's unprivileged mode cannot dump it)
		printf 'task\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$1" "$2" "$3" "$4" "$5" "$7" \
			"$(awk -v t="${tracer:-0}" '/^Uid:/ {u = $2} /^VmRSS:/ {r = $2} /^Seccomp:/ {s = $2} END {print u "\t" t "\t" (r ? r : 0) "\t" (s ? s : 0)}' "/proc/$p/status")"
		[ -n "$tracer" ] && printf 'tracer\t%s\t%s\n' "$tracer" "$(cat "/proc/$tracer/comm" 2>/dev/null)"
		printf 'comm\t%s\t%s\n' "$p" "$(cat "/proc/$p/comm" 2>/dev/null)"
		# Tab-separated arguments, each ended by a tab (tabs and newlines inside become spaces).
		printf 'cmdline\t%s\t%s\n' "$p" "$(tr '\0\t\n' '\t  ' <"/proc/$p/cmdline" 2>/dev/null)"
		printf 'exe\t%s\t%s\n' "$p" "$(readlink "/proc/$p/exe" 2>/dev/null)"
		printf 'cwd\t%s\t%s\n' "$p" "$(readlink "/proc/$p/cwd" 2>/dev/null)"
		for ns in pid mnt net ipc uts user; do
			printf 'ns\t%s\t%s\t%s\n' "$p" "$ns" "$(readlink "/proc/$p/ns/$ns" 2>/dev/null)"
		done
		for fd in /proc/"$p"/fd/*; do
			[ -e "$fd" ] || [ -L "$fd" ] || continue
			n=${fd##*/}
			flags=$(awk '/^flags:/ {print $2}' "/proc/$p/fdinfo/$n" 2>/dev/null)
			target=$(readlink "$fd" 2>/dev/null)
			printf 'fd\t%s\t%s\t%s\t%s\n' "$p" "$n" "$flags" "$target"
			fd_details "$p" "$n" "$target"
		done
		# File-backed mappings: the executable and libraries must exist on the destination. The
		# whole path, with the " (deleted)" of a file unlinked since (CRIU carries those).
		sed -n 's|^[^ ]* [^ ]* [^ ]* [^ ]* [0-9]* *\(/.*\)$|\1|p' "/proc/$p/maps" 2>/dev/null | sort -u | while IFS= read -r f; do
			printf 'map\t%s\t%s\n' "$p" "$f"
		done
		# Deleted mapped files, with the bytes they take (CRIU's --ghost-limit counts blocks).
		awk '/ \(deleted\)$/ && $6 ~ /^\// { print $1 }' "/proc/$p/maps" 2>/dev/null | sort -u | while read -r range; do
			printf 'deleted\t%s\tmap\t%s\t%s\n' "$p" "$(stat -Lc '%b %B' "/proc/$p/map_files/$range" 2>/dev/null | awk '{print $1 * $2}')" "$(readlink "/proc/$p/map_files/$range" 2>/dev/null)"
		done
		awk '$6 ~ /^\/dev\/shm\/|^\/SYSV/ { print $6 }' "/proc/$p/maps" 2>/dev/null | sort -u | while read -r f; do
			printf 'shm\t%s\t%s\n' "$p" "$f"
		done
	done
	# Mounts as the tree sees them (point, then type): files on tmpfs are per-host state, which
	# travels with the process. Optional fields end at "-"; the point keeps mountinfo's escapes.
	awk '{ for (i = 7; i < NF && $i != "-"; i++); print "mount\t" $5 "\t" $(i + 1) }' "/proc/$pid/mountinfo" 2>/dev/null
	# Sockets are resolved by inode in the process's network namespace.
	for t in tcp tcp6 udp udp6 unix; do
		sed "s/^/net.$t\t/" "/proc/$pid/net/$t" 2>/dev/null | tail -n +2
	done
	sed 's/^/lock\t/' /proc/locks 2>/dev/null
	# Peers of unix sockets (not in /proc/net/unix): type, inode, peer inode, its own name.
	command -v ss >/dev/null 2>&1 && ss -xanH 2>/dev/null | awk '{ printf "unixpeer\t%s\t%s\t%s\t%s\n", $1, $(NF - 2), $NF, $(NF - 3) }'
	return 0
}

# What CRIU meets behind some descriptors, beyond their path: the pty index of a /dev/ptmx
# master, the process a pidfd refers to, the bytes a deleted file takes.
fd_details() {
	case $3 in
	/dev/ptmx) printf 'ptmx\t%s\t%s\t%s\n' "$1" "$2" "$(awk '/^tty-index:/ {print $2}' "/proc/$1/fdinfo/$2" 2>/dev/null)" ;;
	*'[pidfd]'*) printf 'pidfd\t%s\t%s\t%s\n' "$1" "$2" "$(awk '/^Pid:/ {print $2}' "/proc/$1/fdinfo/$2" 2>/dev/null)" ;;
	/*' (deleted)') printf 'deleted\t%s\tfd\t%s\t%s\n' "$1" "$(stat -Lc '%b %B' "/proc/$1/fd/$2" 2>/dev/null | awk '{print $1 * $2}')" "$3" ;;
	/*)
		# Names without data that the destination may lack: a FIFO, or a symlink held itself
		# (O_PATH|O_NOFOLLOW), recreated there as they are here.
		if [ -L "$3" ]; then printf 'symlink\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(stat -c %u:%g "$3")" "$(readlink "$3")" "$3"
		elif [ -p "$3" ]; then printf 'fifo\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(stat -c %u:%g "$3")" "$(stat -c %a "$3")" "$3"
		fi ;;
	esac
}

cmd_check_files() {
	while IFS="$(printf '\t')" read -r path size; do
		[ -n "$path" ] || continue
		if [ ! -e "$path" ] && [ ! -L "$path" ]; then printf '%s\tmissing\n' "$path"
		elif [ -n "$size" ] && [ "$size" != - ]; then
			have=$(stat -Lc %s "$path" 2>/dev/null)
			[ "$have" = "$size" ] || printf '%s\tsize:%s\n' "$path" "$have"
		fi
	done
	echo "checked=1"
}

cmd_stat_files() {
	while read -r path; do
		[ -n "$path" ] || continue
		printf '%s\t%s\n' "$path" "$(stat -Lc %s "$path" 2>/dev/null || echo -)"
	done
}

cmd_mkimages() {
	images_base
	# Images hold process memory. A migration that lost this host mid-way (SSH gone) could not
	# delete its directory; no migration runs for hours, so sweep those left over.
	find "$IMAGES_BASE" -maxdepth 1 -type d -name 'img.*' -mmin +360 -exec rm -rf {} + 2>/dev/null
	d=$(mktemp -d "$IMAGES_BASE/img.XXXXXXXX") || die "cannot create an image directory in $IMAGES_BASE on $(hostname)"
	chmod 700 "$d"
	echo "dir=$d"
}

# Memory pages travel between the CRIUs over one unix-socket connection, never a TCP port: a
# TCP port on loopback is open to every local user of a shared host, and CRIU's page server
# authenticates nobody, so another user could read the memory being moved or feed pages into
# the process being restored. A unix socket inside an image directory (0700) is reachable by its
# owner and root only; OpenSSH forwards such sockets (`ssh -L path:path`), and CRIU takes a
# connected descriptor instead of an address (`--ps-socket FD`). POSIX sh can neither connect
# nor accept, so a few lines of perl (Debian's perl-base is essential), else python3, do it and
# then run CRIU with the connection as its stdin: descriptor 0, which sudo passes on.
#
#   on_socket connect S CMD…     runs CMD with stdin connected to the unix socket S
#   on_socket accept S CMD…      listens at S, prints `listening PID`, takes one connection,
#                                removes S and runs CMD on it
#   on_socket accept-go S CMD…   the same, but runs CMD only once its stdin says `go`
# It replaces the calling (sub)shell, so PID is CMD's.
SOCKET_PERL='use Socket; use POSIX ();
my ($mode, $path, @cmd) = @ARGV;
socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die "cannot make a socket: $!\n";
if ($mode eq "connect") {
	connect($s, pack_sockaddr_un($path)) or die "cannot connect to $path: $!\n";
} else {
	unlink $path;
	bind($s, pack_sockaddr_un($path)) and listen($s, 1) or die "cannot listen at $path: $!\n";
	$| = 1; print "listening $$\n";
	accept(my $c, $s) or die "cannot accept at $path: $!\n";
	close $s; unlink $path; $s = $c;
	if ($mode eq "accept-go") { my $go = <STDIN>; exit 1 unless defined $go and $go eq "go\n" }
}
defined POSIX::dup2(fileno($s), 0) or die "cannot pass the connection on: $!\n";
exec { $cmd[0] } @cmd or die "cannot run $cmd[0]: $!\n";'
SOCKET_PY='import os, socket, sys
mode, path, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    if mode == "connect":
        s.connect(path)
    else:
        if os.path.lexists(path):
            os.unlink(path)
        s.bind(path)
        s.listen(1)
        print("listening", os.getpid(), flush=True)
        c = s.accept()[0]
        s.close()
        os.unlink(path)
        s = c
        if mode == "accept-go" and sys.stdin.readline() != "go\n":
            sys.exit(1)
except OSError as e:
    sys.exit("cannot %s %s: %s" % ("connect to" if mode == "connect" else "listen at", path, e.strerror))
os.dup2(s.fileno(), 0)
os.execvp(cmd[0], cmd)'

socket_tool() {
	if command -v perl >/dev/null 2>&1; then echo perl
	elif command -v python3 >/dev/null 2>&1; then echo python3
	fi
}

on_socket() {
	in_images_base "$2"
	[ ${#2} -lt 108 ] || die "the socket path $2 is too long for a unix socket (107 bytes at most)"
	case $(socket_tool) in
	perl) exec perl -e "$SOCKET_PERL" -- "$@" ;;
	python3) exec python3 -c "$SOCKET_PY" "$@" ;;
	esac
	die "there is neither perl nor python3 on $(hostname), and CRIU gets its page connection through one of them; install perl there"
}

# The leading `--pages S` of a dump command: sets PAGES, the socket that reaches the page server.
pages_option() {
	[ "${1:-}" = --pages ] && [ -n "${2:-}" ] || die "expected --pages SOCKET"
	in_images_base "$2"
	PAGES=$2
}

# Runs CRIU ARGS… in the foreground; with PAGES set, its pages go to the page server there.
criu_pages() {
	need_criu
	# shellcheck disable=SC2086 # criu's words
	if [ -z "${PAGES:-}" ]; then $CRIU_CMD "$@"; else (on_socket connect "$PAGES" $CRIU_CMD "$@" --page-server --ps-socket 0); fi
}

# Starts CRIU ARGS… in the background on the page connection (on_socket MODE S) and returns
# once CRIU wrote its readiness byte to --status-fd (it serves, or its dump is done); fails if
# CRIU exited first. Sets CRIU_PID; the caller waits for it.
start_criu_ready() {
	dir=$1 mode=$2 sock=$3; shift 3
	ready=$dir/.ready
	rm -f "$ready"; mkfifo "$ready"
	need_criu
	# A subshell that execs on_socket, which execs CRIU: $! is CRIU's PID, so stopping it (kill
	# $CRIU_PID) leaves no CRIU orphaned. Its stdin is ours (an asynchronous list's would be
	# /dev/null): accept-go reads `go` there.
	exec 4<&0
	# shellcheck disable=SC2086 # criu's words
	(on_socket "$mode" "$sock" $CRIU_CMD "$@" --status-fd 3) 3>"$ready" <&4 &
	CRIU_PID=$!
	exec 4<&-
	# One NUL byte once ready; end of file if CRIU exits before that.
	got=$(head -c 1 "$ready" | od -An -c | tr -d ' ')
	rm -f "$ready"
	[ "$got" = '\0' ]
}

finish_criu() {
	wait "$CRIU_PID"; rc=$?
	[ $rc -eq 0 ] || log_errors "$1"
	return $rc
}

cmd_page_server() {
	dir=$1; shift; in_images_base "$dir"
	sock='' parent=''
	while [ $# -gt 0 ]; do
		case $1 in
		--parent) parent=$2 ;;
		--socket) sock=$2 ;;
		*) die "page-server: unknown option $1" ;;
		esac
		shift 2
	done
	[ -n "$sock" ] || die "page-server: --socket S is missing"
	mkdir -p "$dir" || die "cannot create $dir on $(hostname)"
	set -- page-server -D "$dir"
	if [ -n "$parent" ]; then
		check_round_name "$parent"
		# Relative, as CRIU's own parent links are: the rounds travel as one tree.
		set -- "$@" --prev-images-dir "../$parent"
	fi
	need_criu
	# shellcheck disable=SC2086 # criu's words
	(on_socket accept "$sock" $CRIU_CMD "$@" --ps-socket 0 -o page-server.log -v4)
	rc=$?
	[ $rc -eq 0 ] || log_errors "$dir/page-server.log"
	return $rc
}

check_round_name() { case $1 in '' | *[!A-Za-z0-9_-]*) die "bad round directory name '$1'" ;; esac; }

# Pre-copy: one round of copying memory while the process runs. CRIU freezes the tree only to
# collect its dirty pages, resumes it, then writes them to the page server at --pages; with
# --prev-images-dir in ARGS only pages changed since that round are written. Its stats (pages
# written, scanned, skipped as unchanged) drive the orchestrator's stop policy.
cmd_pre_dump() {
	pid=$1 dir=$2; shift 2; in_images_base "$dir"
	pages_option "$@"; shift 2
	action='pre-dump --track-mem'
	# Test mode: without soft-dirty CRIU aborts any pre-dump, so each round is a whole dump that
	# leaves the process running (no parent: CRIU trusts one only with tracking's uptime).
	if [ "${1:-}" = --full ]; then action='dump --leave-running'; shift; fi
	mkdir -p "$dir" || die "cannot create $dir on $(hostname)"
	# shellcheck disable=SC2086 # the action's words
	out=$(criu_pages $action -t "$pid" -D "$dir" -o pre-dump.log -v4 --display-stats "$@")
	rc=$?
	[ $rc -eq 0 ] || { log_errors "$dir/pre-dump.log"; return $rc; }
	print_dump_stats "$out"
}

# `key=value` lines from the output of CRIU's --display-stats.
print_dump_stats() {
	printf '%s\n' "$1" | sed -n \
		-e 's/^Memory pages scanned: \([0-9]*\).*/pages_scanned=\1/p' \
		-e 's/^Memory pages skipped from parent: \([0-9]*\).*/pages_skipped=\1/p' \
		-e 's/^Memory pages written: \([0-9]*\).*/pages_written=\1/p' \
		-e 's/^Frozen time: \([0-9]*\) us.*/frozen_us=\1/p'
	echo "page_size=$(getconf PAGESIZE 2>/dev/null || echo 4096)"
}

# A shell job's terminal stays behind; on the destination the process gets its tmux pane's. How
# CRIU can hand it over depends on facts of the source, written to DIR/terminal for restore-tty:
#   key           tty[RDEV:DEV], as CRIU names the terminal (st_rdev and st_dev, in hex);
#   index         its number, N of /dev/pts/N;
#   leader        1 when the dumped root leads the terminal's session (a tmux pane's process);
#   descriptions  how many open file descriptions of it the tree holds: programs that reopen
#                 their terminal (libuv, so Node.js, does) hold more than one.
record_terminal() { # PID DIR ARGS…
	tpid=$1 tdir=$2; shift 2
	case " $* " in *' --shell-job '*) ;; *) return 0 ;; esac
	for fd in 0 1 2; do
		tty=$(readlink "/proc/$tpid/fd/$fd" 2>/dev/null)
		case $tty in /dev/pts/[0-9]*) ;; *) continue ;; esac
		# shellcheck disable=SC2046 # three numbers: st_rdev, st_dev, and the session (field 6 of stat)
		set -- $(stat -L -c '%r %d' "/proc/$tpid/fd/$fd") $(sed 's/.*) //' "/proc/$tpid/stat" | cut -d' ' -f4)
		[ $# -eq 3 ] || return 0
		{
			printf 'key=tty[%x:%x]\n' "$1" "$2"
			echo "index=${tty#/dev/pts/}"
			echo "leader=$([ "$3" = "$tpid" ] && echo 1 || echo 0)"
			echo "descriptions=$(grep -c 'tty: Dumping tty .* with id' "$tdir/dump.log")"
		} >"$tdir/terminal"
		return 0
	done
}

# Post-copy, source side: dumps everything but memory, then serves the pages over the
# connection to --pages until the destination has them all. The process stays stopped here
# (--leave-stopped) until then.
cmd_dump_lazy() {
	pid=$1 dir=$2; shift 2; in_images_base "$dir"
	pages_option "$@"; shift 2
	if start_criu_ready "$dir" connect "$PAGES" dump -t "$pid" -D "$dir" --leave-stopped --lazy-pages "$@" --ps-socket 0 -o dump.log -v4; then
		record_terminal "$pid" "$dir" "$@"
		echo "ready $CRIU_PID"
		finish_criu "$dir/dump.log"; return
	fi
	wait "$CRIU_PID"; log_errors "$dir/dump.log"
	return 1
}

# Post-copy, destination side: the daemon that feeds page faults of the restored process from
# the source's page server. It listens at S before the freeze and holds the connection the
# source's dump-lazy makes, since CRIU takes it only as it starts; it starts once stdin says
# `go` (it reads the images, which arrive after the dump). Prints `listening PID`, `ready PID`.
cmd_lazy_pages() {
	dir=$1; in_images_base "$dir"
	[ "${2:-}" = --socket ] && [ -n "${3:-}" ] || die "lazy-pages: expected --socket S"
	if start_criu_ready "$dir" accept-go "$3" lazy-pages -D "$dir" --page-server --ps-socket 0 -o lazy-pages.log -v4; then
		echo "ready $CRIU_PID"
		finish_criu "$dir/lazy-pages.log"; return
	fi
	wait "$CRIU_PID"; log_errors "$dir/lazy-pages.log"
	die "the CRIU lazy-pages daemon did not start on $(hostname)"
}

cmd_dump() {
	pid=$1 dir=$2; shift 2; in_images_base "$dir"
	PAGES=
	if [ "${1:-}" = --pages ]; then pages_option "$@"; shift 2; fi
	mkdir -p "$dir" || die "cannot create $dir on $(hostname)"
	# --leave-stopped: the source must outlive the dump until the destination runs the process.
	out=$(criu_pages dump -t "$pid" -D "$dir" -o dump.log -v4 --leave-stopped "$@")
	rc=$?
	if [ $rc -eq 0 ]; then record_terminal "$pid" "$dir" "$@"; else log_errors "$dir/dump.log"; fi
	# Pre-copy's final dump asks for --display-stats.
	case $out in *'Memory pages written'*) print_dump_stats "$out" ;; esac
	return $rc
}

cmd_tar_out() { in_images_base "$1"; tar -C "$1" --exclude='*.log' --exclude='.ready' --exclude=./direct --exclude=./pages.sock -cf - .; }
cmd_tar_in() { in_images_base "$1"; tar -C "$1" -xf -; }

# Per-host state: files on tmpfs (POSIX shared memory in /dev/shm, /run/user/UID) that the tree
# maps or holds open. CRIU expects them at the same path when it restores, and checks their size
# and mode, so they travel in a tar stream of their own (sparse: a shared block is often mostly
# holes), owner and mode kept, straight into place: no copy anywhere else on the way.

# A file this helper may carry or remove: an absolute path without `..`, a regular file (not a
# symlink) on tmpfs. Dies with a sentence otherwise.
tmpfs_file() {
	case $1 in /*) ;; *) die "not an absolute path: $1" ;; esac
	case $1 in *..*) die "refusing to touch $1" ;; esac
	[ -f "$1" ] && [ ! -L "$1" ] || die "$1 is not a regular file on $(hostname)"
	[ "$(stat -f -c %T -- "$1" 2>/dev/null)" = tmpfs ] || die "refusing to touch $1 on $(hostname): not on tmpfs"
}

# Every process's open and mapped files, as `PID<TAB>path` lines: the tree's tmpfs files must
# not be shared with a process that stays behind.
file_users() {
	{
		find /proc/[0-9]*/fd -maxdepth 1 -type l -printf '%h\t%l\n' 2>/dev/null
		awk '{ line = $0; for (i = 0; i < 5; i++) sub(/^[^ ]+ +/, "", line)
			if (line ~ /^\//) print FILENAME "\t" line }' /proc/[0-9]*/maps 2>/dev/null
	} | awk -F '\t' -v OFS='\t' '{ split($1, p, "/"); print p[3], $2 }'
}

cmd_tmpfs_stat() {
	tree=" $* "
	users=$(file_users | sort -u)
	while IFS= read -r path; do
		[ -n "$path" ] || continue
		# Gone: deleted since (CRIU carries a deleted file itself, as a ghost file).
		if [ ! -f "$path" ] || [ -L "$path" ]; then printf '%s\tgone\n' "$path"; continue; fi
		st=$(stat -c '%s %b %B %a %u %g' -- "$path") || { printf '%s\tgone\n' "$path"; continue; }
		# shellcheck disable=SC2086 # the fields
		set -- $st
		printf '%s\tfile\t%s\t%s\t%s\t%s\t%s\n' "$path" "$1" "$(($2 * $3))" "$4" "$5" "$6"
		printf '%s\n' "$users" | awk -F '\t' -v p="$path" '$2 == p { print $1 }' | sort -un | while read -r user; do
			case $tree in *" $user "*) continue ;; esac
			printf 'sharer\t%s\t%s\t%s\n' "$path" "$user" "$(cat "/proc/$user/comm" 2>/dev/null)"
		done
	done
}

cmd_tmpfs_check() {
	while IFS= read -r path; do
		[ -n "$path" ] || continue
		dir=$(dirname -- "$path")
		if [ -e "$path" ] || [ -L "$path" ]; then printf '%s\texists\n' "$path"
		elif [ ! -d "$dir" ]; then printf '%s\tno-dir\n' "$path"
		elif fs=$(stat -f -c %T -- "$dir" 2>/dev/null) && [ "$fs" != tmpfs ]; then printf '%s\tnot-tmpfs\t%s\n' "$path" "$fs"
		else printf '%s\tfree\t%s\n' "$path" "$(df -Pk -- "$dir" | awk 'NR == 2 { print $4 "\t" $6 }')"
		fi
	done
}

cmd_tmpfs_out() {
	for f in "$@"; do tmpfs_file "$f"; done
	# Relative to /, as tmpfs-in extracts them; numeric owners: the same IDs on both hosts.
	for f in "$@"; do printf '%s\n' "${f#/}"; done | tar -C / --sparse --numeric-owner --no-recursion -cf - -T -
}

cmd_tmpfs_in() {
	dir=$1; shift; in_images_base "$dir"
	placed=$dir/.tmpfs-placed
	for f in "$@"; do
		case $f in /*) ;; *) die "not an absolute path: $f" ;; esac
		case $f in *..*) die "refusing to write $f" ;; esac
		[ -e "$f" ] || [ -L "$f" ] && die "$f already exists on $(hostname), so the process's copy cannot be put there without overwriting it; remove it there if nothing uses it, and retry."
		[ "$(stat -f -c %T -- "$(dirname -- "$f")" 2>/dev/null)" = tmpfs ] || die "refusing to write $f on $(hostname): its directory is not on tmpfs"
	done
	# Recorded before they exist, so that a rollback or the guard removes what a cut stream left.
	printf '%s\n' "$@" >>"$placed" || die "cannot write $placed on $(hostname)"
	for f in "$@"; do printf '%s\n' "${f#/}"; done >"$dir/.tmpfs-members"
	# --keep-old-files: one created meanwhile by another process is left alone (and not listed).
	tar -C / -xpf - --same-owner --numeric-owner --keep-old-files -T "$dir/.tmpfs-members" 2>"$dir/.tmpfs-in.err"
	rc=$?
	rm -f "$dir/.tmpfs-members"
	[ $rc -eq 0 ] && { rm -f "$dir/.tmpfs-in.err"; return 0; }
	sed -n 's|^tar: \(.*\): Cannot open: File exists$|/\1|p' "$dir/.tmpfs-in.err" | while IFS= read -r kept; do
		grep -vxF -- "$kept" "$placed" >"$placed.new"; mv "$placed.new" "$placed"
	done
	why=$(grep -v '^tar: Exiting' "$dir/.tmpfs-in.err" | tail -n 1)
	rm -f "$dir/.tmpfs-in.err"
	die "${why:-tar exited with $rc}"
}

cmd_tmpfs_rm() {
	if [ "${1:-}" = -- ]; then
		shift
		for f in "$@"; do
			[ -e "$f" ] || [ -L "$f" ] || continue
			tmpfs_file "$f" && rm -f -- "$f"
		done
		return 0
	fi
	in_images_base "$1"
	placed=$1/.tmpfs-placed
	[ -f "$placed" ] || return 0
	while IFS= read -r f; do
		# Checked as when placed: never follow a symlink put there since.
		[ -f "$f" ] && [ ! -L "$f" ] && [ "$(stat -f -c %T -- "$f" 2>/dev/null)" = tmpfs ] && rm -f -- "$f"
	done <"$placed"
	rm -f "$placed"
}

# Direct transfer. Memory relayed through the orchestrator crosses two SSH links and a
# user-space process there; instead the host whose CRIU connects (the client) runs OpenSSH's
# `ssh -L` straight to a private sshd started on the other host (the server) for this migration
# only. Both keys are made where they are used and only their public halves travel, over the
# orchestrator's verified connections: the server accepts that one client key (from the
# client's address), for nothing but forwards to unix sockets and no shell; the client trusts
# that one host key. Both end with the migration, or when the orchestrator's channel closes
# (stdin ends); the keys are deleted with the image directory. The sshd listens on TCP, as it
# must to be reached from the other host, but lets in nobody without the client's key, and that
# key may open the server's one page socket only: OpenSSH matches a unix socket's path against
# PermitOpen's host, written `[PATH]:*`, so no TCP destination matches it.

# A TCP port nobody listens on here (per /proc/net/tcp*), for a server started shortly after.
# A caller that retries after a clash passes its attempt number, so that a retry within the same
# second (srand's seed) draws other ports.
free_port() {
	used=" $(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk 'NR > 1 && $4 == "0A" { split($2, a, ":"); printf "%d ", ("0x" a[2]) + 0 }') "
	tries=0
	while :; do
		tries=$((tries + 1))
		port=$(awk -v s=$$ -v t=$((tries + ${1:-0} * 50)) 'BEGIN { srand(); print 20000 + int(rand() * 40000 + s * 31 + t * 7919) % 40000 }')
		case $used in *" $port "*) [ $tries -lt 50 ] && continue ;; esac
		echo "$port"
		return 0
	done
}

# Ends this helper (and so what it started) once the orchestrator's channel closes. Needs the
# helper's stdin on fd 3: a background job's own stdin is /dev/null.
watch_stdin() {
	{ cat >/dev/null; kill -TERM $$ 2>/dev/null; } <&3 >/dev/null 2>&1 &
	WATCH_PID=$!
}

# direct-client DIR ADDR: the client's key pair. Prints `pubkey=TYPE KEY` and `via=IP`, this
# host's source address toward ADDR when `ip` can tell (the server accepts the key from there).
cmd_direct_client() {
	dir=$1 addr=$2; in_images_base "$dir"
	command -v ssh >/dev/null 2>&1 || die "there is no OpenSSH client (ssh) on $(hostname)"
	command -v ssh-keygen >/dev/null 2>&1 || die "there is no ssh-keygen on $(hostname)"
	mkdir -p "$dir/direct" && chmod 700 "$dir/direct" || die "cannot create $dir/direct on $(hostname)"
	rm -f "$dir/direct/key" "$dir/direct/key.pub"
	ssh-keygen -q -t ed25519 -N '' -C procmig-direct -f "$dir/direct/key" </dev/null >/dev/null || die "ssh-keygen failed on $(hostname)"
	echo "pubkey=$(cut -d' ' -f1-2 "$dir/direct/key.pub")"
	ip=$(getent ahosts "$addr" 2>/dev/null | awk 'NR == 1 { print $1 }')
	echo "via=$(ip -o route get "${ip:-$addr}" 2>/dev/null | sed -n 's/.* src \([^ ]*\).*/\1/p')"
}

# direct-server DIR TARGET PUBKEY [VIA]: a private sshd on a free port of every address that
# accepts only PUBKEY (from VIA, if given) and allows only forwarding to the unix socket TARGET.
# Prints `hostkey=TYPE KEY`, `user=NAME`, then `ready PORT PID`; runs until TERM or stdin ends.
cmd_direct_server() {
	dir=$1 target=$2 pubkey=$3 via=${4:-}; in_images_base "$dir"; in_images_base "$target"
	case $target in *[!A-Za-z0-9/._-]*) die "unexpected characters in the socket path $target" ;; esac
	case $pubkey in 'ssh-ed25519 '*) ;; *) die "unexpected client key type" ;; esac
	case "$pubkey$via" in *[!A-Za-z0-9+/=.:\ _-]*) die "unexpected characters in the client key or address" ;; esac
	sshd=$(command -v sshd 2>/dev/null || echo /usr/sbin/sshd)
	[ -x "$sshd" ] || die "there is no sshd on $(hostname)"
	d=$dir/direct
	mkdir -p "$d" && chmod 700 "$d" || die "cannot create $d on $(hostname)"
	rm -f "$d/host_key" "$d/host_key.pub"
	ssh-keygen -q -t ed25519 -N '' -C procmig-direct -f "$d/host_key" </dev/null >/dev/null || die "ssh-keygen failed on $(hostname)"
	from=
	[ -n "$via" ] && from="from=\"$via\","
	printf 'restrict,port-forwarding,permitopen="[%s]:*",%scommand="cat >/dev/null" %s\n' "$target" "$from" "$pubkey" >"$d/authorized_keys"
	user=$(id -un)
	echo "hostkey=$(cut -d' ' -f1-2 "$d/host_key.pub")"
	echo "user=$user"
	exec 3<&0
	watch_stdin
	SSHD_PID=
	trap '[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null; kill "$WATCH_PID" 2>/dev/null; exit 0' TERM INT HUP
	tries=0
	while [ $tries -lt 10 ]; do
		tries=$((tries + 1))
		port=$(free_port "$tries")
		# StrictModes no: the directory is ours and 0700, but /var/tmp above it is world-writable.
		cat >"$d/sshd_config" <<EOF
ListenAddress 0.0.0.0:$port
ListenAddress [::]:$port
HostKey $d/host_key
PidFile none
UsePAM no
StrictModes no
AuthorizedKeysFile $d/authorized_keys
AuthenticationMethods publickey
PermitRootLogin prohibit-password
AllowUsers $user
AllowTcpForwarding local
PermitOpen [$target]:*
AllowStreamLocalForwarding local
AllowAgentForwarding no
X11Forwarding no
PermitTunnel no
PermitTTY no
PermitUserRC no
ForceCommand cat >/dev/null
MaxAuthTries 2
MaxSessions 1
LoginGraceTime 20
ClientAliveInterval 15
EOF
		"$sshd" -D -e -f "$d/sshd_config" 2>"$d/sshd.log" &
		SSHD_PID=$!
		while kill -0 "$SSHD_PID" 2>/dev/null && ! grep -q 'Server listening' "$d/sshd.log"; do sleep 0.02; done
		if grep -q 'Server listening' "$d/sshd.log"; then
			echo "ready $port $$"
			wait "$SSHD_PID"
			kill "$WATCH_PID" 2>/dev/null
			return 0
		fi
		wait "$SSHD_PID"
		grep -q 'Address already in use' "$d/sshd.log" || break
	done
	kill "$WATCH_PID" 2>/dev/null
	die "sshd did not start on $(hostname): $(grep -v '^Server listening' "$d/sshd.log" | tail -n 1)"
}

# direct-tunnel DIR ADDR PORT USER HOSTKEY ENTRY TARGET: `ssh -L` from the unix socket ENTRY
# (in an image directory here) to the unix socket TARGET behind the sshd at ADDR:PORT, trusting
# only HOSTKEY. Prints `ready PID` once ENTRY listens; ends when stdin ends (after the forwarded
# connection closed; then prints `bytes=N`, the SSH bytes sent and received) or on TERM.
cmd_direct_tunnel() {
	dir=$1 addr=$2 port=$3 user=$4 hostkey=$5 entry=$6 target=$7; in_images_base "$dir"; in_images_base "$entry"; in_images_base "$target"
	d=$dir/direct
	[ -f "$d/key" ] || die "no client key in $d (run direct-client first)"
	printf 'procmig-direct %s\n' "$hostkey" >"$d/known_hosts"
	# AES-GCM where the CPU has AES instructions: ~1.4x chacha20 here (bench/throughput.ts).
	ciphers=
	grep -qw aes /proc/cpuinfo 2>/dev/null && ciphers=aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com
	exec 3<&0
	SSH_PID=
	trap '[ -n "$SSH_PID" ] && kill "$SSH_PID" 2>/dev/null; exit 1' TERM INT HUP
	# The socket ENTRY is made 0600 (StreamLocalBindMask), in a 0700 directory.
	ssh -F /dev/null -i "$d/key" -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes \
		-o StrictHostKeyChecking=yes -o UserKnownHostsFile="$d/known_hosts" -o GlobalKnownHostsFile=/dev/null \
		-o HostKeyAlias=procmig-direct -o ConnectTimeout=4 -o ServerAliveInterval=15 -o ExitOnForwardFailure=yes \
		${ciphers:+-o Ciphers=$ciphers} -o Compression=no -o LogLevel=VERBOSE \
		-o StreamLocalBindMask=0177 -o StreamLocalBindUnlink=yes \
		-o PermitLocalCommand=yes -o "LocalCommand=echo ready $$" \
		-L "$entry:$target" -p "$port" -l "$user" "$addr" 'cat >/dev/null' <&3 2>"$d/ssh.log" &
	SSH_PID=$!
	wait "$SSH_PID"
	rc=$?
	sent=$(sed -n 's/.*Transferred: sent \([0-9]*\), received \([0-9]*\) bytes.*/\1 \2/p' "$d/ssh.log" | tail -n 1)
	if [ -n "$sent" ]; then
		set -- $sent
		echo "bytes=$(($1 + $2))"
		return 0
	fi
	why=$(grep -v -e '^Authenticated' -e '^Transferred' -e '^Killed' -e '^Warning: Permanently' "$d/ssh.log" | tail -n 1 | tr -d '\r')
	die "${why:-ssh exited with $rc}"
}

# Where files that exist only on the source are recreated when their directory is missing here.
files_dir() { echo "${XDG_CACHE_HOME:-$HOME/.cache}/process-migrator/files"; }

cmd_places() {
	echo "files_dir=$(files_dir)"
	while read -r path; do
		[ -n "$path" ] || continue
		if [ -d "$(dirname "$path")" ]; then printf '%s\tsame\n' "$path"; else printf '%s\tcache\n' "$path"; fi
	done
}

# Descriptors for CRIU's --inherit-fd. CRIU matches each `fd[N]:RESOURCE` to a file of the images
# by name and takes its descriptor N over at its start, so any N above 3 serves, one per resource.
# POSIX sh can only name descriptors 0-9, so it opens 4-9 itself; for more, a small opener that
# names any descriptor (bash, else perl) opens them all and runs the helper command again.
wide_opener() {
	if command -v bash >/dev/null 2>&1; then echo bash
	elif command -v perl >/dev/null 2>&1; then echo perl
	fi
}

# How many files `restore --file` can open here (CRIU needs the other descriptors).
inherit_fds_max() {
	[ -n "$(wide_opener)" ] || { echo 6; return 0; }
	n=$(ulimit -n 2>/dev/null)
	case $n in '' | *[!0-9]*) n=1024 ;; esac
	echo $((n > 128 ? n - 64 : 6))
}

# The opener, in each language: opens the `--file N PATH` (appending) and `--read N PATH`
# triples that follow the command's own arguments as descriptor N, then runs `sh HELPER ARGS…`.
# shellcheck disable=SC2016 # bash's, not ours
BASH_OPENER='helper=$1; shift; a=("$@"); i=0
while [ $i -lt ${#a[@]} ] && [ "${a[i]}" != --file ] && [ "${a[i]}" != --read ]; do i=$((i + 1)); done
while [ "${a[i]:-}" = --file ] || [ "${a[i]:-}" = --read ]; do
	if [ "${a[i]}" = --read ]; then eval "exec ${a[i + 1]}<\"\${a[i + 2]}\"" || exit 1
	else eval "exec ${a[i + 1]}>>\"\${a[i + 2]}\"" || exit 1; fi
	i=$((i + 3))
done
exec sh "$helper" "$@"'
# shellcheck disable=SC2016 # perl's
PERL_OPENER='use POSIX (); use Socket (); my ($helper, @a) = @ARGV; my ($i, @keep) = (0);
$i++ while $i < @a && $a[$i] !~ /^--(file|read|socket)$/;
while ($i < @a && $a[$i] =~ /^--(file|read|socket)$/) {
	my ($mode, $n, $path) = @a[$i .. $i + 2];
	my $fh;
	if ($mode eq "--socket") {
		# One end of a stream pair whose other end is closed: reads see end-of-file, writes EPIPE.
		socketpair($fh, my $peer, Socket::AF_UNIX(), Socket::SOCK_STREAM(), 0) or die "cannot make a socket pair: $!\n";
		close($peer);
	} else { open($fh, $mode eq "--read" ? "<" : ">>", $path) or die "cannot open $path: $!\n" }
	if (fileno($fh) == $n) { fcntl($fh, POSIX::F_SETFD(), 0); push @keep, $fh }
	else { defined POSIX::dup2(fileno($fh), $n) or die "cannot open $path as descriptor $n: $!\n" }
	$i += 3;
}
exec("sh", $helper, @a) or die "cannot run sh: $!\n";'

# Opens each `--file N PATH` as descriptor N (N > 3) for CRIU's --inherit-fd; a missing file is
# created (empty), an existing one appended to. `--read N PATH` opens PATH for reading instead.
# Sets SHIFTED. Returns 1 when a descriptor above 9 needs the opener: `|| exec_opener CMD ARGS…`.
open_files() {
	SHIFTED=0 wide= NEEDS_PERL=
	while [ "${1:-}" = --file ] || [ "${1:-}" = --read ] || [ "${1:-}" = --socket ]; do
		mode=$1 n=${2:-} path=${3:-}
		case $n in '' | *[!0-9]* | 0* | [0-3]) die "descriptor '$n' for $path: not a number above 3" ;; esac
		case $mode$path in --socket-) ;; */*) ;; *) die "not an absolute path: $path" ;; esac
		if [ -n "${PROCMIG_FILES_OPEN:-}" ]; then
			[ -e "/proc/$$/fd/$n" ] || die "the opener did not open $path as descriptor $n on $(hostname)"
		else
			if [ "$mode" = --file ]; then
				mkdir -p "$(dirname "$path")" || die "cannot create the directory of $path on $(hostname)"
				# Under sudo, a new file is the user's, as it would be without.
				if [ -n "${PROCMIG_SUDO_USER:-}" ] && [ ! -e "$path" ]; then
					: >>"$path" && chown "$PROCMIG_SUDO_USER:" "$path" || die "cannot create $path on $(hostname)"
				fi
			fi
			# Only perl makes sockets: then the opener, perl's, opens them all.
			if [ "$mode" = --socket ]; then NEEDS_PERL=1 wide=1
			elif [ "$n" -gt 9 ]; then wide=1
			elif [ "$mode" = --read ]; then eval "exec $n<\"\$path\"" || die "cannot open $path on $(hostname)"
			else eval "exec $n>>\"\$path\"" || die "cannot open $path on $(hostname)"
			fi
		fi
		shift 3; SHIFTED=$((SHIFTED + 3))
	done
	unset PROCMIG_FILES_OPEN
	[ -z "$wide" ]
}

# Runs this helper's command CMD ARGS… again through the opener, with PROCMIG_FILES_OPEN set.
exec_opener() {
	PROCMIG_FILES_OPEN=1; export PROCMIG_FILES_OPEN
	if [ -n "$NEEDS_PERL" ]; then
		command -v perl >/dev/null 2>&1 || die "perl is missing on $(hostname), which cutting a connection to a process that stays needs; install perl there"
		exec perl -e "$PERL_OPENER" -- "$0" "$@"
	fi
	case $(wide_opener) in
	bash) exec bash -c "$BASH_OPENER" opener "$0" "$@" ;;
	perl) exec perl -e "$PERL_OPENER" -- "$0" "$@" ;;
	esac
	die "more than 6 files to open for CRIU and neither bash nor perl on $(hostname)"
}

# sudo closes every descriptor above 2, so CRIU through sudo would find none of the files opened
# for it: the restore commands run whole under sudo instead, files opened by root for the user.
restore_under_sudo() { # CMD ARGS…: returns only where no re-exec is needed
	[ -z "${PROCMIG_SUDO_USER:-}" ] || return 0
	find_privilege
	[ "$PRIVILEGE" = sudo ] || return 0
	exec sudo -n env PROCMIG_SUDO_USER="$(id -un)" PROCMIG_IMAGES_DIR="$IMAGES_BASE" sh "$0" "$@"
}

# Makes each `--mkfifo OWNER MODE PATH` and `--symlink OWNER TARGET PATH` that is missing here:
# names the process holds that carry no data (CRIU reopens them by path, and checks a FIFO's
# mode). Sets SHIFTED and MADE (the paths made, which unmake_nodes removes if the restore fails).
make_nodes() {
	SHIFTED=0 MADE=
	while [ "${1:-}" = --mkfifo ] || [ "${1:-}" = --symlink ]; do
		kind=$1 owner=$2 what=$3 path=$4
		case $path in /*) ;; *) die "not an absolute path: $path" ;; esac
		if [ ! -e "$path" ] && [ ! -L "$path" ]; then
			mkdir -p "$(dirname "$path")" || die "cannot create the directory of $path on $(hostname)"
			if [ "$kind" = --mkfifo ]; then mkfifo -m "$what" "$path" || die "cannot create the FIFO $path on $(hostname)"
			else ln -s "$what" "$path" || die "cannot create the symlink $path on $(hostname)"; fi
			chown -h "$owner" "$path" 2>/dev/null
			MADE="$MADE$path
"
		fi
		shift 4; SHIFTED=$((SHIFTED + 4))
	done
}

unmake_nodes() {
	printf '%s' "$MADE" | while IFS= read -r path; do rm -f "$path"; done
}

cmd_restore() {
	dir=$1; shift; in_images_base "$dir"
	restore_under_sudo restore "$dir" "$@"
	open_files "$@" || exec_opener restore "$dir" "$@"
	shift $SHIFTED
	make_nodes "$@"
	shift $SHIFTED
	rm -f "$dir/restore.pid" "$dir/restore.rc"
	if taken=$(taken_pid "$dir"); then
		restore_in_new_pid_namespace "$dir" "$@" || { unmake_nodes; return 1; }
		echo "taken=$taken"
		return 0
	fi
	run_criu restore -D "$dir" -d -o restore.log -v4 --pidfile "$dir/restore.pid" "$@"
	rc=$?
	if [ $rc -eq 0 ]; then echo "pid=$(cat "$dir/restore.pid")"; else log_errors "$dir/restore.log"; unmake_nodes; fi
	return $rc
}

# The first PID (or thread ID) of the dumped tree that a process here already uses: CRIU
# restores every task under its own ID, and one in use fails the restore ("File exists").
taken_pid() {
	for f in "$1"/core-*.img; do
		p=${f##*/core-}; p=${p%.img}
		case $p in '' | *[!0-9]*) continue ;; esac
		[ -d "/proc/$p" ] && { echo "$p"; return 0; }
	done
	return 1
}

# As criu-ns does: the tree gets a PID namespace of its own, where its IDs are free. CRIU runs
# in the foreground under the namespace's first process (a shell, which reaps orphans) and ends
# with the restored process; the namespace ends with them. Prints `pid=` (as this host sees it)
# and `nspid=` (inside).
restore_in_new_pid_namespace() {
	dir=$1; shift
	command -v unshare >/dev/null 2>&1 || die "PID $taken is in use on $(hostname) and there is no unshare (util-linux) to restore into a new PID namespace"
	find_privilege
	[ "$PRIVILEGE" != unprivileged ] || die "PID $taken is in use on $(hostname), and CRIU in unprivileged mode cannot restore into a new PID namespace; end that process or migrate as root"
	sudo=
	[ "$PRIVILEGE" = sudo ] && sudo='sudo -n'
	# shellcheck disable=SC2016 # expanded by the inner shell
	$sudo setsid unshare --pid --fork --mount-proc sh -c 'criu "$@"; echo $? >"$0/restore.rc"' "$dir" \
		restore -D "$dir" -o restore.log -v4 --pidfile "$dir/restore.pid" "$@" </dev/null >/dev/null 2>&1 &
	wait_restored "$dir" || return 1
	nspid=$(cat "$dir/restore.pid")
	pid=$(outer_pid "$dir" "$nspid")
	[ -n "$pid" ] || die "CRIU restored PID $nspid in a new PID namespace on $(hostname), but it could not be found from outside"
	echo "pid=$pid"
	echo "nspid=$nspid"
}

# Waits for the pidfile (restored) or restore.rc (CRIU gave up); on failure prints the log's errors.
wait_restored() {
	tries=0
	while [ ! -s "$1/restore.pid" ] && [ ! -f "$1/restore.rc" ]; do
		tries=$((tries + 1))
		[ $tries -gt 600 ] && die "CRIU did not finish restoring within 60 s on $(hostname)"
		sleep 0.1
	done
	[ -s "$1/restore.pid" ] && return 0
	log_errors "$1/restore.log"
	return 1
}

# The host's PID of the task that is NSPID inside a new PID namespace and descends from the
# restore from DIR (an ID inside a namespace may repeat across namespaces).
outer_pid() {
	dir=$1 nspid=$2
	for status in /proc/[0-9]*/status; do
		ids=$(sed -n 's/^NSpid:[[:space:]]*//p' "$status" 2>/dev/null)
		case $ids in *[[:space:]]"$nspid") ;; *) continue ;; esac
		# shellcheck disable=SC2086 # split into the IDs, outermost first
		set -- $ids
		[ $# -eq 2 ] || continue
		p=$1 up=0
		while [ $up -lt 3 ]; do
			up=$((up + 1))
			p=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$p/status" 2>/dev/null)
			[ -n "$p" ] && [ "$p" -gt 1 ] || break
			tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "-D $dir " && { echo "$1"; return 0; }
		done
	done
	return 1
}

# How the process gets its tmux pane's terminal, from DIR/terminal (record_terminal): prints
#   ext KEY     it leads its terminal's session: the pane's terminal replaces the whole dumped
#               one (--inherit-fd fd[3]:KEY), whatever its number. Not in unprivileged mode:
#               CRIU then makes the pane its controlling terminal, which takes root (TIOCSCTTY);
#   number N    it holds its terminal more than once and stays in a shell's session: CRIU hands the
#               pane to one description and reopens the others as /dev/pts/N, so the pane must be N;
#   inherit     it holds it once, which CRIU hands the pane (-j).
terminal_mode() {
	f=$1/terminal
	key=$(sed -n 's/^key=\(tty\[[0-9a-f]*:[0-9a-f]*\]\)$/\1/p' "$f" 2>/dev/null)
	index=$(sed -n 's/^index=\([0-9][0-9]*\)$/\1/p' "$f" 2>/dev/null)
	find_privilege
	if [ -n "$key" ] && grep -qx 'leader=1' "$f" && [ "$PRIVILEGE" != unprivileged ]; then
		echo "ext $key"
	elif [ -n "$index" ] && [ "$(sed -n 's/^descriptions=\([0-9][0-9]*\)$/\1/p' "$f")" -gt 1 ] 2>/dev/null; then
		echo "number $index"
	else
		echo inherit
	fi
}

# perl -e "$PTY_AT" N CMD…: runs CMD while every free pty below N is held, so that the next pty
# opened (CMD's) is /dev/pts/N; exits 3 when N is in use. CRIU reaches a pty number the same way.
PTY_AT='use Fcntl; my $want = shift; my @held;
for (1 .. 4096) {
	sysopen(my $m, "/dev/ptmx", O_RDWR | O_NOCTTY) or die "cannot open /dev/ptmx: $!\n";
	my $n = pack("I", 0); ioctl($m, 0x80045430, $n) or die "TIOCGPTN: $!\n"; # TIOCGPTN
	my $index = unpack("I", $n);
	if ($index == $want) { close $m; system(@ARGV); exit($? == -1 ? 127 : $? >> 8) }
	exit 3 if $index > $want;
	push @held, $m;
}
exit 3;'

# Runs inside the tmux pane: CRIU stays in the foreground as the restored process's parent, and
# the process inherits the pane's pty as its terminal (-j). The exit code lands in restore.rc.
# CRIU itself reaps the process without a word, so where perl is (Debian's perl-base is
# essential) CRIU execs a perl that waits for it: then the exit code is the process's, and
# tty-attach passes it on through $IMAGES_BASE/tty-exit.SESSION.
cmd_restore_fg() {
	dir=$1 session=$2; shift 2; in_images_base "$dir"
	restore_under_sudo restore-fg "$dir" "$session" "$@"
	open_files "$@" || exec_opener restore-fg "$dir" "$session" "$@"
	shift $SHIFTED
	make_nodes "$@"
	shift $SHIFTED
	# shellcheck disable=SC2046 # the mode and its argument
	set -- $(terminal_mode "$dir") "$@"
	if [ "$1" = ext ]; then
		exec 3<>"$(tty)" || die "cannot open the terminal of tmux session $session on $(hostname)"
		set -- "$@" --inherit-fd "fd[3]:$2"
	fi
	case $1 in inherit) shift ;; *) shift 2 ;; esac
	if command -v perl >/dev/null 2>&1; then
		set -- "$@" --exec-cmd -- perl -e 'wait; exit($? & 127 ? 128 + ($? & 127) : $? >> 8)'
	fi
	if taken=$(taken_pid "$dir"); then
		# See restore_in_new_pid_namespace; here CRIU itself is the namespace's first process.
		echo "$taken" >"$dir/restore.taken"
		find_privilege
		[ "$PRIVILEGE" != unprivileged ] || die "PID $taken is in use on $(hostname), and CRIU in unprivileged mode cannot restore into a new PID namespace; end that process or migrate as root"
		sudo=
		[ "$PRIVILEGE" = sudo ] && sudo='sudo -n'
		$sudo unshare --pid --fork --mount-proc criu restore -D "$dir" -j -o restore.log -v4 --pidfile "$dir/restore.pid" "$@"
	else
		run_criu restore -D "$dir" -j -o restore.log -v4 --pidfile "$dir/restore.pid" "$@"
	fi
	rc=$?
	[ -s "$dir/restore.pid" ] || unmake_nodes
	# Not in $dir: the images are deleted long before the process ends.
	echo $rc >"$IMAGES_BASE/tty-exit.$session"
	{ echo $rc >"$dir/restore.rc.$$" && mv "$dir/restore.rc.$$" "$dir/restore.rc"; } 2>/dev/null
}

cmd_restore_tty() {
	dir=$1 name=$2; shift 2; in_images_base "$dir"
	command -v tmux >/dev/null 2>&1 || die "tmux is not installed on $(hostname)"
	session=$name i=1
	while tmux has-session -t "=$session" 2>/dev/null; do i=$((i + 1)); session=$name-$i; done
	rm -f "$dir/restore.pid" "$dir/restore.rc" "$dir/restore.taken"
	rm -f "$IMAGES_BASE/tty-exit.$session"
	mode=$(terminal_mode "$dir")
	# argv form (tmux >= 3.0): no shell parses the arguments.
	set -- tmux new-session -d -s "$session" -x 120 -y 40 sh "$0" restore-fg "$dir" "$session" "$@"
	case $mode in number\ *)
		command -v perl >/dev/null 2>&1 || die "perl is needed on $(hostname) to give the process's tmux pane the number of its terminal"
		set -- perl -e "$PTY_AT" "${mode#number }" "$@" ;;
	esac
	"$@"
	case $? in
	0) ;;
	3) die "The process holds its terminal /dev/pts/${mode#number } more than once (Node.js reopens it), and CRIU reopens all but one by that number, which is in use on $(hostname); close that terminal there and retry, or start the program with procmig run --tmux, whose moves take any terminal." ;;
	*) die "tmux could not start a session on $(hostname)" ;;
	esac
	echo "terminal=$mode"
	# The whole terminal is the process's: no status line.
	tmux set-option -t "$session" status off 2>/dev/null
	# The pidfile appears once the process is restored; restore.rc once CRIU gave up.
	tries=0
	while [ ! -s "$dir/restore.pid" ] && [ ! -f "$dir/restore.rc" ]; do
		tries=$((tries + 1))
		[ $tries -gt 600 ] && { tmux kill-session -t "=$session" 2>/dev/null; die "CRIU did not finish restoring within 60 s on $(hostname)"; }
		sleep 0.1
	done
	if [ -s "$dir/restore.pid" ]; then
		echo "session=$session"
		if [ -f "$dir/restore.taken" ]; then
			nspid=$(cat "$dir/restore.pid")
			pid=$(outer_pid "$dir" "$nspid")
			[ -n "$pid" ] || die "CRIU restored PID $nspid in a new PID namespace on $(hostname), but it could not be found from outside"
			echo "pid=$pid"
			echo "nspid=$nspid"
			echo "taken=$(cat "$dir/restore.taken")"
		else
			echo "pid=$(cat "$dir/restore.pid")"
		fi
		return 0
	fi
	log_errors "$dir/restore.log"
	return 1
}

# Runs on a pty of the caller's (ssh -t): shows the session's terminal until the process ends,
# then exits with its exit code; when the client was detached instead, says so and exits 0.
cmd_tty_attach() {
	case $1 in procmig-*) ;; *) die "refusing to attach to tmux session $1" ;; esac
	tmux attach-session -t "=$1" || exit 1
	if tmux has-session -t "=$1" 2>/dev/null; then
		printf 'Detached: the process still runs in tmux session %s on %s.\r\n' "$1" "$(hostname)"
		exit 0
	fi
	f=$IMAGES_BASE/tty-exit.$1
	[ -f "$f" ] || exit 0
	rc=$(cat "$f"); rm -f "$f"
	exit "$rc"
}

cmd_tmux_kill() {
	case $1 in procmig-*) ;; *) die "refusing to end tmux session $1" ;; esac
	tmux kill-session -t "=$1" 2>/dev/null
	return 0
}

cmd_state() {
	s=$(sed 's/^[0-9]* (.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	case $s in
	'') echo gone ;;
	T|t) echo stopped ;;
	Z|X|x) echo zombie ;;
	*) echo running ;;
	esac
}

# Checked on the host, so the freeze does not pay one SSH round trip per look.
cmd_verify() {
	for i in 1 2 3; do
		s=$(cmd_state "$1")
		[ "$s" = running ] || { echo "$s"; return 0; }
		[ $i -lt 3 ] && sleep 0.05
	done
	echo running
}

cmd_signal() {
	sig=$1; shift
	for p in "$@"; do
		[ -d "/proc/$p" ] && kill "-$sig" "$p" 2>/dev/null
	done
	return 0
}

# The tree is read on the host, in the same call: no round trip between reading and signalling.
cmd_signal_tree() {
	sig=$1 root=$2; shift 2
	cmd_signal "$sig" $(descendants "$root") "$@"
}

# Whose descriptor the listening socket of TCP PORT is: its inode from /proc/net/tcp*, then the
# lowest PID holding that inode (the first process that opened it, before any fork).
cmd_listener() {
	hex=$(printf '%04X' "$1")
	for inode in $(awk -v p=":$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null); do
		fd=$(find /proc/[0-9]*/fd -maxdepth 1 -lname "socket:\\[$inode\\]" 2>/dev/null | sort -t/ -k3,3n | head -n 1)
		[ -n "$fd" ] || continue
		pid=${fd#/proc/}
		echo "pid=${pid%%/*}"
		return 0
	done
	return 0
}

# Which task traces a thread of PID now (empty: none).
tracer_of() { awk '/^TracerPid:/ && $2 != 0 { print $2; exit }' /proc/"$1"/task/*/status 2>/dev/null; }

# The first tree of a batch restored here must not reach a peer of another tree before that one
# is restored too: the kernel would reset the connection. TCP retransmits what is dropped.
nft_cmd() { as_criu_user nft "$@"; }

cmd_loopback_lock() {
	name=$1; shift
	case $name in '' | *[!A-Za-z0-9_-]*) die "bad lock name '$name'" ;; esac
	command -v nft >/dev/null 2>&1 || die "nft is missing on $(hostname), which keeping connections between processes that move needs; install nftables there"
	ports=$(printf '%s\n' "$@" | grep -E '^[0-9]+$' | paste -sd, -)
	[ -n "$ports" ] || die "loopback-lock: no ports"
	nft_cmd -f - <<EOF
table inet $name {
	chain output {
		type filter hook output priority 0; policy accept;
		ip daddr 127.0.0.0/8 tcp sport { $ports } tcp dport { $ports } drop
		ip6 daddr ::1 tcp sport { $ports } tcp dport { $ports } drop
	}
}
EOF
}

cmd_loopback_unlock() {
	case $1 in '' | *[!A-Za-z0-9_-]*) die "bad lock name '$1'" ;; esac
	nft_cmd delete table inet "$1" 2>/dev/null || true
}

# SIGKILL: a tracer cannot react to it, so it cannot take its tracee down with it; the kernel
# detaches the tracee as the tracer exits, and a tracee left in a stop is continued.
cmd_untrace() {
	pid=$1 tracer=$2
	[ "$(tracer_of "$pid")" = "$tracer" ] || die "process $pid is not traced by $tracer on $(hostname)"
	kill -KILL "$tracer" 2>/dev/null || die "cannot stop process $tracer, the tracer of $pid, on $(hostname)"
	tries=0
	while [ -n "$(tracer_of "$pid")" ]; do
		tries=$((tries + 1))
		[ $tries -gt 50 ] && die "process $pid is still traced on $(hostname) 5 s after its tracer $tracer was stopped"
		sleep 0.1
	done
	[ "$(cmd_state "$pid")" = stopped ] && kill -CONT "$pid"
	echo "state=$(cmd_state "$pid")"
}

# The host's half of "nothing is lost" when the orchestrator cannot roll back: it died, or its
# connection dropped, while the source was frozen or a restored copy was not yet committed. Its
# stdin is the orchestrator's channel; the end of it without `done` undoes what it was told:
# a frozen source tree resumes, a restored copy ends, image directories (process memory) and the
# tmpfs files carried with them go.
cmd_guard() {
	trap '' HUP PIPE INT
	set -f
	tree= restored= session= images= locks= tmpfs=
	while IFS= read -r line; do
		# shellcheck disable=SC2086 # words of the line
		set -- $line
		case ${1:-} in
		tree) shift; tree="$tree $*" ;;
		restored) restored=${2:-} session=${3:-} ;;
		images) case ${2:-} in "$IMAGES_BASE"/img.*) images="$images $2" ;; esac ;;
		lock) locks="$locks ${2:-}" ;;
		tmpfs) case ${2:-} in "$IMAGES_BASE"/img.*) tmpfs="$tmpfs $2" ;; esac ;;
		done) return 0 ;;
		esac
	done
	[ -n "$restored" ] && cmd_signal_tree KILL "$restored"
	# A dump still running would leave the tree stopped after we resumed it: CRIU goes first.
	for dir in $images; do stop_criu_in "$dir"; done
	# shellcheck disable=SC2086
	[ -n "$tree" ] && cmd_signal_tree CONT $tree
	case $session in procmig-*) tmux kill-session -t "=$session" 2>/dev/null ;; esac
	for name in $locks; do (cmd_loopback_unlock "$name"); done
	# After the copy that used them has ended; before the image directory that lists them goes.
	for dir in $tmpfs; do (cmd_tmpfs_rm "$dir"); done
	for dir in $images; do cmd_rmimages "$dir"; done
	return 0
}

# Ends the CRIU processes working in DIR (TERM, then KILL after 5 s) and waits for them.
stop_criu_in() {
	# A pre-copy round works in a directory inside DIR. CRIU may still be an on_socket waiting
	# for its connection (perl or python3 with the CRIU command line as arguments), or sudo's.
	pids=$(ps -eo pid=,args= | awk -v d="-D $1" '/[ \/]criu / && (index($0 " ", " " d " ") || index($0, " " d "/")) { print $1 }')
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	cmd_signal TERM $pids
	tries=0
	for p in $pids; do
		while [ -d "/proc/$p" ] && [ $tries -lt 50 ]; do tries=$((tries + 1)); sleep 0.1; done
	done
	# shellcheck disable=SC2086
	cmd_signal KILL $pids
}

cmd_rmimages() {
	in_images_base "$1"
	[ -d "$1" ] || return 0
	as_criu_user rm -rf "$1"
}

# Where the logs of programs started by run-ready go: private, as their output may be.
run_dir() { echo "${XDG_CACHE_HOME:-$HOME/.cache}/process-migrator/run"; }

cmd_run_ready() {
	cwd= tmux_name=
	while [ $# -gt 0 ]; do
		case $1 in
		--cwd) cwd=${2:-} ;;
		--tmux) tmux_name=${2:-} ;;
		--) shift; break ;;
		*) die "run-ready: unknown option $1" ;;
		esac
		shift 2
	done
	[ $# -gt 0 ] || die "run-ready: no command to run"
	command -v perl >/dev/null 2>&1 || die "perl is not installed on $(hostname), and starting a program migration-ready needs it; install it there (Debian: apt-get install perl-base)"
	if [ -n "$cwd" ]; then cd "$cwd" 2>/dev/null || die "there is no directory $cwd on $(hostname); give --cwd a directory that exists there"; fi
	case $1 in
	*/*) [ -f "$1" ] && [ -x "$1" ] || die "$1 is not an executable file on $(hostname); give the path of the program there" ;;
	*) command -v "$1" >/dev/null 2>&1 || die "command not found on $(hostname): $1 (PATH is $PATH); install it there or give its full path" ;;
	esac
	if [ -n "$tmux_name" ]; then run_ready_tmux "$tmux_name" "$@"; else run_ready_detached "$@"; fi
}

run_ready_detached() {
	dir=$(run_dir)
	{ mkdir -p "$dir" && chmod 700 "$dir"; } || die "cannot create $dir on $(hostname)"
	# mktemp makes the file 0600.
	log=$(mktemp "$dir/$(basename "$1" | tr -c 'A-Za-z0-9_.\n-' _).XXXXXX.log") || die "cannot create a log file in $dir on $(hostname)"
	# Not a process group leader (no job control here), so setsid execs instead of forking: $!
	# is the program's PID through sh, perl and the exec of CMD.
	setsid sh "$0" exec-ready "$CALLER_UMASK" "$@" </dev/null >>"$log" 2>&1 &
	pid=$!
	echo "pid=$pid"
	echo "log=$log"
	if ended_at_once "$pid"; then
		wait "$pid"
		echo "exit_code=$?"
		echo "last_line=$(tail -n 1 "$log" | tr '\t' ' ')"
	fi
}

run_ready_tmux() {
	name=$1; shift
	case $name in '' | *[!A-Za-z0-9_-]*) die "bad tmux session name '$name'" ;; esac
	command -v tmux >/dev/null 2>&1 || die "there is no tmux on $(hostname); install it there (e.g. apt-get install tmux) or start the program without --tmux"
	i=1
	while :; do
		session=$name-$i
		if ! tmux has-session -t "=$session" 2>/dev/null; then
			# argv form (tmux >= 3.0): no shell parses the arguments.
			out=$(tmux new-session -d -P -F '#{pane_pid}' -s "$session" -c "$PWD" -x 120 -y 40 \
				sh "$0" exec-ready "$CALLER_UMASK" "$@" 2>&1) && break
			# Lost a race for the name to another run: take the next one.
			tmux has-session -t "=$session" 2>/dev/null || die "tmux could not start a session on $(hostname): $out"
		fi
		i=$((i + 1))
	done
	echo "session=$session"
	echo "pid=$out"
	ended_at_once "$out" || true
}

# A moment for a program just started to fail (a missing module, a bad option). Prints
# `ended=1` and succeeds if it did.
ended_at_once() {
	i=0
	while [ $i -lt 5 ]; do
		case $(cmd_state "$1") in gone | zombie) echo ended=1; return 0 ;; esac
		i=$((i + 1))
		sleep 0.1
	done
	return 1
}

# The program's first moments, in its own session or tmux pane: the caller's umask, then the
# launcher, which execs CMD under the filter (one PID throughout). From a checkout (no copy of
# the launcher appended), the launcher beside this file.
cmd_exec_ready() {
	umask "$1"; shift
	grep -q '^#!.*perl' "$0" && exec perl -x "$0" "$@"
	exec perl "$(dirname "$0")/migration-ready.pl" "$@"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
caps) cmd_caps ;;
ps) cmd_ps ;;
inspect) cmd_inspect "$@" ;;
check-files) cmd_check_files ;;
stat-files) cmd_stat_files ;;
mkimages) cmd_mkimages ;;
page-server) cmd_page_server "$@" ;;
pre-dump) cmd_pre_dump "$@" ;;
dump-lazy) cmd_dump_lazy "$@" ;;
lazy-pages) cmd_lazy_pages "$@" ;;
dump) cmd_dump "$@" ;;
direct-client) cmd_direct_client "$@" ;;
direct-server) cmd_direct_server "$@" ;;
direct-tunnel) cmd_direct_tunnel "$@" ;;
free-port) free_port ;;
tar-out) cmd_tar_out "$@" ;;
tar-in) cmd_tar_in "$@" ;;
tmpfs-stat) cmd_tmpfs_stat "$@" ;;
tmpfs-check) cmd_tmpfs_check ;;
tmpfs-out) cmd_tmpfs_out "$@" ;;
tmpfs-in) cmd_tmpfs_in "$@" ;;
tmpfs-rm) cmd_tmpfs_rm "$@" ;;
restore) cmd_restore "$@" ;;
restore-tty) cmd_restore_tty "$@" ;;
restore-fg) cmd_restore_fg "$@" ;;
places) cmd_places ;;
ptys) ls /dev/pts 2>/dev/null | grep -E '^[0-9]+$' || true ;;
tty-attach) cmd_tty_attach "$@" ;;
tmux-kill) cmd_tmux_kill "$@" ;;
state) cmd_state "$@" ;;
verify) cmd_verify "$@" ;;
signal) cmd_signal "$@" ;;
signal-tree) cmd_signal_tree "$@" ;;
untrace) cmd_untrace "$@" ;;
listener) cmd_listener "$@" ;;
rmimages) cmd_rmimages "$@" ;;
loopback-lock) cmd_loopback_lock "$@" ;;
loopback-unlock) cmd_loopback_unlock "$@" ;;
guard) cmd_guard "$@" ;;
run-ready) cmd_run_ready "$@" ;;
exec-ready) cmd_exec_ready "$@" ;;
version) echo "helper_version=$PROCMIG_HELPER_VERSION" ;;
*) die "procmig-helper: unknown command '$cmd'" ;;
esac
# What follows in the uploaded copy is the launcher, for perl.
exit
