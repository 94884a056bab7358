# Where files that exist only on the source are recreated when their directory is missing here.
files_dir() { echo "${XDG_CACHE_HOME:-$HOME/.cache}/process-migrator/files"; }

cmd_places() {
	echo "files_dir=$(files_dir)"
	while read -r path; do
		[ -n "$path" ] || continue
		if [ -d "$(dirname "$path")" ]; then printf '%s\tsame\n' "$path"; else printf '%s\tcache\n' "$path"; fi
	done
}

# Descriptors for CRIU's --inherit-fd. CRIU matches each `fd[N]:RESOURCE` to a file of the images
# by name and takes its descriptor N over at its start, so any N above 3 serves, one per resource.
# POSIX sh can only name descriptors 0-9, so it opens 4-9 itself; for more, a small opener that
# names any descriptor (bash, else perl) opens them all and runs the helper command again.
wide_opener() {
	if command -v bash >/dev/null 2>&1; then echo bash
	elif command -v perl >/dev/null 2>&1; then echo perl
	fi
}

# How many files `restore --file` can open here (CRIU needs the other descriptors).
inherit_fds_max() {
	[ -n "$(wide_opener)" ] || { echo 6; return 0; }
	n=$(ulimit -n 2>/dev/null)
	case $n in '' | *[!0-9]*) n=1024 ;; esac
	echo $((n > 128 ? n - 64 : 6))
}

# The opener, in each language: opens the `--file N PATH` (appending) and `--read N PATH`
# triples that follow the command's own arguments as descriptor N, then runs `sh HELPER ARGS…`.
# shellcheck disable=SC2016 # bash's, not ours
BASH_OPENER=@embedded/opener.bash@
# shellcheck disable=SC2016 # perl's
PERL_OPENER=@embedded/opener.pl@

# Opens each `--file N PATH` as descriptor N (N > 3) for CRIU's --inherit-fd; a missing file is
# created (empty), an existing one appended to. `--read N PATH` opens PATH for reading instead.
# Sets SHIFTED. Returns 1 when a descriptor above 9 needs the opener: `|| exec_opener CMD ARGS…`.
open_files() {
	SHIFTED=0 wide='' NEEDS_PERL=''
	while [ "${1:-}" = --file ] || [ "${1:-}" = --read ] || [ "${1:-}" = --socket ]; do
		mode=$1 n=${2:-} path=${3:-}
		case $n in '' | *[!0-9]* | 0* | [0-3]) die "descriptor '$n' for $path: not a number above 3" ;; esac
		case $mode$path in --socket-) ;; */*) ;; *) die "not an absolute path: $path" ;; esac
		if [ -n "${PROCMIG_FILES_OPEN:-}" ]; then
			[ -e "/proc/$$/fd/$n" ] || die "the opener did not open $path as descriptor $n on $(hostname)"
		else
			if [ "$mode" = --file ]; then
				mkdir -p "$(dirname "$path")" || die "cannot create the directory of $path on $(hostname)"
				# Under sudo, a new file is the user's, as it would be without.
				if [ -n "${PROCMIG_SUDO_USER:-}" ] && [ ! -e "$path" ]; then
					: >>"$path" && chown "$PROCMIG_SUDO_USER:" "$path" || die "cannot create $path on $(hostname)"
				fi
			fi
			# Only perl makes sockets: then the opener, perl's, opens them all.
			if [ "$mode" = --socket ]; then NEEDS_PERL=1 wide=1
			elif [ "$n" -gt 9 ]; then wide=1
			elif [ "$mode" = --read ]; then eval "exec $n<\"\$path\"" || die "cannot open $path on $(hostname)"
			else eval "exec $n>>\"\$path\"" || die "cannot open $path on $(hostname)"
			fi
		fi
		shift 3; SHIFTED=$((SHIFTED + 3))
	done
	unset PROCMIG_FILES_OPEN
	[ -z "$wide" ]
}

# Runs this helper's command CMD ARGS… again through the opener, with PROCMIG_FILES_OPEN set.
exec_opener() {
	PROCMIG_FILES_OPEN=1; export PROCMIG_FILES_OPEN
	if [ -n "$NEEDS_PERL" ]; then
		command -v perl >/dev/null 2>&1 || die "perl is missing on $(hostname), which cutting a connection to a process that stays needs; install perl there"
		exec perl -e "$PERL_OPENER" -- "$0" "$@"
	fi
	case $(wide_opener) in
	bash) exec bash -c "$BASH_OPENER" opener "$0" "$@" ;;
	perl) exec perl -e "$PERL_OPENER" -- "$0" "$@" ;;
	esac
	die "more than 6 files to open for CRIU and neither bash nor perl on $(hostname)"
}

# sudo closes every descriptor above 2, so CRIU through sudo would find none of the files opened
# for it: the restore commands run whole under sudo instead, files opened by root for the user.
restore_under_sudo() { # CMD ARGS…: returns only where no re-exec is needed
	[ -z "${PROCMIG_SUDO_USER:-}" ] || return 0
	find_privilege
	[ "$PRIVILEGE" = sudo ] || return 0
	exec sudo -n env PROCMIG_SUDO_USER="$(id -un)" PROCMIG_IMAGES_DIR="$IMAGES_BASE" sh "$0" "$@"
}

# Makes each `--mkfifo OWNER MODE PATH` and `--symlink OWNER TARGET PATH` that is missing here:
# names the process holds that carry no data (CRIU reopens them by path, and checks a FIFO's
# mode). Sets SHIFTED and MADE (the paths made, which unmake_nodes removes if the restore fails).
make_nodes() {
	SHIFTED=0 MADE=
	while [ "${1:-}" = --mkfifo ] || [ "${1:-}" = --symlink ]; do
		kind=$1 owner=$2 what=$3 path=$4
		case $path in /*) ;; *) die "not an absolute path: $path" ;; esac
		if [ ! -e "$path" ] && [ ! -L "$path" ]; then
			mkdir -p "$(dirname "$path")" || die "cannot create the directory of $path on $(hostname)"
			if [ "$kind" = --mkfifo ]; then mkfifo -m "$what" "$path" || die "cannot create the FIFO $path on $(hostname)"
			else ln -s "$what" "$path" || die "cannot create the symlink $path on $(hostname)"; fi
			chown -h "$owner" "$path" 2>/dev/null
			MADE="$MADE$path
"
		fi
		shift 4; SHIFTED=$((SHIFTED + 4))
	done
}

unmake_nodes() {
	printf '%s' "$MADE" | while IFS= read -r path; do rm -f "$path"; done
}

cmd_restore() {
	dir=$1; shift; in_images_base "$dir"
	restore_under_sudo restore "$dir" "$@"
	open_files "$@" || exec_opener restore "$dir" "$@"
	shift $SHIFTED
	make_nodes "$@"
	shift $SHIFTED
	rm -f "$dir/restore.pid" "$dir/restore.rc"
	if taken=$(taken_pid "$dir"); then
		restore_in_new_pid_namespace "$dir" "$@" || { unmake_nodes; return 1; }
		echo "taken=$taken"
		return 0
	fi
	run_criu restore -D "$dir" -d -o restore.log -v4 --pidfile "$dir/restore.pid" "$@"
	rc=$?
	if [ $rc -eq 0 ]; then echo "pid=$(cat "$dir/restore.pid")"; else log_errors "$dir/restore.log"; unmake_nodes; fi
	return $rc
}

# The first PID (or thread ID) of the dumped tree that a process here already uses: CRIU
# restores every task under its own ID, and one in use fails the restore ("File exists").
taken_pid() {
	for f in "$1"/core-*.img; do
		p=${f##*/core-}; p=${p%.img}
		case $p in '' | *[!0-9]*) continue ;; esac
		[ -d "/proc/$p" ] && { echo "$p"; return 0; }
	done
	return 1
}

