# The helper's session: one long-lived SSH channel that runs many commands, so a short command
# costs a line on an open channel instead of an SSH exec, a login shell and this script parsed
# again (about 40 ms each, and a migration runs some fifteen). Commands run concurrently, each
# in a subshell of its own, as `sh HELPER CMD` would run it.
#   stdin:  `in ID BASE64`  a chunk of request ID's stdin (base64, no newline inside; any number)
#           `run ID WORD…`  runs the command whose argv is the WORDs, quoted for sh
#   stdout: `ready VERSION` once, then for each request that ended
#           `reply ID CODE OUT ERR` followed by OUT bytes of its stdout and ERR of its stderr
# Only the client (our SSH channel) writes to stdin, and it quotes every word it sends.
cmd_serve() {
	serve_dir=$(mktemp -d "${TMPDIR:-/tmp}/procmig-serve.XXXXXX") || die "cannot make a private directory for the helper session on $(hostname)"
	mkfifo "$serve_dir/ended" || die "cannot make a fifo in $serve_dir on $(hostname)"
	# Read and written on one descriptor: a request that ends writes its line (under PIPE_BUF, so
	# whole) and never blocks, whether or not the reply writer has caught up.
	exec 4<>"$serve_dir/ended"
	serve_replies <&4 &
	writer=$!
	printf 'ready %s\n' "$PROCMIG_HELPER_VERSION"
	while IFS= read -r line; do
		verb=${line%% *} rest=${line#* }
		id=${rest%% *} words=${rest#"$id"}
		case $id in '' | *[!0-9]*) continue ;; esac
		case $verb in
		in) printf '%s\n' "${words# }" >>"$serve_dir/$id.b64" ;;
		run) serve_run "$id" "$words" & ;;
		esac
	done
	# The channel closed (done, or this machine went away). Requests still running finish (a
	# dump, say: the guard undoes it if need be); their replies have no reader.
	kill "$writer" 2>/dev/null
	wait
	rm -rf "$serve_dir"
}

# Request $1 with argv $2 (sh words): runs it in a subshell, where `die` and `exit` end only it.
serve_run() {
	input=/dev/null
	if [ -f "$serve_dir/$1.b64" ]; then
		base64 -d <"$serve_dir/$1.b64" >"$serve_dir/$1.in" && input=$serve_dir/$1.in
	fi
	eval "set -- $1 $2"
	id=$1
	shift
	# $$ is the session's in every request: PROCMIG_REQUEST tells concurrent ones apart.
	(PROCMIG_REQUEST=$id dispatch "$@") <"$input" >"$serve_dir/$id.out" 2>"$serve_dir/$id.err" 4>&-
	echo "$id $?" >&4
}

# The one writer of stdout: a reply's header and bytes are never interleaved with another's.
serve_replies() {
	while read -r id code; do
		# shellcheck disable=SC2046 # two sizes, one word each
		set -- $(stat -c %s "$serve_dir/$id.out" "$serve_dir/$id.err")
		printf 'reply %s %s %s %s\n' "$id" "$code" "$1" "$2"
		cat "$serve_dir/$id.out" "$serve_dir/$id.err"
		rm -f "$serve_dir/$id.out" "$serve_dir/$id.err" "$serve_dir/$id.in" "$serve_dir/$id.b64"
	done
}
