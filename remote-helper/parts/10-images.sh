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

# tar-out [--on-go] DIR: with --on-go it is started before the freeze and sends once stdin says
# `go` (the dump is done), so the frozen process does not wait for its SSH channel; a stdin
# that ends without it (a rollback) sends nothing.
cmd_tar_out() {
	if [ "$1" = --on-go ]; then
		shift
		read -r go || exit 1
		[ "$go" = go ] || exit 1
	fi
	in_images_base "$1"
	tar -C "$1" --exclude='*.log' --exclude='.ready' --exclude=./direct --exclude=./pages.sock -cf - .
}
# Into DIR, made if need be: it may be opened before the dump makes it (pre-copy's last round).
cmd_tar_in() { in_images_base "$1"; mkdir -p "$1" && tar -C "$1" -xf -; }

# rmimages [--memory] DIR: with --memory, once the process was restored from them, the images
# (its memory) go but the directory stays with the list of tmpfs files placed for it, which a
# rollback or the guard needs until the commit.
cmd_rmimages() {
	if [ "$1" = --memory ]; then
		shift; in_images_base "$1"
		[ -d "$1" ] || return 0
		as_criu_user find "$1" -mindepth 1 -maxdepth 1 ! -name .tmpfs-placed -exec rm -rf {} +
		return
	fi
	in_images_base "$1"
	[ -d "$1" ] || return 0
	as_criu_user rm -rf "$1"
}
