// Preflight rules over real inspections and `caps` of this host (test/unit/fixtures).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCapabilities } from '../../src/helper/capabilities';
import { CriuEngine } from '../../src/checkpoint/criu';
import { PF_KTHREAD, anonInodes, type ProcessInspection } from '../../src/helper/inspection';
import { checkProcessAndHosts, fileProblems, requiredFiles, substitutesProblem, tcpConnections, traitsOf, treeRssKiB, type PreflightInput } from '../../src/migration/preflight';
import { PIDS, caps, fixture, inspection, type InspectFixture } from './fixtures';

const engine = new CriuEngine();

function input(name: InspectFixture, overrides: Partial<PreflightInput> = {}): PreflightInput {
  return {
    from: 'src',
    to: 'dst',
    pid: PIDS[name],
    source: caps('src'),
    destination: caps('dst'),
    engine,
    inspection: inspection(name),
    ...overrides,
  };
}

function problemsOf(i: PreflightInput): string[] {
  return checkProcessAndHosts(i).problems;
}

describe('CPU features', () => {
  const real = caps('src').cpu!;
  const lacking = { ...real, flags: real.flags.filter((f) => !['avx2', 'bmi2', 'fma', 'hypervisor', 'ssbd'].includes(f)) };

  it('refuses a destination without instruction sets the source has, naming them', () => {
    assert.deepEqual(problemsOf(input('sleep', { destination: caps('dst', { cpu: lacking }) })), [
      "dst's CPU lacks fma, avx2 and bmi2, which src's has and the process may use (libraries choose instructions when it starts), so it could die of SIGILL there after the move; move it to a host whose CPU has the same features, or start it anew on dst.",
    ]);
    assert.deepEqual(problemsOf(input('sleep', { source: caps('src', { cpu: lacking }) })), [], 'a richer destination is fine');
  });

  it('refuses a larger xsave area, and says nothing when the CPU is unknown', () => {
    assert.deepEqual(problemsOf(input('sleep', { destination: caps('dst', { cpu: { ...real, xsaveSize: 2696 } }) })), [
      "dst's CPU saves 2696 bytes of register state (xsave) where src's saves 2440, so buffers the process sized on src could overflow there after the move; move it to a host whose CPU has the same features, or start it anew on dst.",
    ]);
    assert.deepEqual(problemsOf(input('sleep', { destination: caps('dst', { cpu: undefined }) })), []);
  });

  it('leaves CPUs of different architectures to the architecture sentence', () => {
    const arm = caps('dst', { arch: 'aarch64', cpu: { flags: ['fp', 'asimd'] } });
    assert.deepEqual(problemsOf(input('sleep', { destination: arm })), ['src is x86_64 and dst is aarch64: a process can only move between machines of the same architecture.']);
  });
});

