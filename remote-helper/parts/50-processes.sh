cmd_state() {
	s=$(sed 's/^[0-9]* (.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	case $s in
	'') echo gone ;;
	T|t) echo stopped ;;
	Z|X|x) echo zombie ;;
	*) echo running ;;
	esac
}

# This boot of the host, and when process $1 started in it (clock ticks after boot) or `gone`:
# with its PID, who it is, so a PID reused after a crash and a boot is not taken for it.
cmd_started() {
	t=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20)
	echo "$(cat /proc/sys/kernel/random/boot_id) ${t:-gone}"
}

# Of the PIDs given, those started from a login: a remote one (SSH_CONNECTION), a desktop or
# console session (XDG_SESSION_ID), or an editor's terminal (TERM_PROGRAM). A system service,
# started by init, has none of these: evacuating a host moves your work, not its daemons.
cmd_from_login() {
	for p in "$@"; do
		tr '\000' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qE '^(SSH_CONNECTION|XDG_SESSION_ID|TERM_PROGRAM)=' && echo "$p"
	done
	return 0
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
	# shellcheck disable=SC2046 # one PID a line
	cmd_signal "$sig" $(descendants "$root") "$@"
}

# The lowest PID holding socket INODE (the first process that opened it, before any fork);
# nothing when none does.
socket_holder() {
	fd=$(find /proc/[0-9]*/fd -maxdepth 1 -lname "socket:\\[$1\\]" 2>/dev/null | sort -t/ -k3,3n | head -n 1)
	[ -n "$fd" ] || return 1
	fd=${fd#/proc/}
	echo "${fd%%/*}"
}

# Whose descriptor the listening socket of TCP PORT is: its inode from /proc/net/tcp*, then the
# process holding that inode.
cmd_listener() {
	hex=$(printf '%04X' "$1")
	# shellcheck disable=SC2013 # inodes are numbers, one word each
	for inode in $(awk -v p=":$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null); do
		pid=$(socket_holder "$inode") || continue
		echo "pid=$pid"
		return 0
	done
	return 0
}

# The TCP sockets here whose local port is one of PORT…, as `inspect` prints them (`net.tcp` and
# `net.tcp6` lines), and for each listening one the process holding it: `holder INODE PID NAME`.
# A restored listener binds its port again, which such a socket can keep it from.
cmd_port_users() {
	[ $# -gt 0 ] || return 0
	for t in tcp tcp6; do
		awk -v ports=" $* " -v t="$t" 'FNR > 1 { split($2, a, ":"); if (index(ports, " " (("0x" a[2]) + 0) " ")) print "net." t "\t" $0 }' "/proc/net/$t" 2>/dev/null
	done | while IFS= read -r line; do
		printf '%s\n' "$line"
		# shellcheck disable=SC2086 # the line's fields, split
		set -- $line
		[ "$5" = 0A ] || continue
		pid=$(socket_holder "${11}") || continue
		# Its program's name, as the user started it: comm names the main thread, which Node.js
		# renames (MainThread).
		name=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1)
		name=${name##*/}
		printf 'holder\t%s\t%s\t%s\n' "${11}" "$pid" "${name:-$(cat "/proc/$pid/comm" 2>/dev/null)}"
	done
	return 0
}

# Which task traces a thread of PID now (empty: none).
tracer_of() { awk '/^TracerPid:/ && $2 != 0 { print $2; exit }' /proc/"$1"/task/*/status 2>/dev/null; }

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
