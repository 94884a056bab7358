# One command: the helper's argv, or a request of its session (serve).
dispatch() {
cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
caps) cmd_caps ;;
ps) cmd_ps ;;
inspect) cmd_inspect "$@" ;;
check-files) cmd_check_files ;;
stat-files) cmd_stat_files ;;
mkimages) cmd_mkimages ;;
page-server) cmd_page_server "$@" ;;
pre-dump) cmd_pre_dump "$@" ;;
dump-lazy) cmd_dump_lazy "$@" ;;
lazy-pages) cmd_lazy_pages "$@" ;;
dump) cmd_dump "$@" ;;
direct-client) cmd_direct_client "$@" ;;
direct-server) cmd_direct_server "$@" ;;
direct-tunnel) cmd_direct_tunnel "$@" ;;
images-in) cmd_images_in "$@" ;;
images-out) cmd_images_out "$@" ;;
direct-rm) cmd_direct_rm "$@" ;;
free-port) free_port ;;
tar-out) cmd_tar_out "$@" ;;
tar-in) cmd_tar_in "$@" ;;
tmpfs-stat) cmd_tmpfs_stat "$@" ;;
tmpfs-check) cmd_tmpfs_check ;;
tmpfs-out) cmd_tmpfs_out "$@" ;;
tmpfs-in) cmd_tmpfs_in "$@" ;;
tmpfs-rm) cmd_tmpfs_rm "$@" ;;
tmpfs-save) cmd_tmpfs_save "$@" ;;
tmpfs-place) cmd_tmpfs_place "$@" ;;
restore) cmd_restore "$@" ;;
restore-tty) cmd_restore_tty "$@" ;;
restore-fg) cmd_restore_fg "$@" ;;
places) cmd_places ;;
ptys)
	# shellcheck disable=SC2010 # the entries that are numbers: ptys, not ptmx
	ls /dev/pts 2>/dev/null | grep -E '^[0-9]+$' || true ;;
tty-attach) cmd_tty_attach "$@" ;;
tmux-kill) cmd_tmux_kill "$@" ;;
state) cmd_state "$@" ;;
started) cmd_started "$@" ;;
from-login) cmd_from_login "$@" ;;
verify) cmd_verify "$@" ;;
signal) cmd_signal "$@" ;;
signal-tree) cmd_signal_tree "$@" ;;
untrace) cmd_untrace "$@" ;;
listener) cmd_listener "$@" ;;
port-users) cmd_port_users "$@" ;;
rmimages) cmd_rmimages "$@" ;;
loopback-lock) cmd_loopback_lock "$@" ;;
loopback-unlock) cmd_loopback_unlock "$@" ;;
guard) cmd_guard "$@" ;;
run-ready) cmd_run_ready "$@" ;;
exec-ready) cmd_exec_ready "$@" ;;
host-state) cmd_host_state ;;
tree-use) cmd_tree_use "$@" ;;
link-rtt) cmd_link_rtt "$@" ;;
version) echo "helper_version=$PROCMIG_HELPER_VERSION" ;;
serve) cmd_serve ;;
*) die "procmig-helper: unknown command '$cmd'" ;;
esac
}

# Sourced mode, for tests (test/unit/helper-sourced.test.ts): `PROCMIG_HELPER_SOURCED=1 . HELPER`
# defines the functions and settings and runs no command, so its parsers run without root.
[ -z "${PROCMIG_HELPER_SOURCED:-}" ] || return 0

dispatch "$@"
# What follows in the built helper is the launcher, for perl -x (sh never runs it).
exit
