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
# shellcheck disable=SC2016 # perl's
PTY_AT=@embedded/pty-at.pl@

# Runs inside the tmux pane: CRIU stays in the foreground as the restored process's parent, and
# the process gets the pane's pty as its terminal, as MODE (terminal_mode, from restore-tty) says. The exit code lands in restore.rc.
# CRIU itself reaps the process without a word, so where perl is (Debian's perl-base is
# essential) CRIU execs a perl that waits for it: then the exit code is the process's, and
# tty-attach passes it on through $IMAGES_BASE/tty-exit.SESSION.
cmd_restore_fg() { # DIR SESSION MODE ARGS…
	dir=$1 session=$2 mode=$3; shift 3; in_images_base "$dir"
	restore_under_sudo restore-fg "$dir" "$session" "$mode" "$@"
	open_files "$@" || exec_opener restore-fg "$dir" "$session" "$mode" "$@"
	shift $SHIFTED
	make_nodes "$@"
	shift $SHIFTED
	case $mode in ext\ *)
		exec 3<>"$(tty)" || die "cannot open the terminal of tmux session $session on $(hostname)"
		set -- "$@" --inherit-fd "fd[3]:${mode#ext }" ;;
	esac
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
	set -- tmux new-session -d -s "$session" -x 120 -y 40 sh "$0" restore-fg "$dir" "$session" "$mode" "$@"
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

# A tmux session this helper made: procmig-…, a name that is also safe in a file name.
our_session() { case $1 in procmig-*[!A-Za-z0-9_-]* | procmig-) return 1 ;; procmig-*) return 0 ;; *) return 1 ;; esac; }

# Runs on a pty of the caller's (ssh -t): shows the session's terminal until the process ends,
# then exits with its exit code; when the client was detached instead, says so and exits 0.
cmd_tty_attach() {
	our_session "$1" || die "refusing to attach to tmux session $1"
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
	our_session "$1" || die "refusing to end tmux session $1"
	tmux kill-session -t "=$1" 2>/dev/null
	rm -f "$IMAGES_BASE/tty-exit.$1"
	return 0
}
