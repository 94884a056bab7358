#!/bin/sh
# Three-host lab on one machine: `lab-a`, `lab-b` and `lab-c`, each a set of namespaces with its own
# sshd. lab-c is the small one (half a core, 1 GiB), for placement to pass over.
#
#   sh scripts/lab.sh up | down | status | env
#   sh scripts/lab.sh exec <host> <cmd...>     run a command inside a host (all its namespaces)
#   sh scripts/lab.sh sshd <host> stop|start   simulate a host's SSH going away / coming back
#   sh scripts/lab.sh crash|boot <host>        a host crashes (every process ends) / boots again
#
# Why namespaces and not containers: no Docker here, and CRIU needs real processes it can ptrace,
# freeze and restore. Each host gets:
#   - a network namespace (pm-lab-a / pm-lab-b) with one veth into a bridge that lives in its own
#     namespace (pm-lab-br), so nothing of the lab appears in the root namespace;
#   - a PID namespace whose PID 1 is tini (reaps orphans: restored trees and `setsid … &` jobs are
#     reparented to it), its own mount namespace with a fresh /proc and its own devpts instance (pty
#     numbers are per host), its own hostname;
#   - host-local directories bind-mounted over /tmp, /var/tmp and /root/.cache, so files and
#     checkpoint images really have to travel from one host to the other;
#   - a PID counter starting at a different base per host, so a PID from one host is normally free
#     on the other (as on two real machines);
#   - sshd on <address>:22 with its own host key, key-only root login, port forwarding allowed;
#   - its own cgroup (cpu, cpuacct, memory: /pm-lab-<x>), mounted in its mount namespace, so that
#     each host's CPU use and memory headroom are its own, as they are on a VM or container. Only
#     lab-c has limits: lab-a and lab-b carry the tests' load and stay as fast as the machine.
# The root namespace reaches the hosts through `.lab/ssh_config` (ProxyCommand via socat inside the
# lab network); the hosts reach each other directly by address (or by name: /etc/hosts per host).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SELF="$ROOT/scripts/lab.sh"
LAB="$ROOT/.lab"
# A worktree may link its .lab to another checkout's, to share that checkout's lab: name it by
# the real path, so the owner check below sees one lab and does not take it over.
[ ! -L "$LAB" ] || LAB=$(readlink -f "$LAB")
# What a host itself reads once its own /tmp, /var/tmp and /root/.cache are mounted (its init's
# files, sshd config and keys) must not live under those paths, or a checkout in /tmp (as a CI
# clone may be) would hide it from the host. Like the namespace names, it is machine-wide.
STATE=/var/lib/process-migrator-lab
HOSTS_DIR="$STATE/hosts"
AUTH_KEYS="$STATE/authorized_keys"
SSH_CONFIG="$LAB/ssh_config"
KNOWN_HOSTS="$LAB/known_hosts"
CLIENT_KEY="$LAB/id_ed25519"
BR_NS=pm-lab-br
SUBNET_PREFIX=10.77.0
# Namespace names are global to the machine; remember which checkout owns them so a second
# checkout does not mistake someone else's lab for its own.
OWNER_FILE=/run/pm-lab.owner
HOSTS="lab-a lab-b lab-c"
# A normal user on both hosts (they share /etc/passwd and /home), reached as `<host>-dev`: a
# developer's account is not root.
LAB_USER=pmdev

say() { printf 'lab: %s\n' "$*"; }
die() { printf 'lab: error: %s\n' "$*" >&2; exit 1; }

# --- per-host facts ----------------------------------------------------------------------------

