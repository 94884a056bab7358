#!/bin/sh
# Which runtimes open io_uring (which CRIU cannot checkpoint) by default: starts an idle HTTP
# server in each, asks it once, and counts the anon_inode:[io_uring] descriptors of its tree;
# then again under remote-helper/migration-ready.pl. Prints a Markdown table (README).
#   sh scripts/io-uring-census.sh
# Runtimes come from the environment; one left empty or missing is reported as not checked:
#   NODE20 NODE22 NODE24 BUN DENO JAVA PYTHON GO (the go tool, to build a server)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
ready="perl $here/remote-helper/migration-ready.pl"
work=$(mktemp -d /tmp/io-uring-census.XXXXXX)
trap 'rm -rf "$work"' EXIT
port=47310

cat >"$work/Server.java" <<'EOF'
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
public class Server {
  public static void main(String[] a) throws Exception {
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", Integer.parseInt(a[0])), 0);
    s.createContext("/", x -> { byte[] b = "ok".getBytes(); x.sendResponseHeaders(200, b.length); x.getResponseBody().write(b); x.close(); });
    s.start();
  }
}
EOF
cat >"$work/server.go" <<'EOF'
package main

import ("net/http"; "os")

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	http.ListenAndServe("127.0.0.1:"+os.Args[1], nil)
}
EOF

# The tree under $1, one PID a line.
tree() { echo "$1"; for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree "$c"; done; }

# Starts the command (its argument @PORT@ replaced by a fresh port), waits until it answers,
# sets COUNT to the io_uring descriptors of its tree and stops it; `-` when it never answered.
count() {
	port=$((port + 1))
	for a in "$@"; do shift; [ "$a" = @PORT@ ] && a=$port; set -- "$@" "$a"; done
	setsid "$@" </dev/null >"$work/out" 2>&1 &
	pid=$!
	tries=0
	until curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1; do
		tries=$((tries + 1))
		if [ $tries -gt 300 ] || ! kill -0 "$pid" 2>/dev/null; then kill -KILL -"$pid" 2>/dev/null; wait "$pid" 2>/dev/null; COUNT=-; return; fi
		sleep 0.1
	done
	sleep 1 # idle
	n=0
	for p in $(tree "$pid"); do
		n=$((n + $(ls -l /proc/"$p"/fd 2>/dev/null | grep -c 'anon_inode:\[io_uring\]')))
	done
	kill -TERM -"$pid" 2>/dev/null; sleep 0.2; kill -KILL -"$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	COUNT=$n
}

row() {
	name=$1 version=$2; shift 2
	if [ -z "$version" ]; then printf '| %s | — | not checked: not installed here | |\n' "$name"; return; fi
	count "$@"; plain=$COUNT
	# shellcheck disable=SC2086 # perl and the launcher's path
	count $ready "$@"; under=$COUNT
	printf '| %s | %s | %s | %s |\n' "$name" "$version" "$plain" "$under"
}

node_row() {
	[ -x "${2:-/nonexistent}" ] || { row "$1" ''; return; }
	row "$1" "$("$2" -v)" "$2" -e 'require("http").createServer((q, s) => s.end("ok")).listen(+process.argv[1], "127.0.0.1")' @PORT@
}

echo '| runtime | version | io_uring descriptors of an idle HTTP server | under migration-ready.pl |'
echo '|---|---|--:|--:|'
for v in 20 22 24; do eval "bin=\${NODE$v:-}"; node_row "Node.js $v" "$bin"; done

if [ -x "${BUN:-/nonexistent}" ]; then
	row Bun "$("$BUN" --version)" "$BUN" -e 'Bun.serve({ hostname: "127.0.0.1", port: +process.argv.at(-1), fetch: () => new Response("ok") })' @PORT@
else row Bun ''; fi
if [ -x "${DENO:-/nonexistent}" ]; then
	row Deno "$("$DENO" --version | head -n 1 | cut -d' ' -f2)" "$DENO" eval 'Deno.serve({ hostname: "127.0.0.1", port: +Deno.args.at(-1) }, () => new Response("ok"))' @PORT@
else row Deno ''; fi
if [ -n "${JAVA:-}" ] && command -v "$JAVA" >/dev/null 2>&1; then
	row 'JVM (com.sun.net.httpserver)' "$("$JAVA" -version 2>&1 | head -n 1 | cut -d'"' -f2)" "$JAVA" "$work/Server.java" @PORT@
else row JVM ''; fi
if [ -n "${PYTHON:-}" ] && command -v "$PYTHON" >/dev/null 2>&1; then
	row 'Python (http.server)' "$("$PYTHON" -c 'import platform; print(platform.python_version())')" "$PYTHON" -m http.server --bind 127.0.0.1 @PORT@
else row Python ''; fi
if [ -n "${GO:-}" ] && command -v "$GO" >/dev/null 2>&1 && (cd "$work" && GOCACHE=$work/cache GO111MODULE=off "$GO" build -o server server.go); then
	row 'Go (net/http)' "$("$GO" version | cut -d' ' -f3)" "$work/server" @PORT@
else row Go ''; fi
