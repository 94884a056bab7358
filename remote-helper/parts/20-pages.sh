# Memory pages travel between the CRIUs over one unix-socket connection, never a TCP port: a
# TCP port on loopback is open to every local user of a shared host, and CRIU's page server
# authenticates nobody, so another user could read the memory being moved or feed pages into
# the process being restored. A unix socket inside an image directory (0700) is reachable by its
# owner and root only; OpenSSH forwards such sockets (`ssh -L path:path`), and CRIU takes a
# connected descriptor instead of an address (`--ps-socket FD`). POSIX sh can neither connect
# nor accept, so a few lines of perl (Debian's perl-base is essential), else python3, do it and
# then run CRIU with the connection as its stdin: descriptor 0, which sudo passes on.
#
#   on_socket connect S CMD…     runs CMD with stdin connected to the unix socket S
#   on_socket accept S CMD…      listens at S, prints `listening PID`, takes one connection,
#                                removes S and runs CMD on it
#   on_socket accept-go S CMD…   the same, but runs CMD only once its stdin says `go`
# It replaces the calling (sub)shell, so PID is CMD's.
# shellcheck disable=SC2016 # perl's
SOCKET_PERL=@embedded/socket.pl@
SOCKET_PY=@embedded/socket.py@

socket_tool() {
	if command -v perl >/dev/null 2>&1; then echo perl
	elif command -v python3 >/dev/null 2>&1; then echo python3
	fi
}

on_socket() {
	in_images_base "$2"
	[ ${#2} -lt 108 ] || die "the socket path $2 is too long for a unix socket (107 bytes at most)"
	case $(socket_tool) in
	perl) exec perl -e "$SOCKET_PERL" -- "$@" ;;
	python3) exec python3 -c "$SOCKET_PY" "$@" ;;
	esac
	die "there is neither perl nor python3 on $(hostname), and CRIU gets its page connection through one of them; install perl there"
}

# The leading `--pages S` of a dump command: sets PAGES, the socket that reaches the page server.
pages_option() {
	[ "${1:-}" = --pages ] && [ -n "${2:-}" ] || die "expected --pages SOCKET"
	in_images_base "$2"
	PAGES=$2
}

# Runs CRIU ARGS… in the foreground; with PAGES set, its pages go to the page server there.
criu_pages() {
	need_criu
	# shellcheck disable=SC2086 # criu's words
	if [ -z "${PAGES:-}" ]; then $CRIU_CMD "$@"; else (on_socket connect "$PAGES" $CRIU_CMD "$@" --page-server --ps-socket 0); fi
}

# Starts CRIU ARGS… in the background on the page connection (on_socket MODE S) and returns
# once CRIU wrote its readiness byte to --status-fd (it serves, or its dump is done); fails if
# CRIU exited first. Sets CRIU_PID; the caller waits for it.
start_criu_ready() {
	dir=$1 mode=$2 sock=$3; shift 3
	ready=$dir/.ready
	rm -f "$ready"; mkfifo "$ready"
	need_criu
	# A subshell that execs on_socket, which execs CRIU: $! is CRIU's PID, so stopping it (kill
	# $CRIU_PID) leaves no CRIU orphaned. Its stdin is ours (an asynchronous list's would be
	# /dev/null): accept-go reads `go` there.
	exec 4<&0
	# shellcheck disable=SC2086 # criu's words
	(on_socket "$mode" "$sock" $CRIU_CMD "$@" --status-fd 3) 3>"$ready" <&4 &
	CRIU_PID=$!
	exec 4<&-
	# One NUL byte once ready; end of file if CRIU exits before that.
	got=$(head -c 1 "$ready" | od -An -c | tr -d ' ')
	rm -f "$ready"
	[ "$got" = '\0' ]
}

finish_criu() {
	wait "$CRIU_PID"; rc=$?
	[ $rc -eq 0 ] || log_errors "$1"
	return $rc
}

cmd_page_server() {
	dir=$1; shift; in_images_base "$dir"
	sock='' parent=''
	while [ $# -gt 0 ]; do
		case $1 in
		--parent) parent=$2 ;;
		--socket) sock=$2 ;;
		*) die "page-server: unknown option $1" ;;
		esac
		shift 2
	done
	[ -n "$sock" ] || die "page-server: --socket S is missing"
	mkdir -p "$dir" || die "cannot create $dir on $(hostname)"
	set -- page-server -D "$dir"
	if [ -n "$parent" ]; then
		check_round_name "$parent"
		# Relative, as CRIU's own parent links are: the rounds travel as one tree.
		set -- "$@" --prev-images-dir "../$parent"
	fi
	need_criu
	# shellcheck disable=SC2086 # criu's words
	(on_socket accept "$sock" $CRIU_CMD "$@" --ps-socket 0 -o page-server.log -v4)
	rc=$?
	[ $rc -eq 0 ] || log_errors "$dir/page-server.log"
	return $rc
}

check_round_name() { case $1 in '' | *[!A-Za-z0-9_-]*) die "bad round directory name '$1'" ;; esac; }
