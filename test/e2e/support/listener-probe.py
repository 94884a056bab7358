# What another local user of this host can reach of a migration, sampled until STOP exists.
#   python3 listener-probe.py UID GID STOP HELPER
# Run as root (to see every listener and its process); each attempt runs in a child that drops
# to UID/GID first. A migration's processes are those under a process running HELPER (the
# remote helper's cached file name). Each sample is one JSON line:
#   {"tcp": [{"port", "procs", "cmd", "connect", "login"}], "unix": [{"path", "procs", "connect", "list"}],
#    "criu": ["dump", "page-server", …]}
# where `connect`, `login` (an sshd's) and `list` (the socket's directory) are what the other
# user got (`ok`, or the error), `criu` the CRIU commands of the migration running then.
import json, os, re, socket, subprocess, sys, time

uid, gid, stop, helper = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]


def as_other(attempt):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            result = attempt()
        except OSError as e:
            result = e.strerror
        os.write(w, json.dumps(result).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data)


def connect_unix(path):
    def attempt():
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(1)
        # An abstract socket (@name) has no file to guard it.
        s.connect("\0" + path[1:] if path.startswith("@") else path)
        s.close()
        return "ok"
    return attempt


def connect_tcp(host, port):
    def attempt():
        socket.create_connection((host, port), timeout=1).close()
        return "ok"
    return attempt


def ssh_login(port):
    def attempt():
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"}
        r = subprocess.run(["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                            "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=3", "-p", str(port),
                            "root@127.0.0.1", "true"], capture_output=True, text=True, env=env, timeout=10)
        return "ok" if r.returncode == 0 else (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1]
    return attempt


def list_dir(path):
    def attempt():
        os.listdir(path)
        return "ok"
    return attempt


def processes():
    parent, cmd = {}, {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                parent[int(p)] = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % p, "rb") as f:
                cmd[int(p)] = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, IndexError, ValueError):
            pass
    return parent, cmd


def migration(parent, cmd):
    mine = {p for p, c in cmd.items() if helper in c}
    grown = True
    while grown:
        more = {p for p, pp in parent.items() if pp in mine and p not in mine}
        mine |= more
        grown = bool(more)
    return mine


def listeners(args):
    out = subprocess.run(["ss", "-H"] + args, capture_output=True, text=True).stdout
    for line in out.splitlines():
        pids = [int(x) for x in re.findall(r"pid=(\d+)", line)]
        procs = re.findall(r'\("([^"]+)"', line)
        yield line.split(), pids, procs


logins = {}
while not os.path.exists(stop):
    parent, cmd = processes()
    mine = migration(parent, cmd)
    dirs = set()
    for p in mine:
        dirs.update(re.findall(r"/var/tmp/process-migrator/img\.[A-Za-z0-9]+", cmd.get(p, "")))
    sample = {"tcp": [], "unix": [], "criu": []}
    for p in mine:
        words = cmd.get(p, "").split()
        if words and os.path.basename(words[0]) == "criu" and len(words) > 1:
            sample["criu"].append(words[1])
    for fields, pids, procs in listeners(["-ltnp"]):
        if not set(pids) & mine:
            continue
        host, port = fields[3].rsplit(":", 1)
        host = {"0.0.0.0": "127.0.0.1", "*": "127.0.0.1", "[::]": "::1"}.get(host, host.strip("[]"))
        owner = [p for p in pids if p in mine][0]
        entry = {"port": int(port), "procs": procs, "cmd": cmd.get(owner, ""), "connect": as_other(connect_tcp(host, int(port)))}
        if "sshd" in procs:
            # Reaching an sshd is not getting in: try to log in, once per port.
            if port not in logins:
                logins[port] = as_other(ssh_login(int(port)))
            entry["login"] = logins[port]
        sample["tcp"].append(entry)
    for fields, pids, procs in listeners(["-lxp"]):
        path = fields[4]
        if not path.startswith(("/", "@")) and pids:
            # Bound by a relative name (CRIU's lazy-pages.socket): relative to its owner's cwd.
            try:
                path = os.path.join(os.readlink("/proc/%d/cwd" % pids[0]), path)
            except OSError:
                pass
        if not (set(pids) & mine or any(path.startswith(d + "/") for d in dirs)):
            continue
        # CRIU's parasite transport (compel): an abstract seqpacket socket CRIU makes in the
        # dumped process's network namespace for its parasite code to connect to. Connecting
        # would take the parasite's place and break the dump, so it is only reported.
        if path.startswith("@/crtools-pr-"):
            sample["unix"].append({"path": path, "procs": procs, "connect": "not tried: CRIU's parasite transport"})
            continue
        entry = {"path": path, "procs": procs, "connect": as_other(connect_unix(path))}
        if path.startswith("/"):
            entry["list"] = as_other(list_dir(os.path.dirname(path)))
        sample["unix"].append(entry)
    print(json.dumps(sample), flush=True)
    time.sleep(0.05)