host_name() { # accepts lab-a or a
	case "$1" in
		lab-a | a) echo lab-a ;;
		lab-b | b) echo lab-b ;;
		lab-c | c) echo lab-c ;;
		*) die "unknown host '$1' (expected lab-a, lab-b or lab-c)" ;;
	esac
}
host_ns() { echo "pm-$1"; } # pm-lab-a
host_addr() { case "$1" in lab-a) echo "$SUBNET_PREFIX.11" ;; lab-b) echo "$SUBNET_PREFIX.12" ;; lab-c) echo "$SUBNET_PREFIX.13" ;; esac; }
host_veth() { case "$1" in lab-a) echo veth-a ;; lab-b) echo veth-b ;; lab-c) echo veth-c ;; esac; }
# Different PID bases: 100000 on a, 200000 on b, 300000 on c (PIDs allocated in the host's own PID
# namespace).
host_pid_base() { case "$1" in lab-a) echo 100000 ;; lab-b) echo 200000 ;; lab-c) echo 300000 ;; esac; }
# The host's cgroup limits: CPU quota in µs per 100 ms, memory in bytes; none for a and b.
host_cpu_quota() { case "$1" in lab-c) echo 50000 ;; *) echo -1 ;; esac; }
host_mem_limit() { case "$1" in lab-c) echo $((1024 * 1024 * 1024)) ;; *) echo "" ;; esac; }
# The v1 controllers a host gets its own cgroup in (this machine's cgroups are v1).
CGROUP_CONTROLLERS="cpu cpuacct memory"

host_dir() { echo "$HOSTS_DIR/$1"; }

ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

# PID (in the root namespace) of the host's init (tini, PID 1 of the host), or nothing.
# Verified against the netns, so a stale pid file can never make us signal an unrelated process.
init_pid() {
	f="$(host_dir "$1")/init.pid"
	[ -r "$f" ] || return 0
	p=$(cat "$f")
	[ -n "$p" ] && [ -d "/proc/$p" ] || return 0
	ns_exists "$(host_ns "$1")" || return 0
	ip netns pids "$(host_ns "$1")" 2>/dev/null | grep -qx "$p" || return 0
	echo "$p"
}

ssh_ok() { # sshd answers with the lab key and the expected host key
	ssh -F "$SSH_CONFIG" -o BatchMode=yes -o ConnectTimeout=3 "$1" true </dev/null >/dev/null 2>&1
}

lock() {
	mkdir -p "$LAB"
	# Several test suites may run `lab up` at the same time; serialize every state change.
	exec 9>"$LAB/.lock"
	flock -w 120 9 || die "another lab.sh holds $LAB/.lock for over 2 minutes"
}

# --- up ------------------------------------------------------------------------------------------

write_client_files() {
	if [ ! -f "$CLIENT_KEY" ]; then
		ssh-keygen -q -t ed25519 -N '' -C procmig-lab -f "$CLIENT_KEY"
	fi
	chmod 0600 "$CLIENT_KEY"
	cp "$CLIENT_KEY.pub" "$AUTH_KEYS"
	: >"$SSH_CONFIG.tmp"
	for h in $HOSTS; do
		cat >>"$SSH_CONFIG.tmp" <<EOF
Host $h
    HostName $(host_addr "$h")
    User root
    IdentityFile $CLIENT_KEY
    IdentitiesOnly yes
    UserKnownHostsFile $KNOWN_HOSTS
    StrictHostKeyChecking yes
    # The lab network is not routed from the root namespace: hop in through a socat running in
    # the lab network (any namespace on the bridge would do).
    ProxyCommand ip netns exec $(host_ns lab-a) socat - TCP:%h:%p

Host $h-dev
    HostName $(host_addr "$h")
    User $LAB_USER
    IdentityFile $CLIENT_KEY
    IdentitiesOnly yes
    UserKnownHostsFile $KNOWN_HOSTS
    StrictHostKeyChecking yes
    ProxyCommand ip netns exec $(host_ns lab-a) socat - TCP:%h:%p

EOF
	done
	mv "$SSH_CONFIG.tmp" "$SSH_CONFIG"
}

ensure_user() { # the lab's normal user, with the lab key in its own ~/.ssh (sshd reads it as the user)
	id "$LAB_USER" >/dev/null 2>&1 || useradd -m -s /bin/sh "$LAB_USER"
	# useradd leaves the account locked, and sshd without PAM refuses locked accounts even for keys.
	usermod -p '*' "$LAB_USER"
	home=$(getent passwd "$LAB_USER" | cut -d: -f6)
	install -d -m 0700 -o "$LAB_USER" -g "$LAB_USER" "$home/.ssh" "$home/.cache"
	install -m 0600 -o "$LAB_USER" -g "$LAB_USER" "$CLIENT_KEY.pub" "$home/.ssh/authorized_keys"
}

