# What a host has to spare, measured cheaply (no CRIU run) and cgroup-aware: a container or VM's
# /proc/meminfo and CPU count show its parent machine, so the limits of the cgroup this helper
# runs in (the host's, as sshd's children are placed there) count too, v1 and v2 alike.
# PROCMIG_TEST_ROOT is a TEST ONLY switch: a directory read instead of / for /proc and /sys.
STATE_ROOT=${PROCMIG_TEST_ROOT:-}

# The directory of this process's cgroup in the hierarchy of CONTROLLER (v1: memory, cpu,
# cpuacct), or of the unified (v2) hierarchy for `unified`; prints `DIR<TAB>MOUNTPOINT`, or
# nothing when that hierarchy is not mounted. /proc/self/cgroup names the cgroup relative to the
# mount's root (mountinfo's 4th field); in a cgroup namespace whose mount shows more than the
# namespace (root `/..`), the cgroup is found by this shell's PID in the cgroup.procs below.
cgroup_dir() {
	found=$(awk -v want="$1" -v root="$STATE_ROOT" '
		FNR == NR {
			i = index($0, ":"); rest = substr($0, i + 1); j = index(rest, ":")
			ctrls = substr(rest, 1, j - 1); p = substr(rest, j + 1)
			if (want == "unified") { if (substr($0, 1, i - 1) == "0" && ctrls == "") path = p }
			else { n = split(ctrls, c, ","); for (k = 1; k <= n; k++) if (c[k] == want) path = p }
			next
		}
		{
			for (i = 7; i <= NF && $i != "-"; i++) ;
			fs = $(i + 1); opts = "," $(i + 3) ","
			if ((want == "unified" && fs == "cgroup2") || (want != "unified" && fs == "cgroup" && index(opts, "," want ","))) { mroot = $4; mnt = root $5 }
		}
		END {
			if (mnt == "" || path == "") exit
			rel = path
			if (mroot != "/" && index(path, mroot "/") == 1) rel = substr(path, length(mroot) + 1)
			else if (mroot != "/" && path == mroot) rel = "/"
			if (substr(mroot, 1, 3) == "/..") rel = "?"
			sub(/\/$/, "", rel)
			print mnt rel "\t" mnt
		}' "$STATE_ROOT/proc/self/cgroup" "$STATE_ROOT/proc/self/mountinfo" 2>/dev/null)
	[ -n "$found" ] || return 0
	dir=${found%%	*} mnt=${found#*	}
	case $dir in *'?')
		procs=$(find "$mnt" -name cgroup.procs -exec grep -lx "$$" {} + 2>/dev/null | head -n 1)
		dir=${procs%/cgroup.procs}; [ -n "$procs" ] || dir=$mnt ;;
	esac
	[ -d "$dir" ] || dir=$mnt
	printf '%s\t%s\n' "$dir" "$mnt"
}

# The smallest number in FILE of DIR and each of its parents up to MOUNTPOINT (a parent's limit
# binds its children); words that are no number (v2's `max`) count as no limit.
cgroup_min() {
	d=$1 mnt=$2 file=$3 min=''
	while :; do
		v=$(awk '{ print $1; exit }' "$d/$file" 2>/dev/null)
		case $v in ''|*[!0-9]*) ;; *) if [ -z "$min" ] || [ "$v" -lt "$min" ]; then min=$v; fi ;; esac
		[ "$d" != "$mnt" ] && [ "${#d}" -gt "${#mnt}" ] || break
		d=${d%/*}
	done
	echo "$min"
}

# Prints the memory figures: mem_available_kib (MemAvailable, or less under a cgroup limit:
# the limit minus what the cgroup uses, its reclaimable page cache not counted), and under a
# limit mem_limit_bytes and mem_used_bytes. A limit at or above the machine's memory is none.
memory_state() {
	total=$(awk '/^MemTotal:/ { print $2 * 1024 }' "$STATE_ROOT/proc/meminfo")
	avail=$(awk '/^MemAvailable:/ { print $2 }' "$STATE_ROOT/proc/meminfo")
	limit='' used='' inactive=''
	v2=$(cgroup_dir unified) v1=$(cgroup_dir memory)
	if [ -n "$v1" ] && [ -f "${v1%%	*}/memory.limit_in_bytes" ]; then
		d=${v1%%	*}
		# memory.stat's hierarchical_memory_limit is the smallest limit of the cgroup's ancestors.
		limit=$(awk '$1 == "hierarchical_memory_limit" { print $2 }' "$d/memory.stat" 2>/dev/null)
		[ -n "$limit" ] || limit=$(cgroup_min "$d" "${v1#*	}" memory.limit_in_bytes)
		used=$(cat "$d/memory.usage_in_bytes" 2>/dev/null)
		inactive=$(awk '$1 == "total_inactive_file" { print $2 }' "$d/memory.stat" 2>/dev/null)
	elif [ -n "$v2" ] && [ -f "${v2%%	*}/memory.current" ]; then
		d=${v2%%	*}
		limit=$(cgroup_min "$d" "${v2#*	}" memory.max)
		used=$(cat "$d/memory.current" 2>/dev/null)
		inactive=$(awk '$1 == "inactive_file" { print $2 }' "$d/memory.stat" 2>/dev/null)
	fi
	awk -v total="${total:-0}" -v avail="${avail:-0}" -v limit="$limit" -v used="${used:-0}" -v inactive="${inactive:-0}" 'BEGIN {
		if (limit != "" && limit + 0 < total + 0) {
			free = limit - (used - inactive); if (free < 0) free = 0
			if (free / 1024 < avail + 0) avail = int(free / 1024)
			printf "mem_limit_bytes=%.0f\nmem_used_bytes=%.0f\n", limit, used
		}
		printf "mem_available_kib=%.0f\n", avail
	}'
}

# Prints the CPU figures: cpus_online, cpu_quota (cores, under a CFS quota), cpu_usage_ns (the
# cgroup's CPU time so far) with uptime (seconds, the same clock for every probe: two probes give
# the rate), load1/load5 and cpu_pressure (`some avg10`, of the cgroup under v2).
cpu_state() {
	echo "cpus_online=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)"
	v2=$(cgroup_dir unified) cpu=$(cgroup_dir cpu) acct=$(cgroup_dir cpuacct)
	quota=''
	if [ -n "$cpu" ] && [ -f "${cpu%%	*}/cpu.cfs_quota_us" ]; then
		d=${cpu%%	*}
		q=$(cgroup_min "$d" "${cpu#*	}" cpu.cfs_quota_us) p=$(cat "$d/cpu.cfs_period_us" 2>/dev/null)
		[ -z "$q" ] || [ -z "$p" ] || quota="$q $p"
	elif [ -n "$v2" ] && [ -f "${v2%%	*}/cpu.max" ]; then
		quota=$(awk '$1 != "max" { print $1, $2 }' "${v2%%	*}/cpu.max")
	fi
	[ -z "$quota" ] || echo "$quota" | awk '$2 > 0 { printf "cpu_quota=%.2f\n", $1 / $2 }'
	if [ -n "$acct" ] && [ -f "${acct%%	*}/cpuacct.usage" ]; then
		echo "cpu_usage_ns=$(cat "${acct%%	*}/cpuacct.usage")"
	elif [ -n "$v2" ] && [ -f "${v2%%	*}/cpu.stat" ]; then
		awk '$1 == "usage_usec" { printf "cpu_usage_ns=%.0f\n", $2 * 1000 }' "${v2%%	*}/cpu.stat"
	fi
	echo "uptime=$(cut -d' ' -f1 "$STATE_ROOT/proc/uptime")"
	awk '{ print "load1=" $1; print "load5=" $2 }' "$STATE_ROOT/proc/loadavg"
	pressure="$STATE_ROOT/proc/pressure/cpu"
	if [ -n "$v2" ] && [ -f "${v2%%	*}/cpu.pressure" ]; then pressure="${v2%%	*}/cpu.pressure"; fi
	awk '$1 == "some" { for (i = 2; i <= NF; i++) if ($i ~ /^avg10=/) { sub(/^avg10=/, "", $i); print "cpu_pressure=" $i } }' "$pressure" 2>/dev/null || true
}

cmd_host_state() {
	echo "helper_version=$PROCMIG_HELPER_VERSION"
	echo "arch=$(uname -m)"
	cpu_state
	memory_state
	images_base
	echo "images_dir=$IMAGES_BASE"
	echo "disk_available_kib=$(df -Pk "$IMAGES_BASE" | awk 'NR==2 {print $4}')"
	c=$(command -v criu 2>/dev/null || true)
	[ -z "$c" ] && [ -x "$UNPRIVILEGED_CRIU" ] && c=$UNPRIVILEGED_CRIU
	if [ -n "$c" ]; then echo "criu_version=$("$c" --version 2>/dev/null | sed -n 's/^Version: *//p')"; else echo "criu_version="; fi
}

