// Kinds of kernel state that CRIU handles with the right options: each program holds one kind,
// moves from lab-a to lab-b with no options, and is asked on lab-b for what it held. Those CRIU
// cannot carry are refused by the preflight in one sentence, before any freeze.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { kill, onHost, procmig, sharedDir, startDetached, stateOf, waitFor, useLab, type CliResult } from './support/lab';

const A = 'lab-a';
const B = 'lab-b';
const cleanup = useLab();
const dir = sharedDir('kinds');

/** Writes a Python program where both hosts see it; returns its path. */
function program(name: string, source: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, source);
  return file;
}

/** Starts `python3 FILE ARGS` detached on lab-a; it and whatever it becomes on lab-b are killed after. */
async function start(file: string, args: string, ready: string): Promise<number> {
  const pid = await startDetached(A, `python3 ${file} ${args}`);
  cleanup.push(() => kill(A, pid), () => kill(B, pid));
  await waitFor(async () => (await onHost(A, `cat ${ready} 2>/dev/null || true`)) !== '', 15_000);
  return pid;
}

async function migrate(pid: number): Promise<CliResult> {
  return procmig(['migrate', String(pid), '--from', A, '--to', B, '--json']);
}

function assertMoved(r: CliResult) {
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.json.ok, true, r.json.error);
}

/** Refused before any freeze: one sentence, no freeze phase, the source as it was. */
async function assertRefused(r: CliResult, pid: number, expected: RegExp, state = 'running') {
  assert.notEqual(r.code, 0, r.stdout);
  assert.match(r.json.error, expected);
  assert.doesNotMatch(r.json.error, /\n/);
  assert.equal(r.json.phases.freeze, undefined, 'never frozen');
  assert.equal(r.json.phases.dump, undefined, 'never dumped');
  assert.equal(await stateOf(A, pid), state);
}

const option = (r: CliResult, prefix: string) => (r.json.options as { option: string; reason: string }[]).find((o) => o.option.startsWith(prefix));

/** The last line of a file on a host. */
const last = (host: string, file: string) => onHost(host, `tail -n1 ${file} 2>/dev/null || true`);