write_host_files() { # $1 = host name
	h=$1; d=$(host_dir "$h")
	mkdir -p "$d/tmp" "$d/var-tmp" "$d/cache" "$d/user-cache"
	chown "$LAB_USER:$LAB_USER" "$d/user-cache"
	chmod 0700 "$d/user-cache"
	# Root's shell startup of its own: the machine's may run tools (pyenv's rehash) whose lock in
	# the shared /root a crashed host leaves behind, stalling every later login of every host.
	printf '# root on lab host %s: no startup of the machine'"'"'s own\n' "$h" >"$d/bashrc"
	# Real /tmp and /var/tmp are world-writable with the sticky bit.
	chmod 1777 "$d/tmp" "$d/var-tmp"
	[ -f "$d/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C "$h" -f "$d/ssh_host_ed25519_key"
	# Each host resolves both lab names (and its own) like machines on a LAN would.
	{
		grep -v -e ' lab-a$' -e ' lab-b$' -e ' lab-c$' /etc/hosts 2>/dev/null || true
		for o in $HOSTS; do echo "$(host_addr "$o") $o"; done
	} >"$d/hosts"
	cat >"$d/sshd_config" <<EOF
# sshd of lab host $h (generated by scripts/lab.sh; regenerated on every up)
ListenAddress $(host_addr "$h"):22
HostKey $d/ssh_host_ed25519_key
PidFile none
# Key-only root login with the lab's own authorized_keys file (never ~/.ssh, which the hosts share).
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile $AUTH_KEYS .ssh/authorized_keys
UsePAM no
# The lab files live in the repo checkout, whose permissions sshd's strict checks would reject.
StrictModes no
# The product forwards ports both ways (-L to a page server, -R back) and may use unix sockets.
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
GatewayPorts no
PermitTTY yes
X11Forwarding no
UseDNS no
PrintMotd no
PrintLastLog no
# Tests open many sessions and connections at once (multiplexing, parallel scp).
MaxSessions 64
MaxStartups 64:30:128
AcceptEnv LANG LC_*
# scp in OpenSSH 9 talks the sftp protocol.
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel INFO
EOF
	rm -f "$d/sshd.stopped"
}

write_known_hosts() {
	: >"$KNOWN_HOSTS.tmp"
	for h in $HOSTS; do
		printf '%s,%s-dev,%s %s\n' "$h" "$h" "$(host_addr "$h")" "$(cut -d' ' -f1-2 "$(host_dir "$h")/ssh_host_ed25519_key.pub")" >>"$KNOWN_HOSTS.tmp"
	done
	mv "$KNOWN_HOSTS.tmp" "$KNOWN_HOSTS"
}

ensure_network() {
	if ! ns_exists "$BR_NS"; then
		ip netns add "$BR_NS"
	fi
	ip -n "$BR_NS" link set lo up
	ip -n "$BR_NS" link show br0 >/dev/null 2>&1 || ip -n "$BR_NS" link add br0 type bridge
	ip -n "$BR_NS" link set br0 up
	for h in $HOSTS; do
		ns=$(host_ns "$h"); v=$(host_veth "$h")
		ns_exists "$ns" || ip netns add "$ns"
		ip -n "$ns" link set lo up
		if ! ip -n "$ns" link show eth0 >/dev/null 2>&1; then
			# Created directly inside the namespaces: no interface ever shows up in the root namespace.
			ip -n "$BR_NS" link del "$v" 2>/dev/null || true
			ip -n "$BR_NS" link add "$v" type veth peer name eth0 netns "$ns"
		fi
		ip -n "$BR_NS" link set "$v" master br0
		ip -n "$BR_NS" link set "$v" up
		ip -n "$ns" addr replace "$(host_addr "$h")/24" dev eth0
		ip -n "$ns" link set eth0 up
	done
}

# This machine's directory of v1 controller $1 for the host cgroup $2: memory below the cgroup this
# script runs in (a sandbox may be limited there), the CPU ones at the top level, where the helper
# reads a host's CPU use (its topmost cgroup).
cgroup_dir() {
	[ -d "/sys/fs/cgroup/$1" ] || return 0
	own=
	[ "$1" != memory ] || own=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
	echo "/sys/fs/cgroup/$1${own%/}/$2"
}

join_cgroups() { # $1 = host; best effort: without cgroups the lab works, its hosts just look alike
	for c in $CGROUP_CONTROLLERS; do
		dir=$(cgroup_dir "$c" "pm-$1")
		if [ -z "$dir" ] || ! mkdir -p "$dir" 2>/dev/null; then continue; fi
		case $c in
			cpu) host_cpu_quota "$1" >"$dir/cpu.cfs_quota_us" ;;
			memory) [ -z "$(host_mem_limit "$1")" ] || host_mem_limit "$1" >"$dir/memory.limit_in_bytes" ;;
		esac
		# 0: the writing process itself (a subshell: $$ would be the script's).
		echo 0 >"$dir/cgroup.procs" || echo "cannot join $dir" >&2
	done
}

