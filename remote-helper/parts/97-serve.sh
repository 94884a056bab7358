# serve: helper commands one after another over one channel, so that a move does not start an
# SSH session, sh and the helper for each step (src/helper/helperSession.ts is the other end).
# Prints `procmig-serve 1` once ready. A request: a line `N LEN`, then N arguments, each a line
# with its length in bytes and then that many bytes, then LEN bytes of stdin. Its response: a
# line `STATUS OUTLEN ERRLEN`, then that many bytes of stdout, then of stderr. Lengths, not
# delimiters, so any bytes pass. Each request runs in a subshell: its `die` (exit) ends the
# request, not the loop; the loop ends at end of input (the channel closed).
cmd_serve() {
	serve_dir=$(mktemp -d "${TMPDIR:-/tmp}/procmig-serve.XXXXXX") || die "cannot make a scratch directory for the helper session on $(hostname)"
	trap 'rm -rf "$serve_dir"' EXIT
	trap 'exit 0' HUP TERM
	echo "procmig-serve 1"
	while read -r serve_n serve_len; do
		# A malformed request: the other end is not ours, or lost count; nothing sane follows.
		case "$serve_n:$serve_len" in *[!0-9:]* | :* | *:) die "procmig-helper serve: malformed request" ;; esac
		set --
		while [ "$serve_n" -gt 0 ]; do
			read -r serve_alen || exit 0
			case $serve_alen in '' | *[!0-9]*) die "procmig-helper serve: malformed request" ;; esac
			# head -c reads no byte beyond its count, so the next field stays in stdin.
			serve_arg=$(head -c "$serve_alen"; echo x)
			set -- "$@" "${serve_arg%x}"
			serve_n=$((serve_n - 1))
		done
		head -c "$serve_len" >"$serve_dir/in"
		(dispatch "$@") <"$serve_dir/in" >"$serve_dir/out" 2>"$serve_dir/err"
		serve_status=$?
		printf '%s %s %s\n' "$serve_status" "$(($(wc -c <"$serve_dir/out")))" "$(($(wc -c <"$serve_dir/err")))"
		cat "$serve_dir/out" "$serve_dir/err"
	done
}

