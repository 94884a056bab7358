# --- host state: what placement and the Processes view compare hosts by ------------------------

# The host's measured state, cgroup-aware: a container or VM under limits shows the parent
# machine in /proc/meminfo, so the tightest limit along this helper's cgroup path counts.
cmd_host_state() {
	echo "cpus_online=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)"
	echo "loadavg=$(cut -d' ' -f1,2 /proc/loadavg)"
	echo "mem_available_kib=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)"
	images_base
	echo "disk_available_kib=$(df -Pk "$IMAGES_BASE" | awk 'NR==2 {print $4}')"
	echo "uptime=$(cut -d' ' -f1 /proc/uptime)"
	echo "arch=$(uname -m)"
	# Hosts with the same boot ID run on one kernel (containers, namespaces): the same cores.
	echo "boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)"
	find_privilege
	echo "criu_version=$(criu_version)"
	# The port this SSH session came in on: where another host reaches this one's sshd too
	# (link-rtt there times a connect to it).
	echo "ssh_port=$(echo "${SSH_CONNECTION:-}" | awk '{print $4}')"
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then cgroup2_state; else cgroup1_state; fi
}

# cgroup v2: from this helper's cgroup up to the root of what this host sees (its cgroup
# namespace's root: the host itself). Memory: the least of limit − working set (current use less
# reclaimable inactive file cache); CPU: the least quota; use and pressure: the top's.
cgroup2_state() {
	dir=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)
	[ -d "$dir" ] || dir=/sys/fs/cgroup
	top=$dir
	while :; do
		if [ -r "$dir/memory.max" ] && [ "$(cat "$dir/memory.max")" != max ]; then
			max=$(cat "$dir/memory.max")
			cur=$(cat "$dir/memory.current" 2>/dev/null || echo 0)
			inactive=$(awk '$1 == "inactive_file" {print $2}' "$dir/memory.stat" 2>/dev/null)
			echo "cg_mem=$((max / 1024)) $(((max - cur + ${inactive:-0}) / 1024))"
		fi
		if [ -r "$dir/cpu.max" ]; then
			read -r quota period <"$dir/cpu.max"
			[ "$quota" = max ] || echo "cg_cpu_quota=$quota $period"
		fi
		[ -r "$dir/cpu.stat" ] && top=$dir
		[ "$dir" != /sys/fs/cgroup ] || break
		dir=${dir%/*}
		[ -n "$dir" ] && [ "$dir" != /sys/fs ] || dir=/sys/fs/cgroup
	done
	echo "cg_cpu_usage_usec=$(awk '$1 == "usage_usec" {print $2}' "$top/cpu.stat" 2>/dev/null)"
	pressure=$top/cpu.pressure
	[ -r "$pressure" ] || pressure=/proc/pressure/cpu
	echo "cpu_pressure=$(sed -n 's/^some avg10=\([0-9.]*\).*/\1/p' "$pressure" 2>/dev/null)"
}

# cgroup v1: the memory and cpu controllers' own hierarchies, the same walk up.
cgroup1_state() {
	mem=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
	cpu=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $3}' /proc/self/cgroup)
	base=/sys/fs/cgroup/memory
	dir=$base$mem
	if [ -n "$mem" ]; then
		while [ -d "$dir" ]; do
			lim=$(cat "$dir/memory.limit_in_bytes" 2>/dev/null || echo 0)
			# An unlimited v1 cgroup reports a huge number (page-rounded LONG_MAX).
			if [ "${#lim}" -lt 19 ] && [ "$lim" -gt 0 ]; then
				cur=$(cat "$dir/memory.usage_in_bytes" 2>/dev/null || echo 0)
				inactive=$(awk '$1 == "total_inactive_file" {print $2}' "$dir/memory.stat" 2>/dev/null)
				echo "cg_mem=$((lim / 1024)) $(((lim - cur + ${inactive:-0}) / 1024))"
			fi
			[ "$dir" != "$base" ] || break
			dir=${dir%/*}
		done
	fi
	# cpu and cpuacct may share a hierarchy (cpu,cpuacct) or have one each.
	for base in /sys/fs/cgroup/cpu /sys/fs/cgroup/cpu,cpuacct; do
		dir=$base$cpu
		while [ -d "$dir" ]; do
			quota=$(cat "$dir/cpu.cfs_quota_us" 2>/dev/null || echo -1)
			[ "$quota" -le 0 ] || echo "cg_cpu_quota=$quota $(cat "$dir/cpu.cfs_period_us")"
			[ "$dir" != "$base" ] || break
			dir=${dir%/*}
		done
	done
	acct=$(awk -F: '$2 ~ /(^|,)cpuacct(,|$)/ {print $3}' /proc/self/cgroup)
	for base in /sys/fs/cgroup/cpuacct /sys/fs/cgroup/cpu,cpuacct; do
		[ -r "$base$acct/cpuacct.usage" ] || continue
		# The host's own cgroup: the topmost below the root that this helper is in (the root is the machine).
		top=$base$(echo "$acct" | cut -d/ -f1-2)
		[ "$acct" != / ] || top=$base
		echo "cg_cpu_usage_usec=$(($(cat "$top/cpuacct.usage") / 1000))"
		break
	done
	echo "cpu_pressure=$(sed -n 's/^some avg10=\([0-9.]*\).*/\1/p' /proc/pressure/cpu 2>/dev/null)"
}

# link-rtt ADDR PORT: the round trip from this host to ADDR, as the quicker of two TCP connects
# to PORT there (the other host's sshd, which a direct transfer reaches as well). POSIX sh
# cannot time a connect: perl (with Time::HiRes, which perl-base alone lacks), else python3,
# as for the page sockets. Prints `rtt_ms=N.NNN`.
# shellcheck disable=SC2016 # perl's
RTT_PERL=@embedded/rtt.pl@
RTT_PY=@embedded/rtt.py@

cmd_link_rtt() {
	addr=${1:-} port=${2:-}
	case $addr in '' | -* | *[!A-Za-z0-9.:_-]*) die "link-rtt: unexpected address '$addr'" ;; esac
	case $port in '' | *[!0-9]*) die "link-rtt: unexpected port '$port'" ;; esac
	if command -v perl >/dev/null 2>&1 && perl -MTime::HiRes -e 1 2>/dev/null; then perl -e "$RTT_PERL" -- "$addr" "$port"
	elif command -v python3 >/dev/null 2>&1; then python3 -c "$RTT_PY" "$addr" "$port"
	else die "there is neither perl with Time::HiRes nor python3 on $(hostname) to time a connect"
	fi
}

# CPU time of the tree rooted at $1 so far, in clock ticks, and the host's uptime: two samples
# give the tree's recent CPU use in cores.
cmd_tree_use() {
	ticks=0
	for p in $(descendants "$1"); do
		# Fields after the comm (which may hold spaces and parentheses): utime is 14th, stime 15th.
		t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
		ticks=$((ticks + ${t:-0}))
	done
	echo "ticks=$ticks"
	echo "clk_tck=$(getconf CLK_TCK)"
	echo "uptime=$(cut -d' ' -f1 /proc/uptime)"
}