remove_cgroups() { # $1 = host, once its processes are gone
	for c in $CGROUP_CONTROLLERS; do
		dir=$(cgroup_dir "$c" "pm-$1")
		if [ -n "$dir" ] && [ -d "$dir" ]; then rmdir "$dir" 2>/dev/null || true; fi
	done
}

start_host() { # $1 = host name; starts its init unless it runs already
	h=$1; d=$(host_dir "$h")
	if [ -n "$(init_pid "$h")" ]; then
		rm -f "$d/sshd.stopped" # `up` means reachable: undo a `lab.sh sshd stop`
		return 0
	fi
	# Fully detached (own session, no terminal, output to a log) so the host outlives this shell;
	# fd 9 (the lab lock) is closed, or the host would hold the lock for as long as it runs.
	# The host's processes are born in its cgroups: its init joins them before it starts.
	(
		join_cgroups "$h"
		exec setsid ip netns exec "$(host_ns "$h")" \
			unshare --pid --fork --mount --mount-proc --uts --propagation private \
			tini -- sh "$SELF" __init "$h"
	) </dev/null >"$LAB/$h.log" 2>&1 9>&- &
	outer=$!
	# `ip netns exec` execs unshare in this same process; unshare --fork's child is tini, PID 1 of
	# the host. Record tini's root-namespace PID: killing it tears the whole PID namespace down.
	# unshare may briefly have other children, so pick the one that is PID 1 of a new namespace.
	i=0
	child=""
	while :; do
		# shellcheck disable=SC2013 # the file is one line of space-separated PIDs
		for c in $(cat "/proc/$outer/task/$outer/children" 2>/dev/null); do
			[ "$(awk '/^NSpid:/ {print $NF}' "/proc/$c/status" 2>/dev/null)" = 1 ] && child=$c && break
		done
		[ -n "$child" ] && break
		kill -0 "$outer" 2>/dev/null || die "$h did not start; see $LAB/$h.log: $(tail -n 5 "$LAB/$h.log" 2>/dev/null)"
		i=$((i + 1)); [ "$i" -lt 100 ] || die "$h did not start within 5 s; see $LAB/$h.log"
		sleep 0.05
	done
	echo "$child" >"$d/init.pid"
}

wait_ssh() {
	for h in $HOSTS; do
		i=0
		until ssh_ok "$h"; do
			i=$((i + 1))
			if [ "$i" -ge 60 ]; then
				die "sshd of $h does not answer after 30 s; see $LAB/$h.log: $(tail -n 5 "$LAB/$h.log" 2>/dev/null)"
			fi
			[ -n "$(init_pid "$h")" ] || die "$h died during startup; see $LAB/$h.log: $(tail -n 5 "$LAB/$h.log" 2>/dev/null)"
			sleep 0.5
		done
	done
}

check_owner() {
	if [ -r "$OWNER_FILE" ] && [ "$(cat "$OWNER_FILE")" != "$LAB" ] && ns_exists pm-lab-a; then
		# Namespace names are machine-wide. Another checkout's lab (a stale one, or a fresh clone such
		# as CI's after a developer's session) is stopped and replaced, so that `up` always works.
		say "taking over the lab from $(cat "$OWNER_FILE"): stopping its hosts"
		cmd_down >/dev/null
	fi
}