# As criu-ns does: the tree gets a PID namespace of its own, where its IDs are free. CRIU runs
# in the foreground under the namespace's first process (a shell, which reaps orphans) and ends
# with the restored process; the namespace ends with them. Prints `pid=` (as this host sees it)
# and `nspid=` (inside).
restore_in_new_pid_namespace() {
	dir=$1; shift
	command -v unshare >/dev/null 2>&1 || die "PID $taken is in use on $(hostname) and there is no unshare (util-linux) to restore into a new PID namespace"
	find_privilege
	[ "$PRIVILEGE" != unprivileged ] || die "PID $taken is in use on $(hostname), and CRIU in unprivileged mode cannot restore into a new PID namespace; end that process or migrate as root"
	sudo=
	[ "$PRIVILEGE" = sudo ] && sudo='sudo -n'
	# shellcheck disable=SC2016 # expanded by the inner shell
	$sudo setsid unshare --pid --fork --mount-proc sh -c 'criu "$@"; echo $? >"$0/restore.rc"' "$dir" \
		restore -D "$dir" -o restore.log -v4 --pidfile "$dir/restore.pid" "$@" </dev/null >/dev/null 2>&1 &
	wait_restored "$dir" || return 1
	nspid=$(cat "$dir/restore.pid")
	pid=$(outer_pid "$dir" "$nspid")
	[ -n "$pid" ] || die "CRIU restored PID $nspid in a new PID namespace on $(hostname), but it could not be found from outside"
	echo "pid=$pid"
	echo "nspid=$nspid"
}

# Waits for the pidfile (restored) or restore.rc (CRIU gave up); on failure prints the log's errors.
wait_restored() {
	tries=0
	while [ ! -s "$1/restore.pid" ] && [ ! -f "$1/restore.rc" ]; do
		tries=$((tries + 1))
		[ $tries -gt 600 ] && die "CRIU did not finish restoring within 60 s on $(hostname)"
		sleep 0.1
	done
	[ -s "$1/restore.pid" ] && return 0
	log_errors "$1/restore.log"
	return 1
}

# The host's PID of the task that is NSPID inside a new PID namespace and descends from the
# restore from DIR (an ID inside a namespace may repeat across namespaces).
outer_pid() {
	dir=$1 nspid=$2
	for status in /proc/[0-9]*/status; do
		ids=$(sed -n 's/^NSpid:[[:space:]]*//p' "$status" 2>/dev/null)
		case $ids in *[[:space:]]"$nspid") ;; *) continue ;; esac
		# shellcheck disable=SC2086 # split into the IDs, outermost first
		set -- $ids
		[ $# -eq 2 ] || continue
		p=$1 up=0
		while [ $up -lt 3 ]; do
			up=$((up + 1))
			p=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$p/status" 2>/dev/null)
			[ -n "$p" ] && [ "$p" -gt 1 ] || break
			tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "-D $dir " && { echo "$1"; return 0; }
		done
	done
	return 1
}
