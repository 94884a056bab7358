// Files only the source has, pipes to processes that stay behind, ports: pure rules of the preflight.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FdInfo, ProcessInspection } from '../../src/helper/inspection';
import {
  checkProcessAndHosts,
  establishedConnections,
  externalPipes,
  outputOnlyFiles,
  substituteMissingOutputs,
} from '../../src/migration/preflight';
import { listeningPorts, listeningSockets } from '../../src/migration/preflightPorts';
import { CriuEngine } from '../../src/checkpoint/criu';
import { caps, inspection } from './fixtures';

function withFds(fds: Omit<FdInfo, 'pid'>[], pid = 4242): ProcessInspection {
  return {
    pid,
    exists: true,
    selfUid: 0,
    hostNs: {},
    tasks: [{ pid, state: 'S', ppid: 1, pgid: pid, sid: pid, ttyNr: 0, flags: 0, uid: 0, tracerPid: 0, rssKiB: 1000, comm: 'py', exe: '/usr/bin/python3', cwd: '/root', ns: {} }],
    fds: fds.map((f) => ({ ...f, pid })),
    maps: [{ pid, path: '/usr/lib/libc.so.6' }],
    shm: [],
    inet: [],
    unix: [],
    locks: [],
    tracers: {},
    mounts: [],
    ptyMasters: [],
    pidfds: [],
    deleted: [],
    nodes: [],
    unixPeers: new Map(),
  };
}

describe('outputOnlyFiles', () => {
  it('keeps files only written to (write-only, or read-write for appending)', () => {
    const i = withFds([
      { fd: 1, flags: 0o1, target: '/tmp/out.log' },
      { fd: 3, flags: 0o2102001, target: '/tmp/e2e-log' },
      { fd: 4, flags: 0o2002, target: '/var/log/app.log' },
      { fd: 5, flags: 0o2, target: '/srv/db.sqlite' },
      { fd: 6, flags: 0o0, target: '/etc/hosts' },
      { fd: 7, flags: 0o1, target: '/dev/null' },
      { fd: 8, flags: 0o1, target: '/tmp/both' },
      { fd: 9, flags: 0o0, target: '/tmp/both' },
    ]);
    assert.deepEqual([...outputOnlyFiles(i).keys()].sort(), ['/tmp/e2e-log', '/tmp/out.log', '/var/log/app.log']);
    assert.deepEqual(outputOnlyFiles(i).get('/tmp/e2e-log'), [{ pid: 4242, fd: 3 }]);
  });

  it('a file the process also maps or runs is no output', () => {
    const i = withFds([{ fd: 3, flags: 0o1, target: '/usr/lib/libc.so.6' }]);
    assert.equal(outputOnlyFiles(i).size, 0);
  });
});

describe('substituteMissingOutputs', () => {
  const outputs = new Map([
    ['/tmp/e2e-log', [{ pid: 7, fd: 3 }]],
    ['/home/me/gone/run.log', [{ pid: 7, fd: 1 }]],
  ]);
  const places = 'files_dir=/root/.cache/process-migrator/files\n/tmp/e2e-log\tsame\n/home/me/gone/run.log\tcache\n';

  it('a missing output goes to a new file at the same path, or under the cache when its directory is missing', () => {
    const check = '/tmp/e2e-log\tmissing\n/home/me/gone/run.log\tmissing\n/etc/app.conf\tmissing\n';
    const { remaining, substitutes } = substituteMissingOutputs(check, outputs, places, 'b');
    assert.equal(remaining, '/etc/app.conf\tmissing\n');
    assert.deepEqual(substitutes.map((s) => [s.resource, s.path, s.mode]), [
      ['tmp/e2e-log', '/tmp/e2e-log', 'append'],
      ['home/me/gone/run.log', '/root/.cache/process-migrator/files/home/me/gone/run.log', 'append'],
    ]);
    assert.equal(
      substitutes[0].reason,
      '/tmp/e2e-log, which process 7 writes to (descriptor 3), exists only on the source: its output now goes to a new file at the same path on b',
    );
    assert.match(substitutes[1].reason, /\/root\/\.cache\/process-migrator\/files\/home\/me\/gone\/run\.log on b \(\/home\/me\/gone does not exist there\)/);
  });

  it('one substitute serves every descriptor of a file (CRIU matches them by path), and its reason lists them', () => {
    const shared = new Map([['/tmp/e2e-log', [{ pid: 7, fd: 3 }, { pid: 7, fd: 5 }, { pid: 9, fd: 3 }]]]);
    const { substitutes } = substituteMissingOutputs('/tmp/e2e-log\tmissing\n', shared, places, 'b');
    assert.equal(substitutes.length, 1);
    assert.match(substitutes[0].reason, /^\/tmp\/e2e-log, which processes 7, 9 write to \(descriptors 3, 5, 3\), exists only on the source/);
  });

  it('an output present on the destination, or one of another size, stays a matter for fileProblems', () => {
    const check = '/tmp/e2e-log\tsize:3\n';
    const { remaining, substitutes } = substituteMissingOutputs(check, outputs, places, 'b');
    assert.equal(remaining, check.replace(/\n$/, '\n'));
    assert.deepEqual(substitutes, []);
  });
});