describe('checkProcessAndHosts', () => {
  it('passes a plain process between two good hosts', () => {
    const r = checkProcessAndHosts(input('sleep'));
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.traits, {});
  });

  it('missing process', () => {
    assert.deepEqual(problemsOf(input('missing')), ['Process 999999 does not exist on src; list processes with `procmig ps --host src`.']);
    // Exists, but the tree vanished between the checks.
    const gone: ProcessInspection = { ...inspection('sleep'), tasks: [] };
    assert.deepEqual(problemsOf(input('sleep', { inspection: gone })), ['Process 27764 does not exist on src; list processes with `procmig ps --host src`.']);
  });

  it('PID 1', () => {
    assert.deepEqual(problemsOf(input('pid1')), ['Process 1 is the init process of src; it cannot be migrated.']);
  });

  it('kernel thread (child of kthreadd)', () => {
    assert.deepEqual(problemsOf(input('kernelThread')), [
      'Process 14 on src is a kernel thread (ksoftirqd/0); only user processes can be migrated.',
    ]);
  });

  it('kernel thread by PF_KTHREAD alone', () => {
    const k = inspection('kernelThread');
    k.tasks[0].ppid = 1234; // not kthreadd's child: the flag decides
    assert.notEqual(k.tasks[0].flags & PF_KTHREAD, 0);
    assert.deepEqual(problemsOf(input('kernelThread', { inspection: k })), [
      'Process 14 on src is a kernel thread (ksoftirqd/0); only user processes can be migrated.',
    ]);
    const user = inspection('sleep');
    user.tasks[0].flags |= PF_KTHREAD;
    assert.match(problemsOf(input('sleep', { inspection: user }))[0], /is a kernel thread \(sleep\)/);
  });

  it('traced process: names the tracer', () => {
    assert.deepEqual(problemsOf(input('traced')), [
      'Process 28726 (sleep) on src is traced by strace (PID 28778), and CRIU cannot checkpoint a traced process; detach strace or stop it, and retry.',
    ]);
    const unnamed = inspection('traced');
    unnamed.tracers = {};
    assert.deepEqual(problemsOf(input('traced', { inspection: unnamed })), [
      'Process 28726 (sleep) on src is traced by PID 28778 (a debugger or strace), and CRIU cannot checkpoint a traced process; detach it and retry.',
    ]);
    // `strace prog`: stopping the tracer would end the tree's own root.
    const inTree = inspection('traced');
    inTree.tasks.push({ ...inTree.tasks[0], pid: 28778, tracerPid: 0, comm: 'strace' });
    assert.deepEqual(problemsOf(input('traced', { inspection: inTree })), [
      'Process 28726 (sleep) on src is traced by strace (PID 28778, in the same tree), and CRIU cannot checkpoint a traced process; run the program without strace to migrate it.',
    ]);
  });

  it('Node.js with io_uring: restart it migration-ready, with its own command; never an end-of-life Node', () => {
    const node = inspection('nodeIoUring');
    node.tasks[0].argv = ['node', 'my server.js', '--port', '3000'];
    const [problem, ...more] = problemsOf(input('nodeIoUring', { inspection: node }));
    assert.deepEqual(more, []);
    assert.equal(
      problem,
      'Process 28914 (MainThread) on src is Node.js, which holds 3 io_uring instances that CRIU cannot checkpoint yet; ' +
        'restart it migration-ready, where io_uring is unavailable and Node.js uses epoll instead: in a Process Migrator terminal in VS Code, ' +
        "or with `procmig run --host src --cwd /work/main -- node 'my server.js' --port 3000` " +
        '(or, for every program on src, after `sysctl kernel.io_uring_disabled=2`, Linux 6.6+).',
    );
    assert.doesNotMatch(problem, /Node\.js 20/);
    // Without a command line (an older helper): a placeholder instead.
    assert.match(problemsOf(input('nodeIoUring'))[0], /`procmig run --host src --cwd \/work\/main -- <its command>`/);
    // Its eventfd and eventpoll descriptors are fine: only io_uring is named.
    assert.deepEqual([...anonInodes(inspection('nodeIoUring')).keys()].sort(), ['eventfd', 'eventpoll', 'io_uring']);
  });

  it('other programs with io_uring, and other anonymous inodes CRIU cannot dump', () => {
    const uring = inspection('sleep');
    uring.fds.push({ pid: PIDS.sleep, fd: 7, flags: 0o2000002, target: 'anon_inode:[io_uring]' });
    uring.tasks[0].argv = ['sleep', '3607'];
    assert.deepEqual(problemsOf(input('sleep', { inspection: uring })), [
      'Process 27764 (sleep) on src uses io_uring (descriptor 7), which CRIU cannot checkpoint yet; ' +
        'restart it migration-ready, where io_uring is unavailable and programs that can do without it fall back: in a Process Migrator terminal in VS Code, ' +
        `or with \`procmig run --host src --cwd ${uring.tasks[0].cwd} -- sleep 3607\` (or, for every program on src, after \`sysctl kernel.io_uring_disabled=2\`, Linux 6.6+).`,
    ]);
    const perf = inspection('sleep');
    perf.fds.push({ pid: PIDS.sleep, fd: 9, flags: 0o2000002, target: 'anon_inode:[perf_event]' });
    perf.fds.push({ pid: PIDS.sleep, fd: 10, flags: 0o2000002, target: 'anon_inode:[timerfd]' });
    perf.fds.push({ pid: PIDS.sleep, fd: 11, flags: 0o2000002, target: 'anon_inode:inotify' });
    perf.fds.push({ pid: PIDS.sleep, fd: 12, flags: 0o2000002, target: 'anon_inode:bpf-prog' });
    perf.fds.push({ pid: PIDS.sleep, fd: 13, flags: 0o2000002, target: 'anon_inode:bpf-prog' });
    assert.deepEqual(problemsOf(input('sleep', { inspection: perf })), [
      'Process 27764 (sleep) on src holds perf_event (descriptor 9), a kind of descriptor CRIU cannot checkpoint; it can only be migrated once it has closed it.',
      'Process 27764 (sleep) on src holds 2 bpf-prog instances, a kind of descriptor CRIU cannot checkpoint; it can only be migrated once it has closed them.',
    ]);
  });

  it('foreign uid when the helper is not root', () => {
    assert.deepEqual(problemsOf(input('foreignUid')), [
      'Process 27764 on src belongs to uid 0, not to you (uid 65534); migrate it as its owner or as root.',
    ]);
    // As root, any uid is fine.
    const asRoot = inspection('sleep');
    asRoot.tasks[0].uid = 1000;
    assert.deepEqual(problemsOf(input('sleep', { inspection: asRoot })), []);
  });

  it("a destination reached as another user, whose CRIU runs unprivileged, cannot restore root's process", () => {
    const destination = { ...caps('dst'), privilege: 'unprivileged' as const, user: 'dev', uid: 1001 };
    assert.deepEqual(problemsOf(input('sleep', { destination })), [
      "Process 27764 on src belongs to uid 0, but dst is reached as dev (uid 1001), who cannot restore another user's process; pick a destination reached as its owner or as root.",
    ]);
    const own = inspection('sleep');
    own.tasks[0].uid = 1001;
    assert.deepEqual(problemsOf(input('sleep', { destination, inspection: own })), []);
  });

  it('foreign namespaces', () => {
    assert.deepEqual(problemsOf(input('ownNetns')), [
      "Process 2154 on src runs in namespaces of its own (a container?); Process Migrator moves processes of the host's own namespaces only.",
    ]);
    // ipc/uts/user namespaces of its own do not matter.
    const uts = inspection('sleep');
    uts.tasks[0].ns.uts = 'uts:[1]';
    assert.deepEqual(problemsOf(input('sleep', { inspection: uts })), []);
  });

  it('CRIU missing on a host', () => {
    const noCriu = parseCapabilities('dst', fixture('caps-no-criu.txt'));
    assert.deepEqual(problemsOf(input('sleep', { destination: noCriu })), [
      'CRIU is not installed on dst: run `procmig setup dst` (Set Up Host… in VS Code), which installs CRIU 4.2+ there.',
    ]);
  });

  it('CRIU too old on a host', () => {
    assert.deepEqual(problemsOf(input('sleep', { source: caps('src', { criuVersion: '3.17.1' }) })), [
      'src has CRIU 3.17.1, older than 4.2: run `procmig setup src` (Set Up Host… in VS Code), which installs 4.2.1 there.',
    ]);
  });

  it('a normal user with neither sudo nor a criu for unprivileged mode: what to configure', () => {
    const none = parseCapabilities('dst', fixture('caps-no-privilege.txt'));
    assert.deepEqual(problemsOf(input('sleep', { destination: none })), [
      'CRIU cannot run on dst as pmdev: run `procmig setup dst` once (with sudo, it gives a copy of CRIU the capabilities of its unprivileged mode, so it checkpoints your own processes without root), or connect as root, or allow passwordless sudo for criu there.',
    ]);
  });

  it('CRIU in unprivileged mode: no problem; the report says where, and why', () => {
    const unprivileged = (host: string) => parseCapabilities(host, fixture('caps-unprivileged-mode.txt'));
    const r = checkProcessAndHosts(input('sleep', { source: unprivileged('src'), destination: unprivileged('dst') }));
    assert.deepEqual(r.problems, []);
    assert.match(r.traits.unprivilegedDump ?? '', /^CRIU dumps on src as pmdev, without root: in its unprivileged mode/);
    assert.match(r.traits.unprivilegedRestore ?? '', /^CRIU restores on dst as pmdev, without root/);
  });

  it('CRIU in unprivileged mode cannot keep TCP connections: they are closed, and the report says why', () => {
    const unprivileged = parseCapabilities('src', fixture('caps-unprivileged-mode.txt'));
    const r = checkProcessAndHosts(input('python', { source: unprivileged }));
    assert.equal(r.traits.keepTcp, undefined);
    assert.match(r.traits.closeTcp ?? '', /link processes that move together over the loopback, but CRIU in its unprivileged mode cannot keep connections \(that takes TCP repair mode, CAP_NET_ADMIN\): they are closed/);
  });

  it('CRIU in unprivileged mode cannot dump a seccomp filter (migration-ready): refused, and no procmig run advice for io_uring', () => {
    const unprivileged = parseCapabilities('src', fixture('caps-unprivileged-mode.txt'));
    const filtered = inspection('sleep');
    filtered.tasks[0].seccomp = 2;
    assert.deepEqual(problemsOf(input('sleep', { inspection: filtered, source: unprivileged })), [
      'Process 27764 (sleep) on src runs under a seccomp filter (started migration-ready, or sandboxed), which CRIU in its unprivileged mode cannot checkpoint (that takes CAP_SYS_ADMIN); migrate it as root.',
    ]);
    assert.deepEqual(problemsOf(input('sleep', { inspection: filtered })), [], 'as root it moves, filter and all');
    const [node] = problemsOf(input('nodeIoUring', { source: unprivileged }));
    assert.match(node, /; as CRIU runs on src \(unprivileged\) it cannot move it under the migration-ready filter either: migrate it as root, or restart it after `sysctl kernel\.io_uring_disabled=2` on src \(as root; Linux 6\.6\+\)\.$/);
    assert.doesNotMatch(node, /procmig run/);
  });

  it('through sudo where root lacks CAP_SYS_RESOURCE: one sentence, and the way that works', () => {
    const sudo = caps('src', { privilege: 'sudo', sudoRlimits: false });
    assert.deepEqual(problemsOf(input('sleep', { source: sudo })), [
      'Root on src lacks CAP_SYS_RESOURCE, so CRIU run through sudo cannot read the limits of your processes there ("Can\'t get rlimit"); run `procmig setup src` to let CRIU run as you in its unprivileged mode instead.',
    ]);
    assert.deepEqual(problemsOf(input('sleep', { source: caps('src', { privilege: 'sudo', sudoRlimits: true }) })), []);
  });

  it('failing `criu check` on a host', () => {
    const broken = caps('dst', { criuCheck: 'Error (criu/cr-check.c:1): Kernel lacks something' });
    assert.deepEqual(problemsOf(input('sleep', { destination: broken })), [
      '`criu check` fails on dst (Error (criu/cr-check.c:1): Kernel lacks something); CRIU cannot work there until that is fixed.',
    ]);
  });

  it('both hosts report their problems', () => {
    const noCriu = parseCapabilities('x', fixture('caps-no-criu.txt'));
    assert.equal(problemsOf(input('sleep', { source: { ...noCriu, host: 'src' }, destination: { ...noCriu, host: 'dst' } })).length, 2);
  });

  it('architecture mismatch', () => {
    assert.deepEqual(problemsOf(input('sleep', { destination: caps('dst', { arch: 'aarch64' }) })), [
      'src is x86_64 and dst is aarch64: a process can only move between machines of the same architecture.',
    ]);
  });

  it('too little disk on the destination', () => {
    assert.equal(treeRssKiB(inspection('python')), 10420);
    assert.deepEqual(problemsOf(input('python', { destination: caps('dst', { diskAvailableKiB: 50 * 1024 }) })), [
      'dst has 50.0 MiB free in /var/tmp/process-migrator but the checkpoint needs about 10.2 MiB; free some space there.',
    ]);
    // rss × 1.1 + 64 MiB is enough.
    assert.deepEqual(problemsOf(input('python', { destination: caps('dst', { diskAvailableKiB: Math.ceil(10420 * 1.1) + 65536 }) })), []);
  });

  it('too little memory on the destination', () => {
    assert.deepEqual(problemsOf(input('python', { destination: caps('dst', { memAvailableKiB: 20 * 1024 }) })), [
      'dst has 20.0 MiB of memory available but the process uses 10.2 MiB; free memory there or pick another host.',
    ]);
    const big = inspection('python');
    big.tasks[0].rssKiB = 3 * 1024 * 1024;
    assert.deepEqual(problemsOf(input('python', { inspection: big, destination: caps('dst', { memAvailableKiB: 2 * 1024 * 1024 }) })), [
      'dst has 2.0 GiB of memory available but the process uses 3.0 GiB; free memory there or pick another host.',
    ]);
  });

  it('sums the whole tree', () => {
    assert.equal(treeRssKiB(inspection('ttyJob')), 1708 + 1888 + 1808);
  });

  it('returns the traits along with no problems', () => {
    const r = checkProcessAndHosts(input('python'));
    assert.deepEqual(r.problems, []);
    assert.deepEqual(Object.keys(r.traits).sort(), ['fileLocks', 'keepTcp', 'unlinkedFiles']);
  });
});