all_up() {
	for h in $HOSTS; do
		[ -n "$(init_pid "$h")" ] && [ ! -e "$(host_dir "$h")/sshd.stopped" ] && ssh_ok "$h" || return 1
	done
}

cmd_up() {
	[ "$(id -u)" -eq 0 ] || die "run as root (network and PID namespaces need CAP_SYS_ADMIN)"
	check_owner
	if [ -f "$SSH_CONFIG" ] && all_up; then
		say "already up (ssh -F $SSH_CONFIG lab-a|lab-b|lab-c)"
		return 0
	fi
	deps=$(sh "$ROOT/scripts/install-system-deps.sh" 2>&1) || { printf '%s\n' "$deps" >&2; die "installing system dependencies failed"; }
	printf '%s\n' "$deps" | sed -e '/already installed/d' -e '/^done$/d' -e '/^$/d' -e 's/^/lab: /'
	lock
	t0=$(date +%s.%N)
	# Post-copy (criu lazy pages) needs pipes of at least 4 MiB on the dumping host: without
	# CAP_SYS_RESOURCE CRIU cannot grow its page pipe beyond fs.pipe-max-size (default 1 MiB) and the
	# dump fails with `page-pipe: tee: 65536: Operation not permitted`. The sysctl is machine-wide.
	want=$((4 * 1024 * 1024))
	cur=$(cat /proc/sys/fs/pipe-max-size)
	if [ "$cur" -lt "$want" ]; then
		echo "$want" >/proc/sys/fs/pipe-max-size || die "cannot raise fs.pipe-max-size to $want"
		say "raised fs.pipe-max-size from $cur to $want (needed by CRIU lazy pages)"
	fi
	mkdir -p /run/sshd && chmod 0755 /run/sshd # sshd's privilege-separation directory
	mkdir -p "$HOSTS_DIR" && chmod 0700 "$STATE"
	write_client_files
	ensure_user
	for h in $HOSTS; do
		[ -n "$(init_pid "$h")" ] || write_host_files "$h"
	done
	write_known_hosts
	echo "$LAB" >"$OWNER_FILE"
	ensure_network
	for h in $HOSTS; do start_host "$h"; done
	wait_ssh
	t1=$(date +%s.%N)
	say "up in $(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}') s"
	cmd_status
	say "use: ssh -F $SSH_CONFIG lab-a   (or: export \$(sh scripts/lab.sh env))"
}

# --- init of a host (runs as tini's child, inside the host's namespaces) ----------------------

