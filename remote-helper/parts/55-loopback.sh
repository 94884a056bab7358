# The first tree of a batch restored here must not reach a peer of another tree before that one
# is restored too: the kernel would reset the connection. TCP retransmits what is dropped.
nft_cmd() { as_criu_user nft "$@"; }

cmd_loopback_lock() {
	name=$1; shift
	case $name in '' | *[!A-Za-z0-9_-]*) die "bad lock name '$name'" ;; esac
	command -v nft >/dev/null 2>&1 || die "nft is missing on $(hostname), which keeping connections between processes that move needs; install nftables there"
	ports=$(printf '%s\n' "$@" | grep -E '^[0-9]+$' | paste -sd, -)
	[ -n "$ports" ] || die "loopback-lock: no ports"
	nft_cmd -f - <<EOF
table inet $name {
	chain output {
		type filter hook output priority 0; policy accept;
		ip daddr 127.0.0.0/8 tcp sport { $ports } tcp dport { $ports } drop
		ip6 daddr ::1 tcp sport { $ports } tcp dport { $ports } drop
	}
}
EOF
}

cmd_loopback_unlock() {
	case $1 in '' | *[!A-Za-z0-9_-]*) die "bad lock name '$1'" ;; esac
	nft_cmd delete table inet "$1" 2>/dev/null || true
}
