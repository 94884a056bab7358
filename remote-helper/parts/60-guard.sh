# The host's half of "nothing is lost" when the orchestrator cannot roll back: it died, or its
# connection dropped, while the source was frozen or a restored copy was not yet committed. Its
# stdin is the orchestrator's channel; the end of it without `done` undoes what it was told:
# a frozen source tree resumes (or, once told `committed`, when the destination runs the process
# for good, is killed), a restored copy ends, image directories (process memory) and the tmpfs
# files carried with them go.
cmd_guard() {
	trap '' HUP PIPE INT
	set -f
	tree='' restored='' session='' images='' locks='' tmpfs='' committed=''
	while IFS= read -r line; do
		# shellcheck disable=SC2086 # words of the line
		set -- $line
		case ${1:-} in
		tree) shift; tree="$tree $*" ;;
		restored) restored=${2:-} session=${3:-} ;;
		images) case ${2:-} in "$IMAGES_BASE"/img.*) images="$images $2" ;; esac ;;
		lock) locks="$locks ${2:-}" ;;
		tmpfs) case ${2:-} in "$IMAGES_BASE"/img.*) tmpfs="$tmpfs $2" ;; esac ;;
		# The destination runs the process for good: the frozen tree here is to end, not resume.
		committed) committed=1 ;;
		done) return 0 ;;
		esac
	done
	[ -n "$restored" ] && cmd_signal_tree KILL "$restored"
	# A dump still running would leave the tree stopped after we resumed it: CRIU goes first.
	for dir in $images; do stop_criu_in "$dir"; done
	# shellcheck disable=SC2086
	if [ -n "$tree" ]; then
		if [ -n "$committed" ]; then cmd_signal_tree KILL $tree; else cmd_signal_tree CONT $tree; fi
	fi
	case $session in procmig-*) tmux kill-session -t "=$session" 2>/dev/null ;; esac
	for name in $locks; do (cmd_loopback_unlock "$name"); done
	# After the copy that used them has ended; before the image directory that lists them goes.
	for dir in $tmpfs; do (cmd_tmpfs_rm "$dir"); done
	for dir in $images; do cmd_rmimages "$dir"; done
	return 0
}

# Ends the CRIU processes working in DIR (TERM, then KILL after 5 s) and waits for them.
stop_criu_in() {
	# A pre-copy round works in a directory inside DIR. CRIU may still be an on_socket waiting
	# for its connection (perl or python3 with the CRIU command line as arguments), or sudo's.
	pids=$(ps -eo pid=,args= | awk -v d="-D $1" '/[ \/]criu / && (index($0 " ", " " d " ") || index($0, " " d "/")) { print $1 }')
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	cmd_signal TERM $pids
	tries=0
	for p in $pids; do
		while [ -d "/proc/$p" ] && [ $tries -lt 50 ]; do tries=$((tries + 1)); sleep 0.1; done
	done
	# shellcheck disable=SC2086
	cmd_signal KILL $pids
}