host_init() {
	h=$1; d=$(host_dir "$h")
	set -x # the log in .lab/<host>.log then shows exactly what was set up
	echo "$h" >/proc/sys/kernel/hostname
	# Own pty namespace: pty numbers are per host, so a restored terminal can get the same number.
	mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts /dev/pts
	mount --bind /dev/pts/ptmx /dev/ptmx
	# Host-local state over shared paths: images and files must really be copied between hosts.
	mkdir -p /root/.cache
	mount --bind "$d/tmp" /tmp
	mount --bind "$d/var-tmp" /var/tmp
	mount --bind "$d/cache" /root/.cache
	# The user's cache (the helper it runs, files given to restores) is per host too.
	mount --bind "$d/user-cache" "$(getent passwd "$LAB_USER" | cut -d: -f6)/.cache"
	mount --bind "$d/hosts" /etc/hosts
	[ ! -f /root/.bashrc ] || mount --bind "$d/bashrc" /root/.bashrc
	# Own POSIX shared memory, as every real machine has: with the machine's /dev/shm a process's
	# shm files would already be "there" on the other host.
	mount -t tmpfs -o size=2g,mode=1777 shm /dev/shm
	# Own /run, a tmpfs as systemd mounts it on every real machine (this machine's is a directory on
	# its disk): runtime state is per host and gone when it boots again. CRIU keeps what it probed
	# of the kernel there (/run/criu.kdat), but only on a tmpfs; without it every criu spends
	# ~45 ms probing again before it freezes or restores anything.
	mount -t tmpfs -o mode=755,size=64m run /run
	mkdir -p -m 0755 /run/sshd /run/lock /run/user
	# `ip netns exec` gave the host a sysfs of its own without cgroups: mount the machine's
	# hierarchies, as a VM's or container's own view would show them (a host reads its cgroup).
	mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
	awk -F: '$2 != "" { print $2 }' /proc/self/cgroup | while IFS= read -r c; do
		case $c in name=*) opts=none,$c ;; *) opts=$c ;; esac
		mkdir -p "/sys/fs/cgroup/${c#name=}"
		mount -t cgroup -o "$opts" cgroup "/sys/fs/cgroup/${c#name=}" || echo "cannot mount cgroup $c" >&2
	done
	mkdir -p /sys/fs/cgroup/unified
	mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified 2>/dev/null || rmdir /sys/fs/cgroup/unified
	# Start this host's PIDs at its own base. pid_max is per PID namespace on this kernel (6.14+);
	# raise it here when it is lower than the base (older kernels: the machine-wide value rules).
	base=$(host_pid_base "$h")
	if [ "$(cat /proc/sys/kernel/pid_max)" -le $((base + 50000)) ]; then
		echo 4194304 >/proc/sys/kernel/pid_max || echo "cannot raise pid_max; PIDs start low" >&2
	fi
	echo "$base" >/proc/sys/kernel/ns_last_pid || echo "cannot set ns_last_pid to $base" >&2
	cd /root
	set +x
	# Supervise sshd instead of exec'ing it: if sshd ended the init would exit and take the whole
	# host (every process in its PID namespace) with it. `lab.sh sshd stop` creates sshd.stopped and
	# kills sshd; `start` removes the file and this loop brings sshd back.
	while :; do
		if [ -e "$d/sshd.stopped" ]; then
			sleep 1
			continue
		fi
		echo "$(date '+%T') starting sshd"
		/usr/sbin/sshd -D -e -f "$d/sshd_config" || echo "$(date '+%T') sshd exited with $?"
		# Throttle restarts if sshd cannot start (bad config, address not yet up …).
		[ -e "$d/sshd.stopped" ] || sleep 1
	done
}

# --- down ----------------------------------------------------------------------------------------

cmd_down() {
	[ "$(id -u)" -eq 0 ] || die "run as root"
	lock
	for h in $HOSTS; do
		ns=$(host_ns "$h")
		p=$(init_pid "$h")
		# Killing PID 1 of a PID namespace kills every process in it.
		[ -z "$p" ] || kill -KILL "$p" 2>/dev/null || true
		# Half-set-up or lost pid file: whatever still runs in the host's network namespace is the lab's.
		if ns_exists "$ns"; then
			for q in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$q" 2>/dev/null || true; done
		fi
	done
	# Give the kernel a moment to reap before deleting the namespaces.
	i=0
	while [ "$i" -lt 50 ]; do
		left=""
		for h in $HOSTS; do
			ns_exists "$(host_ns "$h")" && left="$left$(ip netns pids "$(host_ns "$h")" 2>/dev/null)"
		done
		[ -z "$left" ] && break
		i=$((i + 1)); sleep 0.1
	done
	for ns in $(for h in $HOSTS; do host_ns "$h"; done) "$BR_NS"; do
		if ns_exists "$ns"; then ip netns del "$ns" || say "could not delete namespace $ns"; fi
	done
	for h in $HOSTS; do remove_cgroups "$h"; done
	rm -rf "$HOSTS_DIR" "$KNOWN_HOSTS"
	[ ! -r "$OWNER_FILE" ] || [ "$(cat "$OWNER_FILE")" != "$LAB" ] || rm -f "$OWNER_FILE"
	say "down"
}

# --- status, env, exec, sshd ---------------------------------------------------------------------

cmd_status() {
	rc=0
	for h in $HOSTS; do
		p=$(init_pid "$h")
		if [ -z "$p" ]; then
			printf '%-6s down  %-11s sshd: -\n' "$h" "$(host_addr "$h")"
			rc=1
			continue
		fi
		if [ -f "$SSH_CONFIG" ] && ssh_ok "$h"; then s=reachable; else s=unreachable; rc=1; fi
		[ ! -e "$(host_dir "$h")/sshd.stopped" ] || s="$s (stopped by lab.sh sshd stop)"
		printf '%-6s up    %-11s sshd: %s  (init pid %s, netns %s)\n' "$h" "$(host_addr "$h")" "$s" "$p" "$(host_ns "$h")"
	done
	return $rc
}