describe('externalPipes', () => {
  it('a write end whose reader is outside the tree writes into a file; a read end reads end-of-file', () => {
    const i = withFds([
      { fd: 0, flags: 0o0, target: 'pipe:[100]' },
      { fd: 1, flags: 0o1, target: 'pipe:[200]' },
      { fd: 2, flags: 0o1, target: 'pipe:[200]' },
      { fd: 5, flags: 0o0, target: 'pipe:[300]' },
      { fd: 6, flags: 0o1, target: 'pipe:[300]' },
    ]);
    const subs = externalPipes(i, 'b', '/root/.cache/process-migrator/files');
    assert.deepEqual(subs.map((s) => [s.resource, s.path, s.mode]), [
      ['pipe:[100]', '/dev/null', 'read'],
      ['pipe:[200]', '/root/.cache/process-migrator/files/pipe-4242-200.out', 'append'],
    ]);
    assert.match(subs[1].reason, /descriptor 1 of process 4242 writes into a pipe read by a process that stays behind: on b that output goes to/);
  });
});

describe('terminal processes', () => {
  it('need tmux on the destination', () => {
    const engine = new CriuEngine();
    const base = { from: 'a', to: 'b', pid: 0, source: caps('a'), engine, inspection: inspection('ttyJob') };
    const without = checkProcessAndHosts({ ...base, pid: base.inspection.pid, destination: { ...caps('b'), tmux: undefined } });
    assert.ok(without.problems.some((p) => /^b has no tmux, .*install tmux on b/.test(p)), without.problems.join(' | '));
    const withTmux = checkProcessAndHosts({ ...base, pid: base.inspection.pid, destination: { ...caps('b'), tmux: '3.3a' } });
    assert.ok(!withTmux.problems.some((p) => /tmux/.test(p)));
    assert.ok(withTmux.traits.terminal);
  });
});

describe('ports', () => {
  it('lists the listening ports and the established connections of the tree only', () => {
    const i = withFds([
      { fd: 3, flags: 0o2, target: 'socket:[11]' },
      { fd: 4, flags: 0o2, target: 'socket:[12]' },
      { fd: 5, flags: 0o2, target: 'socket:[13]' },
    ]);
    const sock = (inode: number, state: number, localPort: number, remotePort = 0) => ({
      proto: 'tcp' as const, localAddress: '127.0.0.1', localPort, remoteAddress: remotePort ? '10.0.0.9' : '0.0.0.0', remotePort, state, inode,
    });
    i.inet = [sock(11, 10, 8080), sock(12, 10, 9229), sock(13, 1, 8080, 51000), sock(99, 10, 22), sock(14, 1, 5000, 443)];
    assert.deepEqual(listeningPorts(listeningSockets(i)), [8080, 9229]);
    assert.deepEqual(establishedConnections(i), ['127.0.0.1:8080→10.0.0.9:51000']);
  });
});