describe('traitsOf', () => {
  it('a detached sleep needs nothing', () => {
    assert.deepEqual(traitsOf(inspection('sleep'), 'src'), {});
  });

  it('the python process: TCP within the tree, flock, deleted file', () => {
    assert.deepEqual(traitsOf(inspection('python'), 'src'), {
      keepTcp:
        "2 established TCP connections (56154→127.0.0.1:36237, 36237→127.0.0.1:56154) link processes that move together over the loopback: CRIU restores both ends on the destination's 127.0.0.1, so they stay connected",
      fileLocks: 'it holds 1 FLOCK file lock',
      // The memfd behind its mmap is no deleted file: CRIU carries memfds itself.
      unlinkedFiles: 'it has 1 deleted file open (/tmp/pmfx/b-scratch)',
    });
  });

  it('ignores listening sockets and sockets of other processes', () => {
    const r = inspection('python');
    r.fds = r.fds.filter((f) => f.target !== 'socket:[121047]' && f.target !== 'socket:[121048]');
    assert.equal(traitsOf(r, 'src').closeTcp, undefined);
    assert.equal(traitsOf(r, 'src').keepTcp, undefined);
  });

  it('a connection whose other end stays behind is closed, and then so is every other', () => {
    const r = inspection('python');
    r.fds = r.fds.filter((f) => f.target !== 'socket:[121048]');
    assert.equal(
      traitsOf(r, 'src').closeTcp,
      '1 established TCP connection (56154→127.0.0.1:36237) cannot follow it to another host: they are closed and the process sees a reset',
    );
    assert.equal(traitsOf(r, 'src').keepTcp, undefined);
  });

  it("a connection to another tree of the batch (companions) is kept, as both ends move", () => {
    const r = inspection('python');
    r.fds = r.fds.filter((f) => f.target !== 'socket:[121048]');
    assert.match(traitsOf(r, 'src', new Set([121048])).keepTcp ?? '', /^1 established TCP connection \(56154→127\.0\.0\.1:36237\) links processes/);
    const { inside, outside } = tcpConnections(r, new Set([121048]));
    assert.deepEqual([inside.length, outside.length], [1, 0]);
  });

  it('a job on a terminal is a shell job that needs a terminal on the destination', () => {
    assert.deepEqual(traitsOf(inspection('ttyJob'), 'src'), {
      shellJob: 'it runs on the terminal /dev/pts/0, whose session belongs to a shell that stays on src',
      terminal: 'it runs on the terminal /dev/pts/0 of src, which cannot move',
    });
  });

  it('a process whose session leader is outside the tree is a shell job', () => {
    const r = inspection('sleep');
    r.tasks[0].sid = 100;
    assert.deepEqual(traitsOf(r, 'src'), { shellJob: 'its session or process group leader (100) is a process outside the migrated tree' });
  });

  it('counts and names several locks', () => {
    const r = inspection('python');
    r.locks.push({ pid: PIDS.python, kind: 'POSIX' });
    assert.equal(traitsOf(r, 'src').fileLocks, 'it holds 2 FLOCK/POSIX file locks');
  });
});

