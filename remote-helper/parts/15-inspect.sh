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
	echo "uid=$(id -u)"
	[ -z "$SUDO_RLIMITS" ] || echo "sudo_rlimits=$SUDO_RLIMITS"
	# Processes on a terminal are restored inside a tmux session on the destination.
	if command -v tmux >/dev/null 2>&1; then echo "tmux=$(tmux -V 2>/dev/null | sed 's/^tmux //')"; else echo "tmux="; fi
	echo "inherit_fds_max=$(inherit_fds_max)"
	# The CPU's features (x86 `flags`, arm64 `Features`): a process restored on a CPU without an
	# instruction set it picked at start dies of SIGILL later. PROCMIG_TEST_CPUINFO is a TEST
	# ONLY switch: a file read instead of /proc/cpuinfo, to give a host another CPU.
	echo "cpu_flags=$(awk -F': *' '/^(flags|Features)[ \t]*:/ { print $2; exit }' "${PROCMIG_TEST_CPUINFO:-/proc/cpuinfo}" 2>/dev/null)"
	echo "page_socket=$(socket_tool)"
	criu_bin=$(criu_bin)
	if ! command -v "$criu_bin" >/dev/null 2>&1; then echo "criu_version="; return 0; fi
	criu_path=$(command -v "$criu_bin")
	echo "criu_path=$criu_path"
	[ "$PRIVILEGE" = none ] && { echo "criu_version=$(criu_version)"; return 0; }
	# What CRIU says of this host changes with the kernel, the binary and who runs it, not
	# between two migrations: kept per boot, binary, privilege and userfaultfd setting, so a
	# preflight does not start five CRIUs each time (~100–400 ms on two busy cores).
	key=$(printf '%s\n' "$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)" "$criu_path" "$(stat -L -c '%s %Y %i' "$criu_path")" \
		"$PRIVILEGE" "$(id -u)" "$(cat /proc/sys/vm/unprivileged_userfaultfd 2>/dev/null)" "$PROCMIG_HELPER_VERSION" | cksum | cut -d' ' -f1)
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/process-migrator/criu-caps.$key
	if [ -s "$cache" ]; then cat "$cache"; return 0; fi
	# $$ is shared by the requests of a helper session: PROCMIG_REQUEST tells them apart.
	part=$cache.$$.${PROCMIG_REQUEST:-0}
	criu_caps >"$part" 2>/dev/null || { rm -f "$part"; criu_caps; return 0; }
	# Only a complete answer is kept (criu_check comes last), and only this key's.
	if grep -q '^criu_check=' "$part" && mv "$part" "$cache"; then
		for old in "${cache%.*}".*; do
			case ${old##*/} in "${cache##*/}" | criu-caps.*.*) ;; *) rm -f "$old" ;; esac
		done
		cat "$cache"
	else cat "$part"; rm -f "$part"; fi
}

# CRIU's version, features and record of the CPU (cmd_caps keeps them per boot).
criu_caps() {
	echo "criu_version=$(criu_version)"
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
	cat "$tmp"/mem_dirty_track "$tmp"/uffd "$tmp"/uffd-noncoop
	if [ -f "$tmp/cpuinfo" ]; then cat "$tmp/cpuinfo"; fi
	cat "$tmp"/check
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
		# shellcheck disable=SC2086 # the fields of stat
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
			target=$(readlink "$fd" 2>/dev/null)
			flags=$(awk '/^flags:/ {print $2}' "/proc/$p/fdinfo/$n" 2>/dev/null)
			# A descriptor closed (or reused) while being read is not one the process holds: its
			# missing flags would read as O_RDONLY and make a file it only writes look required.
			[ -n "$target" ] && [ -n "$flags" ] && [ "$(readlink "$fd" 2>/dev/null)" = "$target" ] || continue
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
}

cmd_stat_files() {
	while read -r path; do
		[ -n "$path" ] || continue
		printf '%s\t%s\n' "$path" "$(stat -Lc %s "$path" 2>/dev/null || echo -)"
	done
}