cmd_env() {
	echo "PROCMIG_LAB_SSH_CONFIG=$SSH_CONFIG"
}

need_init() {
	p=$(init_pid "$1")
	[ -n "$p" ] || die "$1 is down (run: sh scripts/lab.sh up)"
	echo "$p"
}

cmd_exec() {
	[ $# -ge 2 ] || die "usage: lab.sh exec <host> <cmd...>"
	h=$(host_name "$1"); shift
	p=$(need_init "$h")
	# All of the host's namespaces (net, pid, mount, uts, ipc …), working directory /root.
	exec nsenter -t "$p" -a --wd=/root -- "$@"
}

cmd_sshd() {
	[ $# -eq 2 ] || die "usage: lab.sh sshd <host> stop|start"
	h=$(host_name "$1"); d=$(host_dir "$h")
	p=$(need_init "$h")
	case "$2" in
		stop)
			touch "$d/sshd.stopped"
			# The listener and every session process: like the machine going away, existing
			# connections (and ControlMaster sockets) drop too. pkill runs inside the host's PID and
			# mount namespaces, so it only sees that host's processes.
			nsenter -t "$p" -p -m -- pkill -KILL -x sshd || true
			i=0
			while ssh_ok "$h"; do
				i=$((i + 1)); [ "$i" -lt 20 ] || die "sshd of $h still answers"
				sleep 0.2
			done
			say "sshd of $h stopped (connections refused until: lab.sh sshd $h start)"
			;;
		start)
			rm -f "$d/sshd.stopped"
			await_ssh "$h" 40 0.25 ''
			say "sshd of $h answering"
			;;
		*) die "usage: lab.sh sshd <host> stop|start" ;;
	esac
}

# Waits for the sshd of host $1: $2 tries $3 s apart, then dies ($4: when, in words).
await_ssh() {
	i=0
	until ssh_ok "$1"; do
		i=$((i + 1)); [ "$i" -lt "$2" ] || die "sshd of $1 does not answer$4; see $LAB/$1.log"
		sleep "$3"
	done
}

# A crash: every process of the host ends at once (PID 1 of its namespace killed), nothing is
# cleaned up; its files stay for `boot`, as a disk does.
cmd_crash() {
	h=$(host_name "${1:-}")
	lock
	p=$(init_pid "$h")
	[ -n "$p" ] || die "$h is down already"
	kill -KILL "$p"
	i=0
	while [ -d "/proc/$p" ] && [ "$i" -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
	say "$h crashed"
}

cmd_boot() {
	h=$(host_name "${1:-}")
	lock
	[ -z "$(init_pid "$h")" ] || die "$h runs already"
	start_host "$h"
	await_ssh "$h" 60 0.5 ' after its boot'
	say "$h booted"
}

usage() {
	cat <<EOF
usage: sh scripts/lab.sh <command>
  up                         start the hosts (idempotent), wait for their sshd
  down                       stop the hosts, delete namespaces and host state
  status                     show each host: up/down, address, sshd reachable
  env                        print PROCMIG_LAB_SSH_CONFIG=<path>
  exec <host> <cmd...>       run a command inside a host's namespaces
  sshd <host> stop|start     stop/start a host's sshd (simulates the host going away)
  crash <host>               end every process of the host at once, as a crash does
  boot <host>                start a crashed host again (its files kept)
hosts: lab-a (10.77.0.11), lab-b (10.77.0.12), lab-c (10.77.0.13); ssh -F $SSH_CONFIG lab-a
EOF
}

cmd=${1:-}
[ $# -eq 0 ] || shift
case "$cmd" in
	up) cmd_up ;;
	down) cmd_down ;;
	status) cmd_status ;;
	env) cmd_env ;;
	exec) cmd_exec "$@" ;;
	sshd) cmd_sshd "$@" ;;
	crash) cmd_crash "$@" ;;
	boot) cmd_boot "$@" ;;
	__init) host_init "$@" ;;
	-h | --help | help) usage ;;
	*) usage >&2; exit 2 ;;
esac
