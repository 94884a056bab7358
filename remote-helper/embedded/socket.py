import os, socket, sys
mode, path, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    if mode == "connect":
        s.connect(path)
    else:
        if os.path.lexists(path):
            os.unlink(path)
        s.bind(path)
        s.listen(1)
        print("listening", os.getpid(), flush=True)
        c = s.accept()[0]
        s.close()
        os.unlink(path)
        s = c
        if mode == "accept-go" and sys.stdin.readline() != "go\n":
            sys.exit(1)
except OSError as e:
    sys.exit("cannot %s %s: %s" % ("connect to" if mode == "connect" else "listen at", path, e.strerror))
os.dup2(s.fileno(), 0)
os.execvp(cmd[0], cmd)
