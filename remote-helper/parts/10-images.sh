# The base of this user's image directories, made private. A user's base lies in the shared
# /var/tmp, where someone else could have made it first: use it only if it is ours.
images_base() {
	mkdir -p "$IMAGES_BASE" && chmod 700 "$IMAGES_BASE" || die "cannot create $IMAGES_BASE on $(hostname)"
	[ "$(stat -c %u "$IMAGES_BASE")" = "$(id -u)" ] || die "$IMAGES_BASE on $(hostname) belongs to another user; remove it, or set PROCMIG_IMAGES_DIR"
}

in_images_base() {
	case $1 in "$IMAGES_BASE"/img.*) ;; *) die "refusing to touch $1: not an image directory" ;; esac
	case $1 in *..*) die "refusing to touch $1" ;; esac
}

cmd_mkimages() {
	images_base
	# Images hold process memory. A migration that lost this host mid-way (SSH gone) could not
	# delete its directory; no migration runs for hours, so sweep those left over.
	find "$IMAGES_BASE" -maxdepth 1 -type d -name 'img.*' -mmin +360 -exec rm -rf {} + 2>/dev/null
	# A terminal process's exit code waits for a tty-attach that may never come.
	find "$IMAGES_BASE" -maxdepth 1 -type f -name 'tty-exit.*' -mmin +360 -exec rm -f {} + 2>/dev/null
	d=$(mktemp -d "$IMAGES_BASE/img.XXXXXXXX") || die "cannot create an image directory in $IMAGES_BASE on $(hostname)"
	chmod 700 "$d"
	echo "dir=$d"
}

cmd_tar_out() { in_images_base "$1"; tar -C "$1" --exclude='*.log' --exclude='.ready' --exclude=./direct --exclude=./pages.sock -cf - .; }
cmd_tar_in() { in_images_base "$1"; tar -C "$1" -xf -; }

cmd_rmimages() {
	in_images_base "$1"
	[ -d "$1" ] || return 0
	as_criu_user rm -rf "$1"
}