describe('kinds of process state', () => {
  it('deleted files, open (5 MB) and mapped (3 MB): carried as ghost files with a raised --ghost-limit, same content on lab-b', async () => {
    const file = program(
      'deleted.py',
      `import hashlib, mmap, os, sys, time
a = os.urandom(5_000_000); b = os.urandom(3_000_000)
open("/tmp/kinds-del-fd", "wb").write(a); open("/tmp/kinds-del-map", "wb").write(b)
f = open("/tmp/kinds-del-fd", "rb")
g = open("/tmp/kinds-del-map", "r+b"); m = mmap.mmap(g.fileno(), 0); g.close()
os.unlink("/tmp/kinds-del-fd"); os.unlink("/tmp/kinds-del-map")
want = hashlib.sha256(a).hexdigest() + hashlib.sha256(b).hexdigest()
i = 0
while True:
    f.seek(0); i += 1
    got = hashlib.sha256(f.read()).hexdigest() + hashlib.sha256(m[:]).hexdigest()
    open("/tmp/kinds-del.tmp", "w").write(f"{i} {'same' if got == want else 'DIFFERENT'}\\n")
    os.replace("/tmp/kinds-del.tmp", "/tmp/kinds-del.state")
    time.sleep(0.2)
`,
    );
    for (const h of [A, B]) await onHost(h, 'rm -f /tmp/kinds-del.state /tmp/kinds-del-fd /tmp/kinds-del-map');
    const pid = await start(file, '', '/tmp/kinds-del.state');
    const r = await migrate(pid);
    assertMoved(r);
    const ghost = option(r, 'dump --ghost-limit=');
    assert.ok(ghost, JSON.stringify(r.json.options));
    // 4.8 MiB and a quarter more, in whole MiB: 6 MiB.
    assert.equal(ghost.option, `dump --ghost-limit=${6 << 20}`);
    assert.match(ghost.reason, /2 deleted files .* the largest \/tmp\/kinds-del-fd \(4\.8 MiB\)/);
    // The program reads both back on lab-b and finds what it wrote.
    const before = Number((await last(B, '/tmp/kinds-del.state')).split(' ')[0]);
    await waitFor(async () => Number((await last(B, '/tmp/kinds-del.state')).split(' ')[0]) > before + 1);
    assert.match(await last(B, '/tmp/kinds-del.state'), / same$/);
    assert.equal(await stateOf(A, pid), 'gone');
  });

  it('a zombie in the tree, or a zombie itself: refused by the preflight, never frozen', async () => {
    const file = program(
      'zombie.py',
      `import os, time
child = os.fork()
if child == 0:
    os._exit(3)
open("/tmp/kinds-zombie.child", "w").write(str(child))
while True: time.sleep(0.2)
`,
    );
    await onHost(A, 'rm -f /tmp/kinds-zombie.child');
    const pid = await start(file, '', '/tmp/kinds-zombie.child');
    const child = Number(await onHost(A, 'cat /tmp/kinds-zombie.child'));
    await waitFor(async () => (await stateOf(A, child)) === 'zombie');

    const tree = await migrate(pid);
    await assertRefused(tree, pid, new RegExp(`^Process ${child} \\(python3\\) on lab-a, a child of process ${pid} in the tree, has exited but its parent has not collected its exit status \\(a zombie\\).*; retry once process ${pid} has waited for it\\.$`));
    const itself = await migrate(child);
    await assertRefused(itself, child, new RegExp(`^Process ${child} on lab-a has already exited \\(a zombie, waiting for its parent ${pid} to collect its exit status\\): there is nothing left to migrate\\.$`), 'zombie');
    assert.equal(await stateOf(A, child), 'zombie', 'the zombie is left as it was');
  });

  it('a process of another user, migrated as root without CAP_SYS_RESOURCE: refused in one sentence, never frozen', async () => {
    const caps = BigInt(`0x${await onHost(A, "awk '/^CapEff:/ {print $2}' /proc/self/status")}`);
    // Both hosts share this machine's /etc/passwd.
    await onHost(A, 'id kinds-user >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin kinds-user');
    const uid = Number(await onHost(A, 'id -u kinds-user'));
    const file = program('other-user.py', 'import time\nopen("/tmp/kinds-user.ready", "w").write("1")\nwhile True: time.sleep(0.2)\n');
    await onHost(A, 'rm -f /tmp/kinds-user.ready');
    const pid = await startDetached(A, `sh -c "cd /tmp && exec setpriv --reuid=kinds-user --regid=kinds-user --clear-groups /usr/bin/python3 ${file}"`);
    cleanup.push(() => kill(A, pid), () => kill(B, pid));
    await waitFor(async () => (await onHost(A, 'cat /tmp/kinds-user.ready 2>/dev/null || true')) === '1');
    const r = await migrate(pid);
    if ((caps >> 24n) & 1n) {
      // Where root has the capability (not on these machines), it moves.
      assertMoved(r);
      return;
    }
    await assertRefused(
      r,
      pid,
      new RegExp(`^Process ${pid} \\(python3\\) on lab-a belongs to uid ${uid}, and CRIU, running as uid 0 there without CAP_SYS_RESOURCE, cannot read the resource limits of another user's process; migrate it as its owner \\(uid ${uid}\\), or give root CAP_SYS_RESOURCE on lab-a\\.$`),
    );
  });

  it('a pty pair the program opened itself (not its terminal): moves without --shell-job, and data written to the master reads back from the slave on lab-b', async () => {
    // CRIU recreates the pair under the same number: pick one free on both hosts, a few above
    // the lowest free one, which other tests on the shared lab may take meanwhile (tmux).
    const used = async (h: string) => new Set((await onHost(h, 'ls /dev/pts')).split(/\s+/).filter((n) => /^\d+$/.test(n)).map(Number));
    const [onA, onB] = await Promise.all([used(A), used(B)]);
    let index = 0;
    while (onA.has(index) || onB.has(index)) index++;
    index += 4;
    while (onA.has(index) || onB.has(index)) index++;
    const file = program(
      'pty.py',
      `import os, sys, time, tty
want = int(sys.argv[1])
extra = []
while True:
    m, s = os.openpty()
    if os.ttyname(s) == f"/dev/pts/{want}": break
    extra += [m, s]
for fd in extra: os.close(fd)
tty.setraw(s)
i = 0
while True:
    i += 1
    os.write(m, b"ping %d\\n" % i)
    got = os.read(s, 100).decode().strip()
    open("/tmp/kinds-pty.tmp", "w").write(f"{i} {os.ttyname(s)} {got}\\n")
    os.replace("/tmp/kinds-pty.tmp", "/tmp/kinds-pty.state")
    time.sleep(0.2)
`,
    );
    for (const h of [A, B]) await onHost(h, 'rm -f /tmp/kinds-pty.state');
    const pid = await start(file, String(index), '/tmp/kinds-pty.state');
    const r = await migrate(pid);
    assertMoved(r);
    assert.equal(option(r, 'dump --shell-job'), undefined, 'not a terminal job');
    assert.equal(r.json.terminal, undefined);
    const before = Number((await last(B, '/tmp/kinds-pty.state')).split(' ')[0]);
    await waitFor(async () => Number((await last(B, '/tmp/kinds-pty.state')).split(' ')[0]) > before + 1);
    const [n, name, ...got] = (await last(B, '/tmp/kinds-pty.state')).split(' ');
    assert.equal(name, `/dev/pts/${index}`, 'the same pty number on lab-b');
    assert.equal(got.join(' '), `ping ${n}`);
    assert.equal(await stateOf(A, pid), 'gone');
  });

  it('pidfds: one for a child in the tree moves and still reports the exit of that child on lab-b; one for a process that stays is refused before any freeze', async () => {
    const file = program(
      'pidfd.py',
      `import os, select, sys, time
if sys.argv[1] == "outside":
    fd = os.pidfd_open(int(sys.argv[2]))
else:
    child = os.fork()
    if child == 0:
        while True: time.sleep(0.2)
    fd = os.pidfd_open(child)
    # One for a child that has exited and been reaped: CRIU recreates it too.
    gone = os.fork()
    if gone == 0: os._exit(0)
    dead = os.pidfd_open(gone); os.waitpid(gone, 0)
    open("/tmp/kinds-pidfd.child", "w").write(str(child))
i = 0
while True:
    i += 1
    r, _, _ = select.select([fd], [], [], 0.2)
    open("/tmp/kinds-pidfd.tmp", "w").write(f"{i} {'exited' if r else 'alive'}\\n")
    os.replace("/tmp/kinds-pidfd.tmp", "/tmp/kinds-pidfd.state")
    if r: time.sleep(0.2)
`,
    );
    for (const h of [A, B]) await onHost(h, 'rm -f /tmp/kinds-pidfd.state /tmp/kinds-pidfd.child');
    const pid = await start(file, 'child', '/tmp/kinds-pidfd.child');
    const r = await migrate(pid);
    assertMoved(r);
    const count = async () => Number((await last(B, '/tmp/kinds-pidfd.state')).split(' ')[0]);
    const before = await count();
    await waitFor(async () => (await count()) > before + 1);
    assert.match(await last(B, '/tmp/kinds-pidfd.state'), / alive$/);
    // The child ends on lab-b: the moved pidfd says so.
    await onHost(B, `pkill -TERM -P ${r.json.destinationPid}`);
    await waitFor(async () => / exited$/.test(await last(B, '/tmp/kinds-pidfd.state')));

    const other = await startDetached(A, 'sleep 600');
    cleanup.push(() => kill(A, other));
    const holder = await startDetached(A, `python3 ${file} outside ${other}`);
    cleanup.push(() => kill(A, holder));
    await waitFor(async () => (await onHost(A, `ls -l /proc/${holder}/fd | grep -c pidfd || true`)) === '1');
    await assertRefused(
      await migrate(holder),
      holder,
      new RegExp(`^Process ${holder} \\(python3\\) on lab-a holds a pidfd \\(descriptor 3\\) for process ${other}, which is not in the migrated tree and stays on lab-a, and a pidfd can only move with the process it refers to; it can only be migrated once it has closed it\\.$`),
    );
  });

  it('named FIFOs opened read-only, write-only and read-write, which lab-b lacks: made there with their mode, and data flows through them after the move', async () => {
    const file = program(
      'fifo.py',
      `import os, time
rw = os.open("/tmp/kinds-fifo-rw", os.O_RDWR)
os.write(rw, b"before the move\\n")
r = os.open("/tmp/kinds-fifo-pipe", os.O_RDONLY | os.O_NONBLOCK)
if os.fork() == 0:
    w = os.open("/tmp/kinds-fifo-pipe", os.O_WRONLY)
    i = 0
    while True:
        i += 1; os.write(w, b"%d\\n" % i); time.sleep(0.2)
held = b"-"
last = "0"
i = 0
while True:
    i += 1
    try:
        got = os.read(r, 4096).split()
        if got: last = got[-1].decode()
    except BlockingIOError:
        pass
    if held == b"-" and os.path.exists("/tmp/kinds-fifo.go"):
        held = os.read(rw, 100)
        open("/tmp/kinds-fifo.first", "wb").write(held)
    elif held != b"-":
        # What is written now must come back out.
        os.write(rw, b"%d\\n" % i); held = os.read(rw, 100)
    open("/tmp/kinds-fifo.tmp", "w").write(f"{i} {last} {held.decode().strip()}\\n")
    os.replace("/tmp/kinds-fifo.tmp", "/tmp/kinds-fifo.state")
    time.sleep(0.2)
`,
    );
    await onHost(A, 'rm -f /tmp/kinds-fifo-* /tmp/kinds-fifo.state /tmp/kinds-fifo.go /tmp/kinds-fifo.first; mkfifo -m 640 /tmp/kinds-fifo-rw; mkfifo -m 600 /tmp/kinds-fifo-pipe');
    await onHost(B, 'rm -f /tmp/kinds-fifo-* /tmp/kinds-fifo.state /tmp/kinds-fifo.go /tmp/kinds-fifo.first');
    cleanup.push(() => onHost(B, 'rm -f /tmp/kinds-fifo-*').then(() => undefined));
    // Frozen with "before the move" still in the read-write FIFO: read on lab-b once told to.
    const pid = await startDetached(A, `python3 ${file}`);
    cleanup.push(() => kill(A, pid), () => kill(B, pid));
    await waitFor(async () => (await last(A, '/tmp/kinds-fifo.state')) !== '');
    const r = await migrate(pid);
    assertMoved(r);
    assert.match(option(r, 'restore mkfifo -m 640 /tmp/kinds-fifo-rw')?.reason ?? '', /FIFO \/tmp\/kinds-fifo-rw .* made on lab-b with the same mode \(640\)/, JSON.stringify(r.json.options));
    assert.ok(option(r, 'restore mkfifo -m 600 /tmp/kinds-fifo-pipe'), JSON.stringify(r.json.options));
    assert.equal(await onHost(B, 'stat -c %A /tmp/kinds-fifo-rw /tmp/kinds-fifo-pipe | paste -sd " "'), 'prw-r----- prw-------');
    const state = async () => (await last(B, '/tmp/kinds-fifo.state')).split(' ');
    const [, value] = await state();
    // The writer child's numbers reach the reader through the FIFO on lab-b.
    await waitFor(async () => Number((await state())[1]) > Number(value) + 2, 15_000);
    // The read-write one still holds what was written into it on lab-a, then returns what it is given.
    await onHost(B, 'touch /tmp/kinds-fifo.go');
    await waitFor(async () => (await onHost(B, 'cat /tmp/kinds-fifo.first 2>/dev/null || true')) !== '');
    assert.equal(await onHost(B, 'cat /tmp/kinds-fifo.first'), 'before the move');
    await waitFor(async () => {
      const [t2, , ...h] = await state();
      return h.join(' ') === t2;
    });
  });

  it('a unix stream connection to a server that stays on lab-a: cut, as a TCP one would be; the process reads end-of-file on lab-b, and its own socket pair still works', async () => {
    const server = program(
      'unix-server.py',
      `import os, socket, sys
try: os.unlink(sys.argv[1])
except FileNotFoundError: pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(5)
held = []
while True:
    c, _ = s.accept(); held.append(c); c.send(b"hello\\n")
`,
    );
    const client = program(
      'unix-client.py',
      `import os, socket, sys, time
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.connect(sys.argv[1])
greeting = c.recv(100).decode().strip()
a, b = socket.socketpair()
c.setblocking(False)
i = 0
while True:
    i += 1
    try:
        server = "eof" if c.recv(100) == b"" else "data"
    except BlockingIOError:
        server = "open"
    a.send(b"%d" % i)
    own = b.recv(100).decode()
    open("/tmp/kinds-unix.tmp", "w").write(f"{i} {greeting} {server} {own}\\n")
    os.replace("/tmp/kinds-unix.tmp", "/tmp/kinds-unix.state")
    time.sleep(0.2)
`,
    );
    for (const h of [A, B]) await onHost(h, 'rm -f /tmp/kinds-unix.state /tmp/kinds-unix.sock');
    const srv = await startDetached(A, `python3 ${server} /tmp/kinds-unix.sock`);
    cleanup.push(() => kill(A, srv));
    await waitFor(async () => (await onHost(A, 'test -S /tmp/kinds-unix.sock && echo yes || true')) === 'yes');
    const pid = await start(client, '/tmp/kinds-unix.sock', '/tmp/kinds-unix.state');
    assert.match(await last(A, '/tmp/kinds-unix.state'), /^\d+ hello open \d+$/);
    const r = await migrate(pid);
    assertMoved(r);
    const dump = option(r, 'dump --external=unix[');
    assert.ok(dump, JSON.stringify(r.json.options));
    const inode = /unix\[(\d+)\]/.exec(dump.option)?.[1];
    const restore = option(r, 'restore --inherit-fd');
    assert.equal(restore?.option.replace(/fd\[\d+\]/, 'fd[N]'), `restore --inherit-fd fd[N]:socket:[${inode}]`);
    assert.match(restore?.reason ?? '', /unix socket connected to a process that stays on lab-a \(\/tmp\/kinds-unix\.sock\), and the connection cannot follow it to lab-b: it is closed there, and the process reads end-of-file/);
    // On lab-b: the server's connection reads end-of-file; the pair inside the process still carries its numbers.
    await waitFor(async () => / eof /.test(await last(B, '/tmp/kinds-unix.state')));
    const [i, greeting, , own] = (await last(B, '/tmp/kinds-unix.state')).split(' ');
    assert.equal(greeting, 'hello');
    assert.equal(own, i);
    assert.equal(await stateOf(A, srv), 'running', 'the server stays');
  });

  it('symlinks it holds: one held itself (O_PATH) that only lab-a has is made on lab-b; one opened through (to a file both have) moves as is', async () => {
    writeFileSync(path.join(dir, 'symlink-target'), 'the target\n');
    const file = program(
      'symlink.py',
      `import os, stat, time
held = os.open("/tmp/kinds-link", os.O_PATH | os.O_NOFOLLOW)
through = open("/tmp/kinds-link-through")
i = 0
while True:
    i += 1; through.seek(0)
    open("/tmp/kinds-link.tmp", "w").write(f"{i} {os.readlink('/proc/self/fd/%d' % held)} {'symlink' if stat.S_ISLNK(os.fstat(held).st_mode) else 'other'} {through.read().strip()}\\n")
    os.replace("/tmp/kinds-link.tmp", "/tmp/kinds-link.state")
    time.sleep(0.2)
`,
    );
    const target = path.join(dir, 'symlink-target');
    await onHost(A, `rm -f /tmp/kinds-link*; ln -s ${target} /tmp/kinds-link; ln -s ${target} /tmp/kinds-link-through`);
    await onHost(B, 'rm -f /tmp/kinds-link*');
    cleanup.push(() => onHost(B, 'rm -f /tmp/kinds-link*').then(() => undefined));
    const pid = await start(file, '', '/tmp/kinds-link.state');
    const r = await migrate(pid);
    assertMoved(r);
    const made = option(r, `restore ln -s ${target} /tmp/kinds-link`);
    assert.match(made?.reason ?? '', /the symlink \/tmp\/kinds-link that process \d+ holds itself \(descriptor 3\) exists on the source only: it is made on lab-b/, JSON.stringify(r.json.options));
    assert.equal(await onHost(B, 'readlink /tmp/kinds-link'), target);
    const before = Number((await last(B, '/tmp/kinds-link.state')).split(' ')[0]);
    await waitFor(async () => Number((await last(B, '/tmp/kinds-link.state')).split(' ')[0]) > before + 1);
    // The held descriptor is the symlink on lab-b (not its target); the other reads the target.
    const [, heldPath, kind, ...text] = (await last(B, '/tmp/kinds-link.state')).split(' ');
    assert.equal(heldPath, '/tmp/kinds-link');
    assert.equal(kind, 'symlink');
    assert.equal(text.join(' '), 'the target');
  });

  it('a unix datagram socket sending to a receiver that stays (as syslog to /dev/log): connected on lab-b to the receiver at the same path there', async () => {
    const receiver = program(
      'unix-dgram-receiver.py',
      `import os, socket, sys
try: os.unlink(sys.argv[1])
except FileNotFoundError: pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
while True:
    got = s.recv(100).decode()
    open(sys.argv[2] + ".tmp", "w").write(got + "\\n"); os.replace(sys.argv[2] + ".tmp", sys.argv[2])
`,
    );
    const sender = program(
      'unix-dgram-sender.py',
      `import socket, sys, time
c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); c.connect(sys.argv[1])
i = 0
while True:
    i += 1
    try: c.send(b"%d" % i)
    except OSError: pass
    time.sleep(0.2)
`,
    );
    const sock = '/tmp/kinds-dgram.sock';
    const received = '/tmp/kinds-dgram.received';
    const receivers: Record<string, number> = {};
    for (const h of [A, B]) {
      await onHost(h, `rm -f ${sock} ${received}`);
      receivers[h] = await startDetached(h, `python3 ${receiver} ${sock} ${received}`);
      const pid = receivers[h];
      cleanup.push(() => kill(h, pid));
      await waitFor(async () => (await onHost(h, `test -S ${sock} && echo yes || true`)) === 'yes');
    }
    const pid = await startDetached(A, `python3 ${sender} ${sock}`);
    cleanup.push(() => kill(A, pid), () => kill(B, pid));
    await waitFor(async () => Number(await last(A, received)) > 1);
    const r = await migrate(pid);
    assertMoved(r);
    assert.match(option(r, 'dump --ext-unix-sk')?.reason ?? '', /it sends datagrams to \/tmp\/kinds-dgram\.sock \(a process that stays on lab-a\): on lab-b its socket is connected to the receiver at the same path there/, JSON.stringify(r.json.options));
    assert.ok(option(r, 'restore --ext-unix-sk'));
    // Its count goes on, now into lab-b's receiver.
    const onA = Number(await last(A, received));
    await waitFor(async () => Number(await last(B, received)) > onA + 1);
    assert.equal(await stateOf(A, receivers[A]), 'running', 'the receiver on lab-a stays');
  });
});
