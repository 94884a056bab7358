# Direct transfer. Memory relayed through the orchestrator crosses two SSH links and a
# user-space process there; instead the host whose CRIU connects (the client) runs OpenSSH's
# `ssh -L` straight to a private sshd started on the other host (the server) for this migration
# only. Both keys are made where they are used and only their public halves travel, over the
# orchestrator's verified connections: the server accepts that one client key (from the
# client's address), for nothing but forwards to unix sockets and no shell; the client trusts
# that one host key. Both end with the migration, or when the orchestrator's channel closes
# (stdin ends); the keys are deleted with the image directory. The sshd listens on TCP, as it
# must to be reached from the other host, but lets in nobody without the client's key, and that
# key may open the server's one page socket only: OpenSSH matches a unix socket's path against
# PermitOpen's host, written `[PATH]:*`, so no TCP destination matches it.

# A TCP port nobody listens on here (per /proc/net/tcp*), for a server started shortly after.
# A caller that retries after a clash passes its attempt number, so that a retry within the same
# second (srand's seed) draws other ports; so do the concurrent requests of one session.
free_port() {
	used=" $(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk 'NR > 1 && $4 == "0A" { split($2, a, ":"); printf "%d ", ("0x" a[2]) + 0 }') "
	tries=0
	while :; do
		tries=$((tries + 1))
		port=$(awk -v s="$$${PROCMIG_REQUEST:-}" -v t=$((tries + ${1:-0} * 50)) 'BEGIN { srand(); print 20000 + int(rand() * 40000 + s * 31 + t * 7919) % 40000 }')
		case $used in *" $port "*) [ $tries -lt 50 ] && continue ;; esac
		echo "$port"
		return 0
	done
}

# Ends this helper (and so what it started) once the orchestrator's channel closes. Needs the
# helper's stdin on fd 3: a background job's own stdin is /dev/null.
watch_stdin() {
	{ cat >/dev/null; kill -TERM $$ 2>/dev/null; } <&3 >/dev/null 2>&1 &
	WATCH_PID=$!
}

# direct-client DIR ADDR: the client's key pair. Prints `pubkey=TYPE KEY` and `via=IP`, this
# host's source address toward ADDR when `ip` can tell (the server accepts the key from there).
cmd_direct_client() {
	dir=$1 addr=$2; in_images_base "$dir"
	command -v ssh >/dev/null 2>&1 || die "there is no OpenSSH client (ssh) on $(hostname)"
	command -v ssh-keygen >/dev/null 2>&1 || die "there is no ssh-keygen on $(hostname)"
	mkdir -p "$dir/direct" && chmod 700 "$dir/direct" || die "cannot create $dir/direct on $(hostname)"
	rm -f "$dir/direct/key" "$dir/direct/key.pub"
	ssh-keygen -q -t ed25519 -N '' -C procmig-direct -f "$dir/direct/key" </dev/null >/dev/null || die "ssh-keygen failed on $(hostname)"
	echo "pubkey=$(cut -d' ' -f1-2 "$dir/direct/key.pub")"
	ip=$(getent ahosts "$addr" 2>/dev/null | awk 'NR == 1 { print $1 }')
	echo "via=$(ip -o route get "${ip:-$addr}" 2>/dev/null | sed -n 's/.* src \([^ ]*\).*/\1/p')"
}

