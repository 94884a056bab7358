# Per-host state: files on tmpfs (POSIX shared memory in /dev/shm, /run/user/UID) that the tree
# maps or holds open. CRIU expects them at the same path when it restores, and checks their size
# and mode, so they travel in a tar stream of their own (sparse: a shared block is often mostly
# holes), owner and mode kept, straight into place: no copy anywhere else on the way.

# A file this helper may carry or remove: an absolute path without `..`, a regular file (not a
# symlink) on tmpfs. Dies with a sentence otherwise.
tmpfs_file() {
	case $1 in /*) ;; *) die "not an absolute path: $1" ;; esac
	case $1 in *..*) die "refusing to touch $1" ;; esac
	[ -f "$1" ] && [ ! -L "$1" ] || die "$1 is not a regular file on $(hostname)"
	[ "$(stat -f -c %T -- "$1" 2>/dev/null)" = tmpfs ] || die "refusing to touch $1 on $(hostname): not on tmpfs"
}

# Every process's open and mapped files, as `PID<TAB>path` lines: the tree's tmpfs files must
# not be shared with a process that stays behind.
file_users() {
	{
		find /proc/[0-9]*/fd -maxdepth 1 -type l -printf '%h\t%l\n' 2>/dev/null
		awk '{ line = $0; for (i = 0; i < 5; i++) sub(/^[^ ]+ +/, "", line)
			if (line ~ /^\//) print FILENAME "\t" line }' /proc/[0-9]*/maps 2>/dev/null
	} | awk -F '\t' -v OFS='\t' '{ split($1, p, "/"); print p[3], $2 }'
}

cmd_tmpfs_stat() {
	tree=" $* "
	users=$(file_users | sort -u)
	while IFS= read -r path; do
		[ -n "$path" ] || continue
		# Gone: deleted since (CRIU carries a deleted file itself, as a ghost file).
		if [ ! -f "$path" ] || [ -L "$path" ]; then printf '%s\tgone\n' "$path"; continue; fi
		st=$(stat -c '%s %b %B %a %u %g' -- "$path") || { printf '%s\tgone\n' "$path"; continue; }
		# shellcheck disable=SC2086 # the fields
		set -- $st
		printf '%s\tfile\t%s\t%s\t%s\t%s\t%s\n' "$path" "$1" "$(($2 * $3))" "$4" "$5" "$6"
		printf '%s\n' "$users" | awk -F '\t' -v p="$path" '$2 == p { print $1 }' | sort -un | while read -r user; do
			case $tree in *" $user "*) continue ;; esac
			printf 'sharer\t%s\t%s\t%s\n' "$path" "$user" "$(cat "/proc/$user/comm" 2>/dev/null)"
		done
	done
}

cmd_tmpfs_check() {
	while IFS= read -r path; do
		[ -n "$path" ] || continue
		dir=$(dirname -- "$path")
		if [ -e "$path" ] || [ -L "$path" ]; then printf '%s\texists\n' "$path"
		elif [ ! -d "$dir" ]; then printf '%s\tno-dir\n' "$path"
		elif fs=$(stat -f -c %T -- "$dir" 2>/dev/null) && [ "$fs" != tmpfs ]; then printf '%s\tnot-tmpfs\t%s\n' "$path" "$fs"
		else printf '%s\tfree\t%s\n' "$path" "$(df -Pk -- "$dir" | awk 'NR == 2 { print $4 "\t" $6 }')"
		fi
	done
}

cmd_tmpfs_out() {
	for f in "$@"; do tmpfs_file "$f"; done
	# Relative to /, as tmpfs-in extracts them; numeric owners: the same IDs on both hosts.
	for f in "$@"; do printf '%s\n' "${f#/}"; done | tar -C / --sparse --numeric-owner --no-recursion -cf - -T -
}

cmd_tmpfs_in() {
	dir=$1; shift; in_images_base "$dir"
	placed=$dir/.tmpfs-placed
	for f in "$@"; do
		case $f in /*) ;; *) die "not an absolute path: $f" ;; esac
		case $f in *..*) die "refusing to write $f" ;; esac
		[ -e "$f" ] || [ -L "$f" ] && die "$f already exists on $(hostname), so the process's copy cannot be put there without overwriting it; remove it there if nothing uses it, and retry."
		[ "$(stat -f -c %T -- "$(dirname -- "$f")" 2>/dev/null)" = tmpfs ] || die "refusing to write $f on $(hostname): its directory is not on tmpfs"
	done
	# Recorded before they exist, so that a rollback or the guard removes what a cut stream left.
	printf '%s\n' "$@" >>"$placed" || die "cannot write $placed on $(hostname)"
	for f in "$@"; do printf '%s\n' "${f#/}"; done >"$dir/.tmpfs-members"
	# --keep-old-files: one created meanwhile by another process is left alone (and not listed).
	tar -C / -xpf - --same-owner --numeric-owner --keep-old-files -T "$dir/.tmpfs-members" 2>"$dir/.tmpfs-in.err"
	rc=$?
	rm -f "$dir/.tmpfs-members"
	[ $rc -eq 0 ] && { rm -f "$dir/.tmpfs-in.err"; return 0; }
	sed -n 's|^tar: \(.*\): Cannot open: File exists$|/\1|p' "$dir/.tmpfs-in.err" | while IFS= read -r kept; do
		grep -vxF -- "$kept" "$placed" >"$placed.new"; mv "$placed.new" "$placed"
	done
	why=$(grep -v '^tar: Exiting' "$dir/.tmpfs-in.err" | tail -n 1)
	rm -f "$dir/.tmpfs-in.err"
	die "${why:-tar exited with $rc}"
}

cmd_tmpfs_rm() {
	if [ "${1:-}" = -- ]; then
		shift
		for f in "$@"; do
			[ -e "$f" ] || [ -L "$f" ] || continue
			tmpfs_file "$f" && rm -f -- "$f"
		done
		return 0
	fi
	in_images_base "$1"
	placed=$1/.tmpfs-placed
	[ -f "$placed" ] || return 0
	while IFS= read -r f; do
		# Checked as when placed: never follow a symlink put there since.
		[ -f "$f" ] && [ ! -L "$f" ] && [ "$(stat -f -c %T -- "$f" 2>/dev/null)" = tmpfs ] && rm -f -- "$f"
	done <"$placed"
	rm -f "$placed"
}

# A standby's checkpoint keeps the tree's tmpfs files beside its images instead of in place
# (there they would stand for a process that is not there yet): tmpfs-save DIR PATH… writes them
# to DIR/tmpfs.tar (while the tree is frozen, so they match its memory) and their paths to
# DIR/tmpfs.paths; tmpfs-place DIR puts them in place before the restore, as tmpfs-in would
# (recorded for tmpfs-rm DIR, never overwriting).
cmd_tmpfs_save() {
	dir=$1; shift; in_images_base "$dir"
	printf '%s\n' "$@" >"$dir/tmpfs.paths" || die "cannot write $dir/tmpfs.paths on $(hostname)"
	(cmd_tmpfs_out "$@") >"$dir/tmpfs.tar" || die "cannot save $* into $dir on $(hostname)"
}

cmd_tmpfs_place() {
	dir=$1; in_images_base "$dir"
	[ -f "$dir/tmpfs.paths" ] || return 0
	set --
	while IFS= read -r path; do set -- "$@" "$path"; done <"$dir/tmpfs.paths"
	cmd_tmpfs_in "$dir" "$@" <"$dir/tmpfs.tar"
}
