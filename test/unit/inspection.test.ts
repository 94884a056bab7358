// parseInspection and socketInodes over real `procmig-helper.sh inspect PID` output.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PF_KTHREAD, TCP_ESTABLISHED, TCP_LISTEN, parseInspection, socketInodes } from '../../src/helper/inspection';
import { PIDS, fixture, inspection } from './fixtures';

describe('parseInspection', () => {
  it('reads a missing process as exists=false with nothing else', () => {
    const r = inspection('missing');
    assert.equal(r.exists, false);
    assert.equal(r.pid, PIDS.missing);
    assert.equal(r.selfUid, -1);
    assert.deepEqual(r.tasks, []);
    assert.deepEqual(r.fds, []);
  });

  it('reads the helper identity and host namespaces', () => {
    const r = inspection('sleep');
    assert.equal(r.exists, true);
    assert.equal(r.selfUid, 0);
    assert.deepEqual(Object.keys(r.hostNs).sort(), ['ipc', 'mnt', 'net', 'pid', 'user', 'uts']);
    assert.equal(r.hostNs.pid, 'pid:[4026531836]');
    assert.equal(r.hostNs.net, 'net:[4026531833]');
  });

  it('reads a plain detached sleep: one task, /dev/null stdio, its own session', () => {
    const r = inspection('sleep');
    assert.equal(r.tasks.length, 1);
    const [t] = r.tasks;
    assert.deepEqual(
      { pid: t.pid, state: t.state, ppid: t.ppid, pgid: t.pgid, sid: t.sid, ttyNr: t.ttyNr, uid: t.uid, tracerPid: t.tracerPid, rssKiB: t.rssKiB },
      { pid: 27764, state: 'S', ppid: 1, pgid: 27764, sid: 27764, ttyNr: 0, uid: 0, tracerPid: 0, rssKiB: 1800 },
    );
    assert.equal(t.comm, 'sleep');
    assert.equal(t.exe, '/usr/bin/sleep');
    assert.equal(t.cwd, '/tmp/pmfx');
    assert.equal(t.flags & PF_KTHREAD, 0);
    assert.equal(t.ns.net, r.hostNs.net);
    assert.deepEqual(r.fds.map((f) => [f.fd, f.target]), [[0, '/dev/null'], [1, '/dev/null'], [2, '/dev/null']]);
    assert.ok(r.maps.some((m) => m.path === '/usr/bin/sleep'));
    assert.ok(r.maps.some((m) => m.path.endsWith('/libc.so.6')));
    assert.deepEqual(r.shm, []);
    // /proc/locks lists every lock of the host; only the tree's are kept.
    assert.ok(fixture('inspect-sleep.txt').split('\n').filter((l) => l.startsWith('lock\t')).length > 0);
    assert.deepEqual(r.locks, []);
  });

  it('reads command lines (arguments ended by tabs) and the seccomp mode; fixtures from before them have none', () => {
    const text = `${fixture('inspect-sleep.txt')}\ncmdline\t27764\tsleep\t3607\t\ncmdline\t27764\tsh\t-c\techo a  b\t\t\n`;
    // The second line is another task's in real output; here it shows an empty argument kept.
    assert.deepEqual(parseInspection(27764, text).tasks[0].argv, ['sh', '-c', 'echo a  b', '']);
    // The seccomp mode closes the task line; captured before it was there: 0.
    const filtered = text.replace(/^(task\t27764\t.*)$/m, '$1\t2');
    assert.equal(parseInspection(27764, filtered).tasks[0].seccomp, 2);
    assert.equal(inspection('sleep').tasks[0].seccomp, 0);
    assert.equal(inspection('sleep').tasks[0].argv?.length ?? 0, 0);
  });

  it('leaves out a task that ended while the helper read it (stat read, status gone): no NaN tracer', () => {
    const text = `${fixture('inspect-sleep.txt')}\ntask\t27800\tS\t27764\t27764\t27764\t0\t4194304\t\ncomm\t27800\t\n`;
    const r = parseInspection(PIDS.sleep, text);
    assert.deepEqual(r.tasks.map((t) => t.pid), [27764]);
    assert.ok(r.tasks.every((t) => t.tracerPid === 0));
  });

  it('reads fd flags as octal', () => {
    const r = inspection('python');
    const byFd = new Map(r.fds.map((f) => [f.fd, f]));
    assert.equal(byFd.get(0)?.flags, 0o100000); // O_RDONLY|O_LARGEFILE
    assert.equal(byFd.get(8)?.target, '/tmp/pmfx/b.log');
    assert.equal(byFd.get(8)!.flags & 0o2000, 0o2000); // O_APPEND
    assert.equal(byFd.get(8)!.flags & 0o3, 0o1); // O_WRONLY
    assert.equal(byFd.get(9)?.target, '/tmp/pmfx'); // a directory
    assert.equal(byFd.get(7)?.target, '/tmp/pmfx/b-scratch (deleted)');
  });

  it('reads the python process: flock, listening and established TCP sockets', () => {
    const r = inspection('python');
    assert.deepEqual(r.locks, [{ pid: PIDS.python, kind: 'FLOCK' }]);

    const sockets = socketInodes(r);
    assert.deepEqual([...sockets.keys()].sort(), [121047, 121048, 121987]);
    assert.equal(sockets.get(121987)?.fd, 4);

    const own = r.inet.filter((s) => sockets.has(s.inode));
    const listen = own.filter((s) => s.state === TCP_LISTEN);
    const established = own.filter((s) => s.state === TCP_ESTABLISHED);
    assert.deepEqual(listen, [
      { proto: 'tcp', localAddress: '127.0.0.1', localPort: 36237, remoteAddress: '0.0.0.0', remotePort: 0, state: TCP_LISTEN, inode: 121987 },
    ]);
    assert.deepEqual(
      established.map((s) => `${s.localAddress}:${s.localPort}>${s.remoteAddress}:${s.remotePort}#${s.inode}`),
      ['127.0.0.1:56154>127.0.0.1:36237#121047', '127.0.0.1:36237>127.0.0.1:56154#121048'],
    );
  });

  it('reads every socket table line of the namespace (headers are already cut by the helper)', () => {
    const text = fixture('inspect-python-resources.txt');
    const lines = text.split('\n').filter((l) => /^net\.(tcp|tcp6|udp|udp6)\t/.test(l));
    const r = inspection('python');
    assert.equal(r.inet.length, lines.length);
    assert.ok(r.inet.every((s) => Number.isInteger(s.inode) && s.localPort >= 0 && s.localPort < 65536));
    const unixLines = text.split('\n').filter((l) => l.startsWith('net.unix\t'));
    assert.equal(r.unix.length, unixLines.length);
    assert.ok(r.unix.every((u) => [1, 2, 5].includes(u.type)));
  });

  it('reads unix sockets with and without a path', () => {
    const r = parseInspection(
      5,
      [
        'exists=1',
        'net.unix\t00000000f361bc58: 00000002 00000000 00010000 0001 01 100540 /tmp/app.sock',
        'net.unix\t000000006556f9f0: 00000003 00000000 00000000 0002 03 100486',
        'net.unix\tNum       RefCount Protocol Flags    Type St Inode Path',
      ].join('\n'),
    );
    assert.deepEqual(r.unix, [
      { type: 1, state: 1, inode: 100540, path: '/tmp/app.sock' },
      { type: 2, state: 3, inode: 100486, path: undefined },
    ]);
  });

  it('reads IPv6 addresses word by word in host byte order', () => {
    const r = parseInspection(
      5,
      [
        'exists=1',
        'net.tcp6\t   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0',
        'net.tcp6\t   1: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 4243 1 0000000000000000 20 0 0 10 -1',
      ].join('\n'),
    );
    assert.equal(r.inet.length, 2);
    assert.deepEqual(r.inet[0].localAddress.split(':').map((w) => parseInt(w, 16)), [0, 0, 0, 0, 0, 0, 0, 1]);
    assert.equal(r.inet[0].localPort, 8080);
    assert.equal(r.inet[0].state, TCP_LISTEN);
    assert.deepEqual(r.inet[1].remoteAddress.split(':').map((w) => parseInt(w, 16)), [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    assert.equal(r.inet[1].remotePort, 50000);
    assert.equal(r.inet[1].proto, 'tcp6');
  });

  it('reads a tree on a terminal: root first, the session leader outside it', () => {
    const r = inspection('ttyJob');
    assert.deepEqual(r.tasks.map((t) => [t.pid, t.ppid, t.comm]), [[31048, 30134, 'sh'], [31049, 31048, 'sleep'], [31050, 31048, 'sleep']]);
    assert.ok(r.tasks.every((t) => t.sid === 30134 && t.pgid === 31048 && t.ttyNr === 34816));
    assert.deepEqual([...new Set(r.fds.filter((f) => f.target.startsWith('/dev/pts/')).map((f) => f.target))], ['/dev/pts/0']);
    assert.deepEqual([...new Set(r.fds.map((f) => f.pid))], [31048, 31049, 31050]);
  });

  it('reads a kernel thread: PF_KTHREAD set, no executable, no fds', () => {
    const [t] = inspection('kernelThread').tasks;
    assert.equal(t.comm, 'ksoftirqd/0');
    assert.equal(t.ppid, 2);
    assert.notEqual(t.flags & PF_KTHREAD, 0);
    assert.equal(t.exe, '');
    assert.equal(t.rssKiB, 0);
    assert.deepEqual(inspection('kernelThread').fds, []);
  });

  it('reads the tracer and a foreign network namespace', () => {
    assert.equal(inspection('traced').tasks[0].tracerPid, 28778);
    assert.deepEqual(inspection('traced').tracers, { 28778: 'strace' });
    assert.deepEqual(inspection('sleep').tracers, {});
    const own = inspection('ownNetns');
    assert.equal(own.tasks[0].ns.net, 'net:[4026532397]');
    assert.notEqual(own.tasks[0].ns.net, own.hostNs.net);
    assert.equal(own.tasks[0].ns.pid, own.hostNs.pid);
    assert.deepEqual(own.inet, []); // its own, empty, network namespace
  });

  it('reads what an unprivileged helper may see of a root process', () => {
    const r = inspection('foreignUid');
    assert.equal(r.selfUid, 65534);
    assert.equal(r.tasks[0].uid, 0);
    assert.equal(r.tasks[0].exe, '');
    assert.deepEqual(r.tasks[0].ns, { pid: '', mnt: '', net: '', ipc: '', uts: '', user: '' });
    assert.deepEqual(r.fds, []);
    assert.deepEqual(r.maps, []);
  });

  it('attributes POSIX, OFD and blocked locks by PID', () => {
    const r = parseInspection(
      10,
      [
        'exists=1',
        'task\t10\tS\t1\t10\t10\t0\t4194304\t0\t0\t100',
        'lock\t1: POSIX  ADVISORY  WRITE 10 fe:00:2146407 1073741824 1073742335',
        'lock\t1: -> POSIX  ADVISORY  WRITE 10 fe:00:2146407 1073741824 1073742335',
        'lock\t2: OFDLCK ADVISORY  READ  -1 fe:00:2146880 0 EOF',
        'lock\t3: FLOCK  ADVISORY  WRITE 11 fe:00:2146713 0 EOF',
      ].join('\n'),
    );
    assert.deepEqual(r.locks, [{ pid: 10, kind: 'POSIX' }, { pid: 10, kind: 'POSIX' }]);
  });
});
