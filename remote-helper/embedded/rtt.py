import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
n = int(sys.argv[3]) if len(sys.argv) > 3 else 2
best = None
try:
    ai = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    for _ in range(n):
        s = socket.socket(ai[0], ai[1], ai[2])
        s.settimeout(4)
        t = time.monotonic()
        s.connect(ai[4])
        ms = (time.monotonic() - t) * 1000
        s.close()
        best = ms if best is None or ms < best else best
except (OSError, socket.timeout) as e:
    sys.exit("cannot connect to %s port %s: %s" % (host, port, e.strerror or e))
print("rtt_ms=%.3f" % best)