describe('requiredFiles', () => {
  const files = new Map(requiredFiles(inspection('python')).map((f) => [f.path, f.compareSize]));

  it('needs the executable, libraries and open files, with sizes', () => {
    assert.equal(files.get('/usr/bin/python3.11'), true);
    assert.equal(files.get('/usr/lib/x86_64-linux-gnu/libc.so.6'), true);
    assert.equal(files.get('/tmp/pmfx/b.lock'), true);
  });

  it('needs the working directory without its size', () => {
    assert.equal(files.get('/tmp/pmfx'), false);
  });

  it('does not compare sizes of O_APPEND files', () => {
    assert.equal(files.get('/tmp/pmfx/b.log'), false);
  });

  it('does not compare sizes of directories held open', () => {
    const r = inspection('python');
    r.tasks[0].cwd = '/';
    const sizes = new Map(requiredFiles(r).map((f) => [f.path, f.compareSize]));
    assert.equal(sizes.get('/tmp/pmfx'), false); // fd 9, O_DIRECTORY
  });

  it('skips /proc, /dev, /sys, deleted files, sockets and memfds', () => {
    for (const path of files.keys()) {
      assert.ok(path.startsWith('/'), path);
      assert.doesNotMatch(path, /^\/(proc|dev|sys)\/| \(deleted\)$|^\/memfd:/, path);
    }
    assert.equal(files.has('/tmp/pmfx/b-scratch'), false);
    const r = inspection('python');
    r.fds.push({ pid: PIDS.python, fd: 20, flags: 0, target: '/proc/1/status' }, { pid: PIDS.python, fd: 21, flags: 0, target: '/sys/kernel/mm/transparent_hugepage/enabled' });
    r.maps.push({ pid: PIDS.python, path: '/SYSV00000000' }, { pid: PIDS.python, path: '/anon_hugepage' });
    const paths = requiredFiles(r).map((f) => f.path);
    assert.ok(!paths.some((p) => /^\/(proc|sys)\/|^\/SYSV|^\/anon_hugepage/.test(p)), paths.join(' '));
  });

  it('lists each path once, comparing its size if any use needs it', () => {
    const r = inspection('python');
    r.fds.push({ pid: PIDS.python, fd: 22, flags: 0o2001, target: '/usr/bin/python3.11' });
    const again = requiredFiles(r).filter((f) => f.path === '/usr/bin/python3.11');
    assert.deepEqual(again, [{ path: '/usr/bin/python3.11', compareSize: true }]);
  });

  it('a terminal job needs its executables and cwd only', () => {
    assert.deepEqual(
      requiredFiles(inspection('ttyJob')).filter((f) => !f.path.startsWith('/usr/lib/')),
      [
        { path: '/usr/bin/dash', compareSize: true },
        { path: '/tmp/pmfx', compareSize: false },
        { path: '/usr/bin/sleep', compareSize: true },
      ],
    );
  });
});

