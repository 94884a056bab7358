#!/bin/sh
# `npm run demo`: a real migration on a lab of two hosts that it sets up itself. A Python
# process whose state lives only in memory moves from lab-a to lab-b and counts on there.
set -eu
cd "$(dirname "$0")/.."

sh scripts/prepare.sh "npm run demo"
sh scripts/lab.sh up

ssh_lab() { ssh -F .lab/ssh_config -o BatchMode=yes "$@"; }
procmig() { node dist/procmig.js --ssh-config .lab/ssh_config "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Starting a demo process on lab-a: a counter kept in memory, plus 64 MiB of data"
pid=$(ssh_lab lab-a "setsid /usr/bin/python3 -c '
import socket, time
ballast = bytearray(64 << 20)
n = 0
while True:
    n += 1
    open(\"/tmp/demo-counter\", \"w\").write(\"%d on %s\n\" % (n, socket.gethostname()))
    time.sleep(0.2)
' </dev/null >/dev/null 2>&1 & echo \$!")
sleep 1
echo "PID $pid on lab-a; its counter file says: $(ssh_lab lab-a cat /tmp/demo-counter)"

step "Checking both hosts"
procmig check lab-a lab-b

step "Migrating PID $pid from lab-a to lab-b"
procmig migrate "$pid" --from lab-a --to lab-b

step "After the move"
sleep 1
echo "lab-a: $(ssh_lab lab-a "test -d /proc/$pid && echo still there || echo process $pid is gone")"
echo "lab-b: $(ssh_lab lab-b "ps -o pid=,stat=,etime=,comm= -p $pid")"
echo "lab-b: its counter file says: $(ssh_lab lab-b cat /tmp/demo-counter)  (counting on from lab-a's value, in lab-b's own /tmp)"

cat <<EOT

The lab stays up. Look around with:  ssh -F .lab/ssh_config lab-b
Stop the demo process:              ssh -F .lab/ssh_config lab-b kill $pid
Remove the lab:                     npm run lab -- down
EOT
