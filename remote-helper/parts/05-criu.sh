# How CRIU runs here, as PRIVILEGE (set by find_privilege, once per run) and CRIU_CMD:
#   root          we are root;
#   sudo          passwordless sudo (-n: a password prompt on a remote host would hang the
#                 migration), where root may read other users' limits (CAP_SYS_RESOURCE);
#   unprivileged  CRIU's --unprivileged mode as this user, with a criu that has the file
#                 capabilities for it: it checkpoints only this user's own processes, but needs
#                 no root at all;
#   sudo          as a last resort where root lacks CAP_SYS_RESOURCE: CRIU then cannot read the
#                 limits of this user's processes (caps reports sudo_rlimits=0);
#   none          neither: caps says so and the preflight names what to configure.
PRIVILEGE='' CRIU_CMD='' SUDO_RLIMITS=''
find_privilege() {
	[ -z "$PRIVILEGE" ] || return 0
	PRIVILEGE=none CRIU_CMD=criu SUDO_RLIMITS=
	if [ "$(id -u)" -eq 0 ]; then PRIVILEGE=root; return 0; fi
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		# CAP_SYS_RESOURCE is bit 24 of root's effective capabilities.
		eff=$(sudo -n sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status 2>/dev/null)
		SUDO_RLIMITS=$(( (0x${eff:-0} >> 24) & 1 ))
		if [ "$SUDO_RLIMITS" -eq 1 ]; then PRIVILEGE=sudo CRIU_CMD='sudo -n criu'; return 0; fi
	fi
	for c in "$UNPRIVILEGED_CRIU" "$(command -v criu)"; do
		[ -n "$c" ] && [ -x "$c" ] || continue
		if "$c" check --unprivileged >/dev/null 2>&1; then PRIVILEGE=unprivileged CRIU_CMD="$c --unprivileged"; return 0; fi
	done
	if [ -n "$SUDO_RLIMITS" ]; then PRIVILEGE=sudo CRIU_CMD='sudo -n criu'; fi
}

# Sets CRIU_CMD to CRIU with the privilege it needs (words for a simple command: sudo relays
# signals to it), or fails.
need_criu() {
	find_privilege
	[ "$PRIVILEGE" != none ] || die "CRIU cannot run on $(hostname) as $(id -un): it needs root, passwordless sudo, or a criu with the capabilities of its unprivileged mode (procmig setup $(hostname))"
}

run_criu() {
	need_criu
	# shellcheck disable=SC2086 # the command's words
	$CRIU_CMD "$@"
}

# What runs as root for CRIU's sake (nft, removing root's images): through sudo when CRIU does.
# The criu program the helper runs (sudo's target when it goes through sudo), and its version.
criu_bin() {
	b=${CRIU_CMD%% *}
	[ "$b" != sudo ] || b=criu
	echo "$b"
}
criu_version() {
	"$(criu_bin)" --version 2>/dev/null | sed -n 's/^Version: *//p'
}

as_criu_user() {
	find_privilege
	case $PRIVILEGE in sudo) sudo -n "$@" ;; *) "$@" ;; esac
}


# The last error lines of a CRIU log, for the caller to turn into one sentence.
log_errors() {
	[ -f "$1" ] || return 0
	grep -E 'Error|error|Warn.*(fail|Can.t)' "$1" | grep -v 'RLIMIT_NOFILE' | tail -n 12 | sed 's/^/criu-log: /' >&2
}
