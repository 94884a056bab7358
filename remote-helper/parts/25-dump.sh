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
	# A checkpoint for a standby (protect) passes --leave-running instead: the process runs on.
	stay=--leave-stopped
	case " $* " in *' --leave-running '*) stay= ;; esac
	# shellcheck disable=SC2086 # $stay: one word or none
	out=$(criu_pages dump -t "$pid" -D "$dir" -o dump.log -v4 $stay "$@")
	rc=$?
	if [ $rc -eq 0 ]; then record_terminal "$pid" "$dir" "$@"; else log_errors "$dir/dump.log"; fi
	# Pre-copy's final dump asks for --display-stats.
	case $out in *'Memory pages written'*) print_dump_stats "$out" ;; esac
	return $rc
}