describe('fileProblems', () => {
  it('no problem when everything matches', () => {
    assert.deepEqual(fileProblems('', 'dst'), []);
  });

  it('one missing file', () => {
    assert.deepEqual(fileProblems('/opt/app/bin/server\tmissing\n', 'dst'), [
      'A file the process uses is missing on dst (/opt/app/bin/server); install the same software or copy it there under the same path.',
    ]);
  });

  it("a JVM's performance-data file (on a /tmp on disk) is not 'missing': restart it without, in one sentence", () => {
    assert.deepEqual(fileProblems('/tmp/hsperfdata_root/4242\tmissing\n', 'dst'), [
      'The process is a Java VM that keeps its performance counters in /tmp/hsperfdata_root/4242, a file of its own that dst lacks and that is carried only from a tmpfs; restart it with `-XX:+PerfDisableSharedMem` (the counters then live in its own memory) to migrate it.',
    ]);
  });

  it('many missing files', () => {
    const out = ['/a', '/b', '/c', '/d', '/e'].map((p) => `${p}\tmissing`).join('\n') + '\n';
    assert.deepEqual(fileProblems(out, 'dst'), [
      '5 files the process uses are missing on dst (/a, /b, /c, and 2 more); install the same software or copy them there under the same paths.',
    ]);
  });

  it('one file of another size', () => {
    assert.deepEqual(fileProblems('/usr/lib/x86_64-linux-gnu/libc.so.6\tsize:1922136\n', 'dst'), [
      'A file the process uses differs in size on dst (/usr/lib/x86_64-linux-gnu/libc.so.6); install the same versions there.',
    ]);
  });

  it('many files of another size, and missing ones', () => {
    assert.deepEqual(fileProblems('/x\tsize:1\n/y\tsize:2\n/z\tmissing\n', 'dst'), [
      'A file the process uses is missing on dst (/z); install the same software or copy it there under the same path.',
      '2 files the process uses differ in size on dst (/x, /y); install the same versions there.',
    ]);
  });
});

describe('substitutesProblem', () => {
  it('allows what the destination helper can open, and says why not beyond', () => {
    assert.equal(substitutesProblem(6, caps('dst', { inheritFdsMax: 6 }), 'src'), undefined);
    assert.equal(
      substitutesProblem(9, caps('dst', { inheritFdsMax: 6 }), 'src'),
      'The process has 9 descriptors (files only on src, pipes to processes that stay there) that must be given new files on dst, more than the 6 that dst can open without bash or perl (install either there); close some or create the files on dst.',
    );
    assert.equal(substitutesProblem(40, caps('dst', { inheritFdsMax: 960 }), 'src'), undefined);
    assert.match(substitutesProblem(961, caps('dst', { inheritFdsMax: 960 }), 'src') ?? '', /more than the 960 that dst can open at once;/);
  });
});
