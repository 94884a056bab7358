# Protection (procmig protect): a process checkpointed on an interval while it runs, its images
# kept on a standby host. The standby keeps them in protect.* directories, apart from the
# migrations' img.*, so mkimages' 6-hour sweep never takes a live protection's checkpoints; each
# committed generation touches its directory, and one untouched for a day (its orchestrator went
# away) is swept like a migration's leftovers. Inside: gen.N, the newest complete checkpoint, and
# gen.N.partial while the next one arrives; the older generation goes once the new one is whole.
PROTECT_STALE_MIN=1440

in_protect_dir() {
	case $1 in "$IMAGES_BASE"/protect.*) ;; *) die "refusing to touch $1: not a protection directory" ;; esac
	case $1 in *..* | */*/*/*/*/*/*/*/*/*) die "refusing to touch $1" ;; esac
	case ${1#"$IMAGES_BASE"/} in */*) die "refusing to touch $1: not a protection directory" ;; esac
}

# Free KiB where DIR lies (what the checkpoints are counted against).
free_kib() { df -Pk "$1" 2>/dev/null | awk 'NR == 2 { print $4 }'; }

# checkpoint PID DIR ARGS…: criu dump --leave-running into DIR (an image directory made by
# mkimages): the tree is frozen while CRIU dumps it to this host's disk, then runs on. Prints
# CRIU's stats (frozen_us=, pages_written=, …) and kib= (the images' size).
cmd_checkpoint() {
	pid=$1 dir=$2; shift 2; in_images_base "$dir"
	mkdir -p "$dir" || die "cannot create $dir on $(hostname)"
	out=$(run_criu dump -t "$pid" -D "$dir" -o dump.log -v4 --leave-running --display-stats "$@")
	rc=$?
	[ $rc -eq 0 ] || { log_errors "$dir/dump.log"; return $rc; }
	record_terminal "$pid" "$dir" "$@"
	print_dump_stats "$out"
	echo "kib=$(du -sk "$dir" | cut -f1)"
}

# protect-new: a new private protection directory; prints dir= and free_kib=.
cmd_protect_new() {
	images_base
	find "$IMAGES_BASE" -maxdepth 1 -type d -name 'protect.*' -mmin +$PROTECT_STALE_MIN -exec rm -rf {} + 2>/dev/null
	d=$(mktemp -d "$IMAGES_BASE/protect.XXXXXXXX") || die "cannot create a protection directory in $IMAGES_BASE on $(hostname)"
	chmod 700 "$d"
	echo "dir=$d"
	echo "free_kib=$(free_kib "$d")"
}

# protect-gen DIR N: the directory generation N arrives in (gen.N.partial, emptied of any
# earlier partial one); prints dir= and free_kib= (left beside the generations kept).
cmd_protect_gen() {
	in_protect_dir "$1"
	case $2 in '' | *[!0-9]*) die "generation '$2' is not a number" ;; esac
	[ -d "$1" ] || die "the protection directory $1 is gone from $(hostname)"
	for p in "$1"/gen.*.partial; do [ -d "$p" ] && as_criu_user rm -rf "$p"; done
	mkdir -m 700 "$1/gen.$2.partial" || die "cannot create $1/gen.$2.partial on $(hostname)"
	echo "dir=$1/gen.$2.partial"
	echo "free_kib=$(free_kib "$1")"
}

# protect-commit DIR N: generation N is complete: it becomes gen.N and every other generation
# goes. Prints dir= and kib= (what the protection holds now).
cmd_protect_commit() {
	in_protect_dir "$1"
	case $2 in '' | *[!0-9]*) die "generation '$2' is not a number" ;; esac
	[ -d "$1/gen.$2.partial" ] || die "generation $2 did not arrive in $1 on $(hostname)"
	mv "$1/gen.$2.partial" "$1/gen.$2" || die "cannot complete generation $2 in $1 on $(hostname)"
	for g in "$1"/gen.*; do [ "$g" = "$1/gen.$2" ] || as_criu_user rm -rf "$g"; done
	touch "$1"
	echo "dir=$1/gen.$2"
	echo "kib=$(du -sk "$1" | cut -f1)"
}

# protect-end DIR: deletes the protection's checkpoints (they hold process memory).
cmd_protect_end() {
	in_protect_dir "$1"
	[ -d "$1" ] || return 0
	as_criu_user rm -rf "$1"
}

# protect-probe PID: `state=` (as `state`) and `start=` (its start time in clock ticks since
# boot): with the PID it tells the protected process from a later one that got its PID.
cmd_protect_probe() {
	echo "state=$(cmd_state "$1")"
	echo "start=$(sed 's/^[0-9]* (.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20)"
}