# direct-server DIR TARGET PUBKEY [VIA]: a private sshd on a free port of every address that
# accepts only PUBKEY (from VIA, if given) and allows only forwarding to the unix socket TARGET.
# Prints `hostkey=TYPE KEY`, `user=NAME`, then `ready PORT PID`; runs until TERM or stdin ends.
cmd_direct_server() {
	dir=$1 target=$2 pubkey=$3 via=${4:-}; in_images_base "$dir"; in_images_base "$target"
	case $target in *[!A-Za-z0-9/._-]*) die "unexpected characters in the socket path $target" ;; esac
	case $pubkey in 'ssh-ed25519 '*) ;; *) die "unexpected client key type" ;; esac
	case "$pubkey$via" in *[!A-Za-z0-9+/=.:\ _-]*) die "unexpected characters in the client key or address" ;; esac
	sshd=$(command -v sshd 2>/dev/null || echo /usr/sbin/sshd)
	[ -x "$sshd" ] || die "there is no sshd on $(hostname)"
	d=$dir/direct
	mkdir -p "$d" && chmod 700 "$d" || die "cannot create $d on $(hostname)"
	rm -f "$d/host_key" "$d/host_key.pub"
	ssh-keygen -q -t ed25519 -N '' -C procmig-direct -f "$d/host_key" </dev/null >/dev/null || die "ssh-keygen failed on $(hostname)"
	from=
	[ -n "$via" ] && from="from=\"$via\","
	printf 'restrict,port-forwarding,permitopen="[%s]:*",%scommand="cat >/dev/null" %s\n' "$target" "$from" "$pubkey" >"$d/authorized_keys"
	user=$(id -un)
	echo "hostkey=$(cut -d' ' -f1-2 "$d/host_key.pub")"
	echo "user=$user"
	exec 3<&0
	watch_stdin
	SSHD_PID=
	trap '[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null; kill "$WATCH_PID" 2>/dev/null; exit 0' TERM INT HUP
	tries=0
	while [ $tries -lt 10 ]; do
		tries=$((tries + 1))
		port=$(free_port "$tries")
		# StrictModes no: the directory is ours and 0700, but /var/tmp above it is world-writable.
		cat >"$d/sshd_config" <<EOF
ListenAddress 0.0.0.0:$port
ListenAddress [::]:$port
HostKey $d/host_key
PidFile none
UsePAM no
StrictModes no
AuthorizedKeysFile $d/authorized_keys
AuthenticationMethods publickey
PermitRootLogin prohibit-password
AllowUsers $user
AllowTcpForwarding local
PermitOpen [$target]:*
AllowStreamLocalForwarding local
AllowAgentForwarding no
X11Forwarding no
PermitTunnel no
PermitTTY no
PermitUserRC no
ForceCommand cat >/dev/null
MaxAuthTries 2
MaxSessions 1
LoginGraceTime 20
ClientAliveInterval 15
EOF
		"$sshd" -D -e -f "$d/sshd_config" 2>"$d/sshd.log" &
		SSHD_PID=$!
		while kill -0 "$SSHD_PID" 2>/dev/null && ! grep -q 'Server listening' "$d/sshd.log"; do sleep 0.02; done
		if grep -q 'Server listening' "$d/sshd.log"; then
			echo "ready $port $$"
			wait "$SSHD_PID"
			kill "$WATCH_PID" 2>/dev/null
			return 0
		fi
		wait "$SSHD_PID"
		grep -q 'Address already in use' "$d/sshd.log" || break
	done
	kill "$WATCH_PID" 2>/dev/null
	die "sshd did not start on $(hostname): $(grep -v '^Server listening' "$d/sshd.log" | tail -n 1)"
}