# The CPU time (clock ticks) and resident memory (KiB) of the given PIDs now, summed; PIDs gone
# meanwhile count nothing.
tree_ticks() {
	for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null; echo; done |
		awk 'NF { sub(/^.*\) /, ""); ticks += $12 + $13; pages += $22 } END { printf "%d %d\n", ticks, pages }'
}

# What the tree under PID uses of a host lately: cpu_cores (its CPU time over SECONDS, default
# 0.5, measured now) and rss_kib. ps's %CPU is the average over a process's whole life, which
# says little of what it needs now.
cmd_tree_use() {
	[ -d "/proc/${1:-x}" ] || die "Process ${1:-?} does not exist on $(hostname)"
	# shellcheck disable=SC2046 # the PIDs, one word each
	set -- "${2:-0.5}" $(descendants "$1")
	seconds=$1; shift
	t0=$(cut -d' ' -f1 /proc/uptime); u0=$(tree_ticks "$@")
	sleep "$seconds"
	t1=$(cut -d' ' -f1 /proc/uptime); u1=$(tree_ticks "$@")
	awk -v t0="$t0" -v t1="$t1" -v u0="${u0% *}" -v u1="${u1% *}" -v pages="${u1#* }" -v hz="$(getconf CLK_TCK)" -v page="$(getconf PAGESIZE)" 'BEGIN {
		dt = t1 - t0; if (dt <= 0) dt = 0.01
		printf "cpu_cores=%.3f\nrss_kib=%d\n", (u1 - u0) / hz / dt, pages * page / 1024
	}'
}
