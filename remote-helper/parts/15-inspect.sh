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
	# CRIU as root keeps its probe of the kernel (/run/criu.kdat) only on a tmpfs; elsewhere every
	# criu probes again, ~45 ms before each freeze and each restore.
	case $PRIVILEGE in root | sudo) echo "criu_probe_kept=$([ "$(stat -f -c %T /run 2>/dev/null)" = tmpfs ] && echo 1 || echo 0)" ;; esac
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

# A preflight waits for this, so it forks little: a tool run costs 1–3 ms on busy cores, and a
# Node.js server holds dozens of descriptors (it was three runs for each, and ~60 for a process).
cmd_inspect() {
	pid=$1
	if [ ! -d "/proc/$pid" ]; then echo "exists=0"; return 0; fi
	echo "exists=1"
	echo "self_uid=$(id -u)"
	# CRIU reads rlimits of another user's process only with CAP_SYS_RESOURCE (bit 24).
	while read -r key value; do [ "$key" = CapEff: ] && echo "self_cap_eff=$value"; done </proc/self/status
	# find's own namespaces are this shell's.
	find /proc/self/ns -mindepth 1 -maxdepth 1 \( -name pid -o -name mnt -o -name net -o -name ipc -o -name uts -o -name user \) -printf 'host_ns.%f=%l\n' 2>/dev/null
	tab=$(printf '\t')
	for p in $(descendants "$pid"); do
		[ -d "/proc/$p" ] || continue
		# stat: comm is in parentheses and may hold spaces; strip through the last ") ".
		IFS= read -r st <"/proc/$p/stat" 2>/dev/null || continue
		# shellcheck disable=SC2086 # the fields of stat
		set -- ${st##*) }
		# state ppid pgrp session tty_nr tpgid flags … uid tracer rss seccomp (0 none, 2 a filter:
		# CRIU's unprivileged mode cannot dump it). TracerPid of any thread: a tracer may hold one
		# thread only (strace -p TID, a native debugger).
		info=$(awk -v s="/proc/$p/status" '
			FILENAME == s && /^Uid:/ { u = $2 } FILENAME == s && /^VmRSS:/ { r = $2 } FILENAME == s && /^Seccomp:/ { c = $2 }
			FILENAME != s && /^TracerPid:/ && $2 != 0 && !t { t = $2 }
			END { print u "\t" (t ? t : 0) "\t" (r ? r : 0) "\t" (c ? c : 0) }' "/proc/$p/status" /proc/"$p"/task/*/status 2>/dev/null)
		printf 'task\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$1" "$2" "$3" "$4" "$5" "$7" "$info"
		tracer=${info#*"$tab"} tracer=${tracer%%"$tab"*}
		if [ -n "$tracer" ] && [ "$tracer" != 0 ]; then
			IFS= read -r tcomm <"/proc/$tracer/comm" 2>/dev/null || tcomm=
			printf 'tracer\t%s\t%s\n' "$tracer" "$tcomm"
		fi
		IFS= read -r comm <"/proc/$p/comm" 2>/dev/null || comm=
		printf 'comm\t%s\t%s\n' "$p" "$comm"
		# Tab-separated arguments, each ended by a tab (tabs and newlines inside become spaces).
		printf 'cmdline\t%s\t%s\n' "$p" "$(tr '\0\t\n' '\t  ' <"/proc/$p/cmdline" 2>/dev/null)"
		# The executable, the working directory and the namespaces: one readlink each, in one find.
		find "/proc/$p/exe" "/proc/$p/cwd" "/proc/$p/ns/pid" "/proc/$p/ns/mnt" "/proc/$p/ns/net" "/proc/$p/ns/ipc" "/proc/$p/ns/uts" "/proc/$p/ns/user" \
			-maxdepth 0 \( -path '*/ns/*' -printf "ns\t$p\t%f\t%l\n" -o -printf "%f\t$p\t%l\n" \) 2>/dev/null
		# Descriptors: their targets, their flags, and their targets again. One closed (or reused)
		# while being read is not one the process holds: its missing flags would read as O_RDONLY
		# and make a file it only writes look required.
		{
			find "/proc/$p/fd" -mindepth 1 -maxdepth 1 -printf 'a\t%f\t%l\n'
			awk '/^flags:/ { n = FILENAME; sub(/.*\//, "", n); print "f\t" n "\t" $2 }' /proc/"$p"/fdinfo/*
			find "/proc/$p/fd" -mindepth 1 -maxdepth 1 -printf 'b\t%f\t%l\n'
		} 2>/dev/null | awk -F '\t' '
			$1 == "a" { n[++count] = $2; first[$2] = substr($0, length($2) + 4) }
			$1 == "f" { flags[$2] = $3 }
			$1 == "b" { again[$2] = substr($0, length($2) + 4) }
			END { for (i = 1; i <= count; i++) { d = n[i]; if (first[d] != "" && flags[d] != "" && again[d] == first[d]) print d "\t" flags[d] "\t" first[d] } }' |
			while IFS="$tab" read -r n flags target; do
				printf 'fd\t%s\t%s\t%s\t%s\n' "$p" "$n" "$flags" "$target"
				fd_details "$p" "$n" "$target"
			done
		# Mappings, read once: file-backed ones (the executable and libraries must exist on the
		# destination; the whole path, with the " (deleted)" of a file unlinked since, which CRIU
		# carries), shared memory, and deleted mapped files with the bytes they take (CRIU's
		# --ghost-limit counts blocks).
		awk '
			$6 ~ /^\// { path = substr($0, index($0, $6)); if (!(path in m)) { m[path] = 1; print "map\t" path } }
			$6 ~ /^\/dev\/shm\/|^\/SYSV/ && !($6 in s) { s[$6] = 1; print "shm\t" $6 }
			/ \(deleted\)$/ && $6 ~ /^\// && !($1 in d) { d[$1] = 1; print "deleted\t" $1 }' "/proc/$p/maps" 2>/dev/null |
			while IFS="$tab" read -r kind what; do
				case $kind in
				deleted) printf 'deleted\t%s\tmap\t%s\t%s\n' "$p" "$(stat -Lc '%b %B' "/proc/$p/map_files/$what" 2>/dev/null | awk '{print $1 * $2}')" "$(readlink "/proc/$p/map_files/$what" 2>/dev/null)" ;;
				*) printf '%s\t%s\t%s\n' "$kind" "$p" "$what" ;;
				esac
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
