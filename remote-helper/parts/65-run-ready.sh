# Where the logs of programs started by run-ready go: private, as their output may be.
run_dir() { echo "${XDG_CACHE_HOME:-$HOME/.cache}/process-migrator/run"; }

cmd_run_ready() {
	cwd='' tmux_name=''
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