# direct-tunnel DIR ADDR PORT USER HOSTKEY ENTRY TARGET: `ssh -L` from the unix socket ENTRY
# (in an image directory here) to the unix socket TARGET behind the sshd at ADDR:PORT, trusting
# only HOSTKEY. Prints `ready PID` once ENTRY listens; ends when stdin ends (after the forwarded
# connection closed; then prints `bytes=N`, the SSH bytes sent and received) or on TERM.
cmd_direct_tunnel() {
	dir=$1 addr=$2 port=$3 user=$4 hostkey=$5 entry=$6 target=$7; in_images_base "$dir"; in_images_base "$entry"; in_images_base "$target"
	d=$dir/direct
	[ -f "$d/key" ] || die "no client key in $d (run direct-client first)"
	printf 'procmig-direct %s\n' "$hostkey" >"$d/known_hosts"
	# AES-GCM where the CPU has AES instructions: ~1.4x chacha20 here (bench/throughput.ts).
	ciphers=
	grep -qw aes /proc/cpuinfo 2>/dev/null && ciphers=aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com
	# The key exchange: OpenSSH 9.2's default, sntrup761x25519, costs ~0.1 s a connect on two busy
	# cores, half of this tunnel's setup. ML-KEM (OpenSSH 9.9+) is post-quantum too and as fast as
	# curve25519, which our own connections (ssh2) use: the first of them this ssh has.
	have=$(ssh -Q kex 2>/dev/null)
	kex=
	for k in mlkem768x25519-sha256 curve25519-sha256; do
		case "
$have
" in *"
$k
"*) kex=${kex:+$kex,}$k ;; esac
	done
	exec 3<&0
	SSH_PID=
	trap '[ -n "$SSH_PID" ] && kill "$SSH_PID" 2>/dev/null; exit 1' TERM INT HUP
	# The socket ENTRY is made 0600 (StreamLocalBindMask), in a 0700 directory.
	ssh -F /dev/null -i "$d/key" -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes \
		-o StrictHostKeyChecking=yes -o UserKnownHostsFile="$d/known_hosts" -o GlobalKnownHostsFile=/dev/null \
		-o HostKeyAlias=procmig-direct -o ConnectTimeout=4 -o ServerAliveInterval=15 -o ExitOnForwardFailure=yes \
		${ciphers:+-o Ciphers=$ciphers} ${kex:+-o KexAlgorithms=$kex} -o Compression=no -o LogLevel=VERBOSE \
		-o StreamLocalBindMask=0177 -o StreamLocalBindUnlink=yes \
		-o PermitLocalCommand=yes -o "LocalCommand=echo ready $$" \
		-L "$entry:$target" -p "$port" -l "$user" "$addr" 'cat >/dev/null' <&3 2>"$d/ssh.log" &
	SSH_PID=$!
	wait "$SSH_PID"
	rc=$?
	sent=$(sed -n 's/.*Transferred: sent \([0-9]*\), received \([0-9]*\) bytes.*/\1 \2/p' "$d/ssh.log" | tail -n 1)
	if [ -n "$sent" ]; then
		# shellcheck disable=SC2086 # the two numbers
		set -- $sent
		echo "bytes=$(($1 + $2))"
		return 0
	fi
	why=$(grep -v -e '^Authenticated' -e '^Transferred' -e '^Killed' -e '^Warning: Permanently' "$d/ssh.log" | tail -n 1 | tr -d '\r')
	die "${why:-ssh exited with $rc}"
}

# A standby's checkpoint over the direct tunnel: its images are written once, on the source, and
# then cross host to host as one tar stream, from the tunnel's entry socket on the source to the
# destination's page socket, where nothing but that tunnel can reach (a 0700 image directory).
#
# images-in DIR: takes the one connection made to DIR's page socket and unpacks it into DIR;
# prints `listening PID` once the socket listens; ends with tar, or when stdin ends (the
# orchestrator gone: nobody will send).
cmd_images_in() {
	dir=$1; in_images_base "$dir"
	exec 3<&0
	(on_socket accept "$dir/pages.sock" tar -C "$dir" -xf -) </dev/null &
	pid=$!
	{ cat >/dev/null; kill "$pid" 2>/dev/null; } <&3 >/dev/null 2>&1 &
	watch=$!
	wait "$pid"
	rc=$?
	kill "$watch" 2>/dev/null
	return $rc
}

# images-out DIR SOCKET: DIR's images (what tar-out sends) written to a connection to the unix
# socket SOCKET, the direct tunnel's entry here.
cmd_images_out() {
	in_images_base "$1"; in_images_base "$2"
	# shellcheck disable=SC2016 # the inner shell's $1
	(on_socket connect "$2" sh -c 'exec tar -C "$1" --exclude="*.log" --exclude=.ready --exclude=./direct --exclude=./pages.sock -cf - . >&0' sh "$1")
}

# direct-rm DIR: the one-time keys and sshd files of a direct transfer, once it is over, from an
# image directory that stays (a standby's checkpoint).
cmd_direct_rm() { in_images_base "$1"; rm -rf "$1/direct"; }
